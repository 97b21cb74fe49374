package dev.comfyless.metrics;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.config.MeterFilterReply;

/**
 * Makes every meter in the Prometheus registry pass {@code promtool check metrics}: Camel tags its meters with
 * camelCase keys (camelContext, routeId, eventType), which become snake_case label names here; meters without a
 * description get one (Prometheus HELP); system.cpu.count, whose "_count" suffix Prometheus reserves for histograms,
 * becomes system.cpu.cores; and the one meter whose unit is abbreviated is dropped.
 */
public final class PrometheusNaming implements MeterFilter {

    private static final Pattern HUMP = Pattern.compile("([a-z0-9])([A-Z])");

    /** HELP for Camel's meters that come without a description. */
    private static final Map<String, String> DESCRIPTIONS = Map.of(
            "app.info", "Camel application: context name, runtime provider and versions (value always 1)",
            "camel.routes.added", "Routes added to the Camel context",
            "camel.routes.reloaded", "Routes reloaded in the Camel context",
            "camel.routes.running", "Routes running in the Camel context");

    @Override
    public MeterFilterReply accept(Meter.Id id) {
        // Micrometer's processor binder reports CPU time in "ns" (process_cpu_time_ns_total), an abbreviated,
        // non-base unit; its value is nanoseconds, so renaming it would lie. process_cpu_usage covers CPU.
        return "process.cpu.time".equals(id.getName()) ? MeterFilterReply.DENY : MeterFilterReply.NEUTRAL;
    }

    @Override
    public Meter.Id map(Meter.Id id) {
        if ("system.cpu.count".equals(id.getName())) {
            // "_count" is reserved for histograms and summaries
            id = id.withName("system.cpu.cores");
        }
        List<Tag> tags = id.getTags().stream().map(t -> Tag.of(snakeCase(t.getKey()), t.getValue())).toList();
        Meter.Id mapped = id.replaceTags(tags);
        if (mapped.getDescription() == null || mapped.getDescription().isBlank()) {
            mapped = new Meter.Id(mapped.getName(), Tags.of(tags), mapped.getBaseUnit(),
                    DESCRIPTIONS.getOrDefault(id.getName(), "Meter " + id.getName()), mapped.getType());
        }
        return mapped;
    }

    /** camelContext → camel_context; keys already in snake_case are unchanged. */
    static String snakeCase(String key) {
        return HUMP.matcher(key).replaceAll("$1_$2").replace('.', '_').replace('-', '_')
                .toLowerCase(Locale.ROOT);
    }
}
