package dev.comfyless.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

/** POST /prompt's 400 answers, shaped as ComfyUI shapes them. */
class ComfyUiSimulatorValidationTest extends AgainstSimulator {

    @Test
    void aBodyWithoutPromptIsNoPrompt() {
        assertThat(rejection("{\"client_id\": \"x\"}")).isEqualTo(SimulatorHttp.json("{\"error\": {"
                + "\"type\": \"no_prompt\", \"message\": \"No prompt provided\", \"details\": \"No prompt provided\", "
                + "\"extra_info\": {}}, \"node_errors\": {}}"));
    }

    @Test
    void aNodeWithoutClassTypeIsInvalidPrompt() {
        JsonNode body = rejection("{\"prompt\": {\"1\": {\"inputs\": {}}}}");
        assertThat(body.get("error")).isEqualTo(SimulatorHttp.json("{\"type\": \"invalid_prompt\", \"message\": "
                + "\"Cannot execute because a node is missing the class_type property.\", "
                + "\"details\": \"Node ID '#1'\", "
                + "\"extra_info\": {}}"));
        assertThat(body.get("node_errors")).isEmpty();
    }

    @Test
    void anUnknownClassTypeIsInvalidPrompt() {
        JsonNode body = rejection("{\"prompt\": " + Workflows.SEED.replace("\"class_type\":\"VAEDecode\"",
                "\"class_type\":\"FancyDecode\"") + "}");
        assertThat(body.get("error")).isEqualTo(SimulatorHttp.json("{\"type\": \"invalid_prompt\", \"message\": "
                + "\"Cannot execute because node FancyDecode does not exist.\", \"details\": \"Node ID '#8'\", "
                + "\"extra_info\": {}}"));
        assertThat(body.get("node_errors")).isEmpty();
    }

    @Test
    void aPromptWithoutOutputNodeHasNoOutputs() {
        JsonNode body = rejection("{\"prompt\": {\"1\": {\"class_type\": \"EmptyImage\", \"inputs\": {}}}}");
        assertThat(body.get("error")).isEqualTo(SimulatorHttp.json("{\"type\": \"prompt_no_outputs\", "
                + "\"message\": \"Prompt has no outputs\", \"details\": \"\", \"extra_info\": {}}"));
    }

    @Test
    void aMissingRequiredInputFailsValidationWithNodeErrors() {
        JsonNode body = rejection("{\"prompt\": " + Workflows.SEED.replace("\"filename_prefix\":\"ComfyUI\",", "")
                + "}");
        assertThat(body).isEqualTo(SimulatorHttp.json("{\"error\": {\"type\": \"prompt_outputs_failed_validation\", "
                + "\"message\": \"Prompt outputs failed validation\", "
                + "\"details\": \"Required input is missing: filename_prefix\", \"extra_info\": {}}, "
                + "\"node_errors\": {\"9\": {\"errors\": [{\"type\": \"required_input_missing\", "
                + "\"message\": \"Required input is missing\", \"details\": \"filename_prefix\", "
                + "\"extra_info\": {\"input_name\": \"filename_prefix\"}}], \"dependent_outputs\": [\"9\"], "
                + "\"class_type\": \"SaveImage\"}}}"));
    }

    @Test
    void aCheckpointNotInTheListIsValueNotInList() {
        JsonNode body = rejection("{\"prompt\": " + Workflows.SEED.replace("flux1-dev-fp8.safetensors",
                "missing.safetensors") + "}");
        // the bad value sits upstream of the output, so the top-level details only name the output's own errors
        assertThat(body.get("error").get("details").textValue()).isEmpty();
        JsonNode node = body.get("node_errors").get("4");
        assertThat(node.get("class_type").textValue()).isEqualTo("CheckpointLoaderSimple");
        assertThat(node.get("dependent_outputs")).isEqualTo(SimulatorHttp.json("[\"9\"]"));
        JsonNode error = node.get("errors").get(0);
        assertThat(error.get("type").textValue()).isEqualTo("value_not_in_list");
        assertThat(error.get("message").textValue()).isEqualTo("Value not in list");
        assertThat(error.get("details").textValue()).isEqualTo("ckpt_name: 'missing.safetensors' not in "
                + "['flux1-dev-fp8.safetensors', 'v1-5-pruned-emaonly.safetensors', 'sd_xl_base_1.0.safetensors']");
        assertThat(error.get("extra_info").get("input_name").textValue()).isEqualTo("ckpt_name");
        assertThat(error.get("extra_info").get("received_value").textValue()).isEqualTo("missing.safetensors");
        assertThat(error.get("extra_info").get("input_config").get(0)).hasSize(3);
        assertThat(body.get("node_errors").size()).isEqualTo(1);
    }

    @Test
    void aLongChoiceListIsShownByItsLength() {
        JsonNode error = rejection("{\"prompt\": " + Workflows.SEED.replace("\"euler\"", "\"eulerish\"") + "}")
                .get("node_errors").get("3").get("errors").get(0);
        assertThat(error.get("details").textValue()).isEqualTo("sampler_name: 'eulerish' not in (list of length 40)");
        assertThat(error.get("extra_info").get("input_config").isNull()).isTrue();
    }

    @Test
    void aLinkThatIsNotANodeIdAndIndexIsBadLinkedInput() {
        JsonNode error = rejection("{\"prompt\": " + Workflows.SEED.replace("\"images\":[\"8\",0]",
                "\"images\":[\"8\",0,1]") + "}").get("node_errors").get("9").get("errors").get(0);
        assertThat(error.get("type").textValue()).isEqualTo("bad_linked_input");
        assertThat(error.get("message").textValue())
                .isEqualTo("Bad linked input, must be a length-2 list of [node_id, slot_index]");
        assertThat(error.get("details").textValue()).isEqualTo("images");
        assertThat(error.get("extra_info").get("received_value")).isEqualTo(SimulatorHttp.json("[\"8\", 0, 1]"));
        assertThat(error.get("extra_info").get("input_config")).isEqualTo(
                SimulatorHttp.json("[\"IMAGE\", {\"tooltip\": \"The images to save.\"}]"));
    }

    @Test
    void aLinkToAMissingNodeRaisesDuringValidation() {
        JsonNode body = rejection("{\"prompt\": " + Workflows.SEED.replace("\"images\":[\"8\",0]",
                "\"images\":[\"99\",0]") + "}");
        JsonNode error = body.get("node_errors").get("9").get("errors").get(0);
        assertThat(error.get("type").textValue()).isEqualTo("exception_during_validation");
        assertThat(error.get("message").textValue()).isEqualTo("Exception when validating node");
        assertThat(error.get("details").textValue()).isEqualTo("'99'");
        assertThat(error.get("extra_info").get("exception_type").textValue()).isEqualTo("KeyError");
        assertThat(error.get("extra_info").get("traceback").isArray()).isTrue();
        assertThat(body.get("error").get("details").textValue()).isEqualTo("Exception when validating node: '99'");
    }

    @Test
    void aMissingNodeFurtherUpIsBlamedOnTheNodeThatLinksToIt() {
        JsonNode body = rejection("{\"prompt\": " + Workflows.SEED.replace("\"vae\":[\"4\",2]",
                "\"vae\":[\"42\",2]") + "}");
        JsonNode error = body.get("node_errors").get("8").get("errors").get(0);
        assertThat(error.get("type").textValue()).isEqualTo("exception_during_inner_validation");
        assertThat(error.get("details").textValue()).isEqualTo("'42'");
        assertThat(error.get("extra_info").get("input_name").textValue()).isEqualTo("images");
        assertThat(error.get("extra_info").get("linked_node")).isEqualTo(SimulatorHttp.json("[\"8\", 0]"));
    }

    @Test
    void aLinkOfTheWrongTypeIsAReturnTypeMismatch() {
        JsonNode error = rejection("{\"prompt\": " + Workflows.SEED.replace("\"images\":[\"8\",0]",
                "\"images\":[\"5\",0]") + "}").get("node_errors").get("9").get("errors").get(0);
        assertThat(error.get("type").textValue()).isEqualTo("return_type_mismatch");
        assertThat(error.get("details").textValue())
                .isEqualTo("images, received_type(LATENT) mismatch input_type(IMAGE)");
    }

    @Test
    void numbersAreConvertedAndRangeChecked() {
        JsonNode errors = rejection("{\"prompt\": " + Workflows.SEED.replace("\"steps\":20", "\"steps\":0")
                .replace("\"cfg\":8", "\"cfg\":\"lots\"") + "}").get("node_errors").get("3").get("errors");
        assertThat(errors).extracting(e -> e.get("type").textValue())
                .containsExactly("value_smaller_than_min", "invalid_input_type");
        assertThat(errors.get(0).get("message").textValue()).isEqualTo("Value 0 smaller than min of 1");
        assertThat(errors.get(1).get("details").textValue())
                .isEqualTo("cfg, lots, could not convert string to float: 'lots'");
        // numeric strings are fine, as Python's int() accepts them
        assertThat(http.post("/prompt", "{\"prompt\": " + Workflows.seed(20, "s").replace("\"steps\":20",
                "\"steps\":\" 3 \"") + "}").statusCode()).isEqualTo(200);
    }

    @Test
    void aPromptIdMustBeACanonicalUuid() {
        JsonNode body = rejection("{\"prompt\": " + Workflows.tiny("x") + ", \"prompt_id\": \"ABC\"}");
        assertThat(body).isEqualTo(SimulatorHttp.json("{\"error\": {\"type\": \"invalid_prompt_id\", "
                + "\"message\": \"prompt_id must be a valid UUID\", \"details\": \"prompt_id must be a UUID string in "
                + "canonical lowercase hyphenated form; omit it to let the server generate one\", \"extra_info\": {}}, "
                + "\"node_errors\": {}}"));
        assertThat(rejection("{\"prompt\": " + Workflows.tiny("x")
                + ", \"prompt_id\": \"0F3C7E9A-4B1D-4C2E-9F7A-2B5D8E1C6A40\"}").get("error").get("type").textValue())
                .isEqualTo("invalid_prompt_id");
    }

    @Test
    void malformedJsonIsAServerError() {
        HttpResponse<String> response = http.post("/prompt", "{\"prompt\": ");
        assertThat(response.statusCode()).isEqualTo(500);
    }

    @Test
    void rejectedPromptsAreNotQueuedButStillTakeANumber() throws Exception {
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "v")) {
            rejection("{\"prompt\": {}, \"client_id\": \"v\"}");
            HttpResponse<String> accepted = http.post("/prompt", "{\"prompt\": " + Workflows.tiny("ok")
                    + ", \"client_id\": \"v\"}");
            assertThat(SimulatorHttp.json(accepted).get("number").intValue()).isEqualTo(1);
            ws.awaitDone(SimulatorHttp.json(accepted).get("prompt_id").textValue());
            assertThat(sim.receivedPrompts()).hasSize(1);
            // the rejected prompt left no trace on the socket: greeting, then the accepted prompt's status first
            JsonNode firstStatus = ws.messages().get(1).get("data").get("status");
            assertThat(firstStatus.get("exec_info").get("queue_remaining").intValue()).isEqualTo(1);
        }
    }

    @Test
    void validOutputsRunWhileInvalidOnesAreReported() {
        String prompt = Workflows.tiny("good").replace("}}}", "}},\"3\":{\"class_type\":\"SaveImage\","
                + "\"inputs\":{\"images\":[\"1\",0]}}}");
        HttpResponse<String> response = http.post("/prompt", "{\"prompt\": " + prompt + "}");
        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode nodeErrors = SimulatorHttp.json(response).get("node_errors");
        assertThat(nodeErrors.get("3").get("errors").get(0).get("type").textValue())
                .isEqualTo("required_input_missing");
    }

    private JsonNode rejection(String body) {
        HttpResponse<String> response = http.post("/prompt", body);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json; charset=utf-8");
        return SimulatorHttp.json(response);
    }
}
