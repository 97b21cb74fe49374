package dev.comfyless.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.testing.Workflows;
import org.apache.camel.ConsumerTemplate;
import org.apache.camel.Exchange;
import org.apache.camel.api.management.mbean.ManagedRouteMBean;
import org.junit.jupiter.api.Test;

/**
 * A task's life after submit runs through named routes (dispatch, send-prompt, prompt-ended, collect-outputs,
 * finish-task, next-task): a step an operator adds to their YAML takes effect.
 */
class TaskPipelineRoutesTest extends AgainstStaticWorkers {

    @Test
    void everyStepOfATaskIsARouteAndStepsAddedInYamlTakeEffect() throws Exception {
        Path routes = Files.createTempDirectory("routes");
        try (Stream<Path> files = Files.list(Path.of("routes"))) {
            for (Path f : files.toList()) {
                Files.copy(f, routes.resolve(f.getFileName()));
            }
        }
        Path completion = routes.resolve("completion.camel.yaml");
        String yaml = Files.readString(completion);
        // a wireTap after the finish, and an extra step inside the split over the output files
        String finish = "            ref: taskCompletion\n            method: finish\n";
        String copy = "                  ref: outputCollector\n                  method: copy\n";
        yaml = yaml.replace(finish, finish + "        - wireTap:\n            uri: seda:finished?size=100\n")
                .replace(copy, copy + "              - to: seda:copied?size=100\n");
        assertThat(yaml).contains("seda:finished").contains("seda:copied");
        Files.writeString(completion, yaml);

        server(Duration.ofMillis(10));
        start(Map.of("comfyless.routes-dir", routes.toString()));
        String id = submit(Workflows.textToImage(5, 2, 64));
        JsonNode done = awaitStatus(id, "completed");

        ConsumerTemplate consumer = service.context().createConsumerTemplate();
        Exchange finished = consumer.receive("seda:finished?size=100", 10_000);
        assertThat(finished).as("the wireTap added to finish-task ran").isNotNull();
        assertThat(finished.getMessage().getBody(PromptEnd.class).getTaskId()).isEqualTo(id);
        Exchange copied = consumer.receive("seda:copied?size=100", 10_000);
        assertThat(copied).as("the step added inside collect-outputs' split ran").isNotNull();
        assertThat(copied.getMessage().getBody(OutputCollector.OutputCopy.class).name())
                .isEqualTo(done.get("outputs").get(0).get("filename").asText());

        // submit-task paired the task with the idle worker in its own step (else dispatch would have)
        for (String route : new String[] {"submit-task", "send-prompt", "prompt-ended", "collect-outputs", "finish-task",
                "next-task"}) {
            ManagedRouteMBean managed = service.context().getCamelContextExtension()
                    .getContextPlugin(org.apache.camel.api.management.ManagedCamelContext.class)
                    .getManagedRoute(route);
            assertThat(managed.getExchangesTotal()).as("exchanges through route " + route).isPositive();
        }
    }
}
