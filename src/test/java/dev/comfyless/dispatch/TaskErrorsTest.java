package dev.comfyless.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TaskErrorsTest {

    @Test
    void aLostOutputsErrorNamesNoWorkerUrl() {
        String json = TaskErrors.outputsLost("ComfyUI_00001_.png",
                "No answer from GET http://10.1.2.3:8188/view?filename=ComfyUI_00001_.png&type=output within 30 s");
        assertThat(json).doesNotContain("10.1.2.3").doesNotContain("8188").contains("No answer from GET the worker")
                .contains("ComfyUI_00001_.png");
    }
}
