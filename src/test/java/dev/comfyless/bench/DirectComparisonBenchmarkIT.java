package dev.comfyless.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.bench.DirectComparisonBenchmark.Breakdown;
import dev.comfyless.bench.DirectComparisonBenchmark.Config;
import dev.comfyless.bench.DirectComparisonBenchmark.Dist;
import dev.comfyless.bench.DirectComparisonBenchmark.Report;
import dev.comfyless.bench.DirectComparisonBenchmark.Round;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Smoke test of the direct-comparison benchmark against the packaged jar, with tiny numbers: it runs, produces both
 * rows with sane values, and stops what it started. No timing is asserted (speed targets never are in tests).
 */
class DirectComparisonBenchmarkIT {

    @Test
    @Timeout(120)
    void runsBothRowsOnTheJarAndCleansUp() throws Exception {
        Config config = new Config(10, 2, Duration.ofMillis(2), 2, 1, 4, 0, Duration.ofMillis(2));

        Report report = DirectComparisonBenchmark.run(config, Path.of("target/comfyless.jar"), Path.of(""),
                System.out);

        // stream: one round, both sides finished every task
        assertThat(report.stream().rounds()).hasSize(1);
        Round round = report.stream().rounds().get(0);
        assertThat(round.directSeconds()).isPositive().isFinite();
        assertThat(round.comfylessSeconds()).isPositive().isFinite();
        assertThat(report.stream().medianRatio()).isPositive().isFinite();
        // consecutive prompts on one server: 10 prompts on 2 servers give 8 gaps (9 if one server took them all)
        assertThat(report.stream().directIdleGap().count()).isEqualTo(8);
        assertThat(report.stream().comfylessIdleGap().count()).isBetween(8, 9);
        assertThat(report.stream().comfylessIdleGap().p50()).isNotNegative();

        // one at a time: every task measured, and the parts add up to the latency
        assertThat(report.oneAtATime().tasks()).isEqualTo(4);
        for (Breakdown b : List.of(report.oneAtATime().direct(), report.oneAtATime().comfyless())) {
            for (Dist d : List.of(b.latency(), b.dispatch(), b.run(), b.completion(), b.submit())) {
                assertThat(d.count()).isEqualTo(4);
                assertThat(d.p50()).isPositive();
                assertThat(d.p95()).isGreaterThanOrEqualTo(d.p50());
            }
            assertThat(b.dispatch().mean() + b.run().mean() + b.completion().mean())
                    .isCloseTo(b.latency().mean(), within(0.01));
        }
        assertThat(report.oneAtATime().overheadP50()).isFinite();
        assertThat(report.promptRun().p50()).isPositive();
        assertThat(report.floor().simulatorGet()).isPositive();
        assertThat(report.floor().comfylessHealth()).isPositive();
        assertThat(report.floor().historyPoll()).isPositive();
        assertThat(report.floor().taskPoll()).isPositive();

        // the readable report and one JSON line per row
        assertThat(report.text()).contains("stream: 10 tasks on 2 servers", "one at a time: 4 tasks per side",
                "ComfyLess - direct");
        ObjectMapper json = new ObjectMapper();
        List<String> lines = report.jsonLines();
        assertThat(lines).hasSize(2).allSatisfy(l -> assertThat(l).doesNotContain("\n"));
        JsonNode stream = json.readTree(lines.get(0));
        JsonNode one = json.readTree(lines.get(1));
        assertThat(stream.path("row").asText()).isEqualTo("stream");
        assertThat(stream.path("ratio_median").isNumber()).isTrue();
        assertThat(stream.path("rounds")).hasSize(1);
        assertThat(one.path("row").asText()).isEqualTo("one_at_a_time");
        assertThat(one.path("overhead_p50_ms").isNumber()).isTrue();
        assertThat(one.path("comfyless").path("dispatch").path("n").asInt()).isEqualTo(4);

        // what it started is stopped, and its keys are gone (an embedded Redis went with the process)
        assertThat(ProcessHandle.of(report.comfylessPid()).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        if (!report.redis().equals("embedded Redis")) {
            assertThat(report.keysDeleted()).isPositive();
        }
    }
}
