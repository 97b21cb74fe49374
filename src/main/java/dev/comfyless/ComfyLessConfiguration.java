package dev.comfyless;

import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;

import dev.comfyless.api.ApiKeyGuard;
import dev.comfyless.api.ApiKeys;
import dev.comfyless.api.ErrorResponses;
import dev.comfyless.api.Health;
import dev.comfyless.api.HttpEdge;
import dev.comfyless.api.TaskApi;
import dev.comfyless.api.TaskEvents;
import dev.comfyless.api.TaskEventStreams;
import dev.comfyless.api.WebhookApi;
import dev.comfyless.scaling.WaitingForecasts;
import dev.comfyless.webhook.WebhookDeliveries;
import dev.comfyless.webhook.WebhookSender;
import dev.comfyless.task.TaskEventFeed;
import dev.comfyless.task.TaskEventLog;
import dev.comfyless.api.WorkerApi;
import dev.comfyless.cluster.Leadership;
import dev.comfyless.cluster.RedisClusterService;
import dev.comfyless.comfyui.ComfyUiClient;
import dev.comfyless.config.Settings;
import dev.comfyless.dispatch.DispatchGate;
import dev.comfyless.dispatch.DispatchSignal;
import dev.comfyless.dispatch.Dispatcher;
import dev.comfyless.dispatch.LeaseKeeper;
import dev.comfyless.dispatch.OutputCollector;
import dev.comfyless.dispatch.PromptPreparer;
import dev.comfyless.dispatch.RunningTasks;
import dev.comfyless.dispatch.StalePrompts;
import dev.comfyless.dispatch.StoreOutputRoute;
import dev.comfyless.dispatch.TaskCompletion;
import dev.comfyless.dispatch.TaskRoutes;
import dev.comfyless.metrics.ComfyLessMetrics;
import dev.comfyless.metrics.TaskOutcomes;
import dev.comfyless.task.TaskChanges;
import dev.comfyless.metrics.PrometheusNaming;
import dev.comfyless.output.FileOutputStore;
import dev.comfyless.output.OutputStore;
import dev.comfyless.output.S3OutputStore;
import dev.comfyless.output.StagingFiles;
import dev.comfyless.provider.FleetBootstrap;
import dev.comfyless.provider.FleetControl;
import dev.comfyless.provider.GpuProvider;
import dev.comfyless.provider.NovitaProvider;
import dev.comfyless.provider.StaticProvider;
import dev.comfyless.provider.novita.NovitaClient;
import dev.comfyless.provider.novita.NovitaHttpClientConfigurer;
import dev.comfyless.provider.novita.NovitaRequests;
import dev.comfyless.provider.novita.NovitaResponses;
import dev.comfyless.redis.RedisConnector;
import dev.comfyless.sandbox.NovitaSimulator;
import dev.comfyless.scaling.FleetMeasurements;
import dev.comfyless.worker.FleetLedger;
import dev.comfyless.scaling.FleetMember;
import dev.comfyless.scaling.WaitingFor;
import dev.comfyless.scaling.ScalingConfig;
import dev.comfyless.redis.RedisScripts;
import dev.comfyless.task.QueueMaintenance;
import dev.comfyless.task.TaskQueue;
import dev.comfyless.task.TaskRequestParser;
import dev.comfyless.task.TaskStore;
import dev.comfyless.worker.WorkerHealth;
import dev.comfyless.worker.WorkerMetrics;
import dev.comfyless.worker.WorkerRegistry;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.component.micrometer.MicrometerConstants;
import org.apache.camel.component.micrometer.MicrometerUtils;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.spi.Registry;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Binds every ComfyLess bean, by the names the YAML routes use. A host camel-main application adds this class (and
 * the comfyless.* properties) to embed ComfyLess; nothing essential happens in {@link Application#main}.
 */
public class ComfyLessConfiguration implements CamelConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger(ComfyLessConfiguration.class);

    /** COMFYLESS_REPLICA_ID, else host name and port: a restart on the same host and port resumes its tasks at once. */
    static String replicaId(Settings settings) {
        if (!settings.replicaId.isEmpty()) {
            return settings.replicaId;
        }
        String host = System.getenv("HOSTNAME");
        if (host == null || host.isBlank()) {
            try {
                host = java.net.InetAddress.getLocalHost().getHostName();
            } catch (java.io.IOException e) {
                host = "localhost";
            }
        }
        return host + ":" + settings.httpPort;
    }

    @Override
    public void configure(CamelContext context) throws Exception {
        // a host application needs no camel.server / camel.rest settings of its own (see HostDefaults)
        HostDefaults.properties(context.getPropertiesComponent());
        Settings settings = Settings.load(key -> context.getPropertiesComponent().resolveProperty(key));
        HostDefaults.apply(context, settings);
        Registry registry = context.getRegistry();
        // values the routes need in another unit than the operator wrote them (Quartz wants milliseconds)
        PropertiesComponent pc = context.getPropertiesComponent();
        pc.addOverrideProperty("comfyless.queue.sweep-interval-ms", Long.toString(settings.sweepInterval.toMillis()));
        // three renewals per lease: one lost renewal never loses a lease
        pc.addOverrideProperty("comfyless.task.lease-renew-ms", Long.toString(settings.taskLease.toMillis() / 3));
        pc.addOverrideProperty("comfyless.worker.health-interval-ms",
                Long.toString(settings.healthInterval.toMillis()));
        pc.addOverrideProperty("comfyless.worker.readiness-interval-ms",
                Long.toString(settings.readinessInterval.toMillis()));
        pc.addOverrideProperty("comfyless.fleet.autoscale-interval-ms",
                Long.toString(settings.fleet.autoscaleInterval().toMillis()));
        pc.addOverrideProperty("comfyless.fleet.instance-watch-interval-ms",
                Long.toString(settings.fleet.instanceWatchInterval().toMillis()));
        pc.addOverrideProperty("comfyless.fleet.cleanup-interval-ms",
                Long.toString(settings.fleet.cleanupInterval().toMillis()));
        pc.addOverrideProperty("comfyless.fleet.reconcile-interval-ms",
                Long.toString(settings.fleet.reconcileInterval().toMillis()));
        // the Novita API endpoint, retry, timeout and breaker values of routes/novita.camel.yaml (never the key)
        NovitaClient.routeProperties(settings).forEach(pc::addOverrideProperty);
        // the sandbox's simulated Novita listens before the routes are built, so that they can point at it
        NovitaSimulator sandboxCloud = settings.provider == Settings.Provider.SANDBOX ? startSandboxCloud(settings)
                : null;
        if (sandboxCloud != null) {
            pc.addOverrideProperty("comfyless.novita.api-url", NovitaClient.apiUrl(sandboxCloud.baseUrl()));
        }

        RedisConnector redis = new RedisConnector(settings);
        // started with the context, before the routes; stopped after them
        context.addService(redis, true, true);
        RedisScripts scripts = new RedisScripts(redis, settings.redisPrefix);
        // the leader lease the master: routes use (camel-master finds the cluster service among the context's
        // services); started after Redis, stopped before it so that a graceful stop releases the lease at once
        RedisClusterService cluster = new RedisClusterService(scripts, settings.leaderLease,
                RedisClusterService.memberId(settings.httpPort));
        context.addService(cluster, true, true);
        Leadership leadership = new Leadership(cluster);
        context.addService(leadership, true, true);
        TaskStore store = new TaskStore(scripts, settings.taskRetention, settings.taskTimeout,
                settings.defaultMaxAttempts);
        String replicaId = replicaId(settings);
        TaskQueue queue = new TaskQueue(scripts, settings.taskRetention, replicaId);
        WorkerRegistry workers = new WorkerRegistry(scripts, settings.taskRetention);
        ComfyLessMetrics metrics = new ComfyLessMetrics(meterRegistry(registry));
        // outcome metrics from every class that changes a task's life; its events are recorded by the same Lua steps,
        // and every replica hears of them (pub/sub) for the event streams, routes/events.camel.yaml and webhooks
        TaskEventLog eventLog = new TaskEventLog(scripts);
        TaskEventFeed eventFeed = new TaskEventFeed(redis, settings.redisPrefix);
        TaskEvents events = new TaskEvents(context, store, eventLog, redis, settings.redisPrefix,
                settings.eventsEndpoint);
        eventFeed.listen(events);
        if (events.enabled()) {
            // the events route forwards from every replica's feed (the first to claim an event sends it)
            eventFeed.demand(1);
        }
        context.addService(eventFeed, true, true);
        TaskOutcomes outcomes = new TaskOutcomes(metrics, store);
        TaskChanges changes = outcomes;
        store.onChange(changes);
        queue.onChange(changes);
        workers.onChange(changes);
        OutputStore outputs = outputStore(settings);
        ApiKeys apiKeys = ApiKeys.of(settings.apiKeys.keys());
        ApiKeyGuard.logMode(apiKeys, settings.httpPort);

        ComfyUiClient comfyUi = new ComfyUiClient("comfyless-" + UUID.randomUUID().toString().substring(0, 8),
                settings.comfyUiTimeout);
        DispatchGate dispatchGate = new DispatchGate(context);
        DispatchSignal signal = new DispatchSignal(context, dispatchGate::open);
        dispatchGate.onReopened(signal::fire);
        boolean workersRecover = settings.provider.workersRecover();
        PromptPreparer preparer = new PromptPreparer(comfyUi, settings.maxInputBytes, settings.inputFetchTimeout,
                settings.allowPrivateUrls);
        context.getManagementStrategy().addEventNotifier(dispatchGate);
        // each output reaches the store through the store-output route (routes/outputs.camel.yaml)
        OutputCollector outputCollector = new OutputCollector(comfyUi, outputs, new StoreOutputRoute(context));
        // the collect-outputs split's threads: bounded, and idle ones end (its queue is bounded by the running tasks)
        context.getExecutorServiceManager().registerThreadPoolProfile(
                new org.apache.camel.builder.ThreadPoolProfileBuilder(OutputCollector.POOL)
                        .poolSize(settings.outputCopyConcurrency).maxPoolSize(settings.outputCopyConcurrency)
                        .maxQueueSize(-1).allowCoreThreadTimeOut(true).keepAliveTime(30L).build());
        RunningTasks running = new RunningTasks(queue, store, workers, comfyUi, outputCollector, preparer, signal,
                new RunningTasks.Watching(settings.historyPollMax, settings.healthFailures, workersRecover,
                        settings.probeTimeout(), settings.comfyUiTimeout, settings.taskLease),
                new TaskRoutes(context), dispatchGate::open);
        Dispatcher dispatcher = new Dispatcher(queue, workers, comfyUi, running, signal, preparer,
                settings.inputConcurrency);
        // what the fleet measured (boot and run times, arrivals, queue ages), for the scaling policy and waiting_for
        FleetLedger ledger = new FleetLedger(scripts, settings.fleet.bootEstimate());
        registry.bind("fleetLedger", ledger);
        // without the queued tasks' submit times (up to 500 reads in Redis per decision): how long a queued task has
        // already waited does not change the policy's decisions (ScalingPolicy, rule 2), and waiting_for neither
        java.util.function.Function<String, FleetMeasurements> measurements = product -> ledger.measurements(product, 0);
        String fleetProduct = sandboxCloud != null ? SANDBOX_PRODUCT
                : settings.novita.productId() == null ? "" : settings.novita.productId();
        GpuProvider provider = provider(settings, context, sandboxCloud, workers, store, running, signal,
                measurements);
        // stopped before Redis (added after it): prompts keep running, a restarted process resumes them
        context.addService(new ServiceSupport() {
            @Override
            protected void doStop() {
                dispatcher.close();
                running.close();
                events.close();
                outcomes.close();
                comfyUi.close();
                provider.close();
                if (outputs instanceof S3OutputStore s3) {
                    s3.close();
                }
            }
        }, true, true);

        LeaseKeeper leases = new LeaseKeeper(queue, store, running);
        GracefulShutdown shutdown = new GracefulShutdown(running, leases, provider, settings.shutdownTimeout,
                settings.deleteInstancesOnShutdown);
        // runs when the context starts stopping, before the routes stop (the cloud API calls still work)
        context.addLifecycleStrategy(shutdown);
        context.getShutdownStrategy().setTimeout(settings.shutdownTimeout.toSeconds());
        LOG.info("Replica {}: running tasks are leased for {} and renewed while their workers answer", replicaId,
                Settings.human(settings.taskLease));

        registry.bind("comfylessSettings", settings);
        registry.bind("leaseKeeper", leases);
        registry.bind("gracefulShutdown", shutdown);
        registry.bind("redisConnector", redis);
        registry.bind("redisScripts", scripts);
        registry.bind("taskStore", store);
        registry.bind("taskQueue", queue);
        registry.bind("taskEvents", events);
        registry.bind("workerRegistry", workers);
        registry.bind("comfylessMetrics", metrics);
        registry.bind("outputStore", outputs);
        registry.bind("gpuProvider", provider);
        registry.bind("comfyUiClient", comfyUi);
        registry.bind("runningTasks", running);
        registry.bind("dispatchSignal", signal);
        registry.bind("dispatcher", dispatcher);
        registry.bind("dispatchGate", dispatchGate);
        registry.bind("dispatchStopWatch", dispatchGate.stopWatch());
        registry.bind("taskCompletion", new TaskCompletion(running));
        registry.bind("outputCollector", outputCollector);
        StalePrompts stale = new StalePrompts(comfyUi, store, running.stopper(), settings.probeTimeout());
        registry.bind("workerHealth", new WorkerHealth(workers, comfyUi, settings.healthFailures,
                workersRecover, settings.probeTimeout(), signal::fire, running::workerFailed,
                running::subscribe, stale::clear, running::fleetSeen));
        registry.bind("fleetBootstrap", new FleetBootstrap(provider, workers, running, leadership::term));
        registry.bind("leadership", leadership);
        registry.bind("fleetControl", new FleetControl(context, leadership::isLeader));
        java.util.function.Supplier<java.util.List<FleetMember>> fleet = () -> workers.list().stream().map(w -> new FleetMember(
                w.id(), w.status(), w.createdAt(), w.lastActiveAt(), w.autoscaled())).toList();
        java.util.function.IntFunction<WaitingFor> waitingFor = position -> WaitingFor.of(position, fleet.get(),
                measurements.apply(fleetProduct), java.time.Instant.now());
        // webhooks (routes/webhooks.camel.yaml): pending deliveries live in Redis; the split sends on its own pool
        context.getExecutorServiceManager().registerThreadPoolProfile(
                new org.apache.camel.builder.ThreadPoolProfileBuilder("webhookSends").poolSize(8).maxPoolSize(8)
                        .maxQueueSize(-1).allowCoreThreadTimeOut(true).keepAliveTime(30L).build());
        WebhookDeliveries webhooks = new WebhookDeliveries(scripts, eventLog, store,
                new WebhookSender(comfyUi.vertx(), settings.webhooks.timeout(), settings.allowPrivateUrls),
                settings.webhooks);
        registry.bind("webhookDeliveries", webhooks);
        registry.bind("webhookApi", new WebhookApi(webhooks));
        registry.bind("taskApi", new TaskApi(store, new TaskRequestParser(settings.allowPrivateUrls,
                settings.webhooks.url(), settings.webhooks.secret().length > 0), metrics,
                running, dispatcher, outputs, shutdown::stopping, waitingFor));
        registry.bind("workerApi", new WorkerApi(workers, provider, apiKeys.enabled(), ledger));
        if (sandboxCloud != null) {
            registry.bind("novitaSimulator", sandboxCloud);
        }
        // the novita routes are always loaded (they make no call until a NovitaClient sends to them)
        registry.bind("novitaRequests", new NovitaRequests());
        registry.bind("novitaResponses", new NovitaResponses());
        registry.bind("novitaHttpClientConfigurer", new NovitaHttpClientConfigurer());
        registry.bind("errorResponses", new ErrorResponses(metrics));
        registry.bind("health", new Health(context, redis, provider, shutdown::stopping, leadership::isLeader));
        registry.bind("queueMaintenance", new QueueMaintenance(store, metrics, outputs));
        registry.bind("workerMetrics", new WorkerMetrics(workers, ledger, metrics));
        // the streams of waiting tasks share one read of the fleet per second
        TaskEventStreams streams = new TaskEventStreams(eventLog, store, new WaitingForecasts(fleet,
                () -> measurements.apply(fleetProduct), java.time.Duration.ofSeconds(1)), eventFeed);
        context.addService(streams, true, true);
        HttpEdge edge = new HttpEdge(metrics, settings.maxBodyBytes, new ApiKeyGuard(apiKeys, metrics),
                shutdown::stopping, streams);
        context.addStartupListener(edge);
        // after GracefulShutdown's: the API answers while the dispatch steps finish, then the edge answers it (503)
        // until the port closes, instead of Camel's suspended and removed HTTP consumers
        context.addLifecycleStrategy(edge);
        LOG.info("ComfyLess configured: HTTP port {}, Redis key prefix '{}', provider {}", settings.httpPort,
                settings.redisPrefix, provider.name());
    }

    /** How old a staged output file must be to count as left by a killed process (no copy lasts this long). */
    private static final java.time.Duration STAGING_LEFT_AFTER = java.time.Duration.ofHours(1);

    /** COMFYLESS_OUTPUT_STORE: files under COMFYLESS_OUTPUT_DIR, or an S3 bucket (staging under the data folder). */
    private static OutputStore outputStore(Settings settings) {
        OutputStore store;
        if (settings.outputStorage.s3().isEmpty()) {
            store = new FileOutputStore(settings.outputDir);
        } else {
            S3OutputStore s3 = new S3OutputStore(settings.outputStorage.s3().get(),
                    settings.dataDir.resolve("output-staging"));
            LOG.info("Outputs are stored in S3 {} under '{}': every replica serves them", s3.where(),
                    settings.outputStorage.s3().get().prefix());
            store = s3;
        }
        sweepStaging(store);
        return store;
    }

    /** A process killed mid-copy left its staged downloads; none under way is an hour old. */
    private static void sweepStaging(OutputStore store) {
        try {
            int deleted = StagingFiles.sweep(store.stagingDir(), STAGING_LEFT_AFTER);
            if (deleted > 0) {
                LOG.info("Deleted {} staged output file(s) an earlier process left in {}", deleted, store.stagingDir());
            }
        } catch (java.io.IOException e) {
            LOG.warn("Staged output files left in {} could not be swept: {}", store.stagingDir(), e.getMessage());
        }
    }

    private static GpuProvider provider(Settings settings, CamelContext context, NovitaSimulator sandboxCloud,
                                        WorkerRegistry workers, TaskStore store, RunningTasks running,
                                        DispatchSignal signal,
                                        java.util.function.Function<String, FleetMeasurements> measurements) {
        if (settings.provider == Settings.Provider.STATIC) {
            return new StaticProvider(settings.comfyUiUrls);
        }
        boolean sandbox = sandboxCloud != null;
        Settings.Novita n = settings.novita;
        Settings.Fleet f = settings.fleet;
        NovitaClient api = sandbox ? new NovitaClient(context, sandboxCloud.apiKey()) : new NovitaClient(context,
                settings);
        NovitaProvider.Fleet fleet = new NovitaProvider.Fleet(settings.provider.wire(), f.instancePrefix(),
                sandbox ? SANDBOX_PRODUCT : n.productId(), sandbox ? "sandbox/comfyui:simulated" : n.imageUrl(),
                n.gpuNum(), n.rootfsSize(), Map.of("CLI_ARGS", "--listen 0.0.0.0 --port 8188"),
                new ScalingConfig(n.minWorkers(), n.maxWorkers(), f.maxCreatePerStep(), n.idleTimeout(),
                        f.targetWait()), f.scaleUpCooldown(), f.creationTimeout(), f.cleanupInterval(),
                settings.novitaCalls.timeout());
        NovitaProvider provider = new NovitaProvider(api, workers, () -> store.metrics().pending(),
                measurements, fleet,
                Clock.systemUTC(), running::workerFailed, signal::fire);
        return sandbox ? provider.owning(() -> {
            api.close();
            sandboxCloud.close();
        }) : provider.owning(api);
    }

    /** A GPU product the simulated Novita sells. */
    private static final String SANDBOX_PRODUCT = "4090.16c62g";

    /** The simulated Novita of the sandbox: its instances boot in COMFYLESS_SANDBOX_BOOT_TIME. */
    private static NovitaSimulator startSandboxCloud(Settings settings) {
        Duration boot = settings.sandboxBootTime;
        NovitaSimulator cloud = NovitaSimulator.start(NovitaSimulator.Options.defaults()
                .withApiKey("sk_sandbox_" + UUID.randomUUID().toString().replace("-", ""))
                // creating and pulling take 3/5 of the boot, ComfyUI's own warm-up (502) the rest
                .withCreateDwell(boot.dividedBy(5)).withPullDwell(boot.dividedBy(5))
                .withComfyWarmup(boot.multipliedBy(2).dividedBy(5))
                .withComfyStepTime(settings.sandboxStepTime)
                .withDataDir(settings.dataDir.resolve("sandbox")));
        LOG.warn("Sandbox provider: no NOVITA_API_KEY and no COMFYUI_URLS, so GPU instances are simulated: a "
                + "Novita-compatible API at {} whose instances boot in {} into simulated ComfyUI servers ({} ms per "
                + "sampler step, real PNGs). Set NOVITA_API_KEY (with NOVITA_PRODUCT_ID and NOVITA_IMAGE_URL) for "
                + "real GPUs, or COMFYUI_URLS for your own ComfyUI servers.", cloud.apiBaseUrl(),
                Settings.human(boot), settings.sandboxStepTime.toMillis());
        return cloud;
    }

    /**
     * Camel's Prometheus endpoint serves the registry bound under its well-known name; create it if absent. Either
     * way its meters get Prometheus-conformant names ({@link PrometheusNaming}).
     */
    private static MeterRegistry meterRegistry(Registry registry) {
        MeterRegistry existing = MicrometerUtils.getMeterRegistryFromCamelRegistry(registry,
                MicrometerConstants.METRICS_REGISTRY_NAME);
        if (existing != null) {
            existing.config().meterFilter(new PrometheusNaming());
            // Camel's processor binder registered its meters before this filter existed: register them again
            // through it (the renamed and the dropped one are removed first; the others stay as they are)
            existing.find("process.cpu.time").meters().forEach(existing::remove);
            existing.find("system.cpu.count").meters().forEach(existing::remove);
            new ProcessorMetrics().bindTo(existing);
            return existing;
        }
        PrometheusMeterRegistry created = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        created.config().meterFilter(new PrometheusNaming());
        registry.bind(MicrometerConstants.METRICS_REGISTRY_NAME, created);
        return created;
    }
}
