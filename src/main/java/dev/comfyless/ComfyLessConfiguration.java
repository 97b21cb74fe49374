package dev.comfyless;

import dev.comfyless.api.ErrorResponses;
import dev.comfyless.api.Health;
import dev.comfyless.api.HttpEdge;
import dev.comfyless.api.TaskApi;
import dev.comfyless.config.Settings;
import dev.comfyless.metrics.ComfyLessMetrics;
import dev.comfyless.output.FileOutputStore;
import dev.comfyless.redis.RedisConnector;
import dev.comfyless.redis.RedisScripts;
import dev.comfyless.task.QueueMaintenance;
import dev.comfyless.task.TaskQueue;
import dev.comfyless.task.TaskRequestParser;
import dev.comfyless.task.TaskStore;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.component.micrometer.MicrometerConstants;
import org.apache.camel.component.micrometer.MicrometerUtils;
import org.apache.camel.spi.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Binds every ComfyLess bean, by the names the YAML routes use. A host camel-main application adds this class (and
 * the comfyless.* properties) to embed ComfyLess; nothing essential happens in {@link Application#main}.
 */
public class ComfyLessConfiguration implements CamelConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger(ComfyLessConfiguration.class);

    @Override
    public void configure(CamelContext context) throws Exception {
        Settings settings = Settings.load(key -> context.getPropertiesComponent().resolveProperty(key));
        Registry registry = context.getRegistry();
        // values the routes need in another unit than the operator wrote them (Quartz wants milliseconds)
        context.getPropertiesComponent().addOverrideProperty("comfyless.queue.sweep-interval-ms",
                Long.toString(settings.sweepInterval.toMillis()));

        RedisConnector redis = new RedisConnector(settings);
        // started with the context, before the routes; stopped after them
        context.addService(redis, true, true);
        RedisScripts scripts = new RedisScripts(redis, settings.redisPrefix);
        TaskStore store = new TaskStore(scripts, settings.taskRetention, settings.taskTimeout,
                settings.defaultMaxAttempts);
        TaskQueue queue = new TaskQueue(scripts, settings.taskRetention);
        ComfyLessMetrics metrics = new ComfyLessMetrics(meterRegistry(registry));

        registry.bind("comfylessSettings", settings);
        registry.bind("redisConnector", redis);
        registry.bind("taskStore", store);
        registry.bind("taskQueue", queue);
        registry.bind("comfylessMetrics", metrics);
        registry.bind("taskApi", new TaskApi(store, new TaskRequestParser(), metrics));
        registry.bind("errorResponses", new ErrorResponses(metrics));
        registry.bind("health", new Health(context, redis));
        FileOutputStore outputs = new FileOutputStore(settings.outputDir);
        registry.bind("outputStore", outputs);
        registry.bind("queueMaintenance", new QueueMaintenance(queue, store, metrics, outputs));
        context.addStartupListener(new HttpEdge(metrics, settings.maxBodyBytes));
        LOG.info("ComfyLess configured: HTTP port {}, Redis key prefix '{}'", settings.httpPort, settings.redisPrefix);
    }

    /** Camel's Prometheus endpoint serves the registry bound under its well-known name; create it if absent. */
    private static MeterRegistry meterRegistry(Registry registry) {
        MeterRegistry existing = MicrometerUtils.getMeterRegistryFromCamelRegistry(registry,
                MicrometerConstants.METRICS_REGISTRY_NAME);
        if (existing != null) {
            return existing;
        }
        PrometheusMeterRegistry created = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.bind(MicrometerConstants.METRICS_REGISTRY_NAME, created);
        return created;
    }
}
