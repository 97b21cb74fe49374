package dev.comfyless.comfyui;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.math.BigInteger;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.comfyui.ComfyUiClient.PromptAccepted;
import io.vertx.ext.web.handler.BodyHandler;
import org.junit.jupiter.api.Test;

/** POST /prompt (docs/comfyui-api.md, "Prompt submission"). */
class ComfyUiPromptTest extends AgainstFakeComfyUi {

    private static final String PROMPT_ID = "0f3c7e9a-4b1d-4c2e-9f7a-2b5d8e1c6a40";
    /** Seeds beyond 2^53 and odd spacing: the server must receive this text byte for byte. */
    private static final String PROMPT = "{\"3\": {\"class_type\": \"KSampler\", \"inputs\": {\"seed\": 46588125086418,"
            + " \"noise_seed\":9223372036854775807, \"huge\": 123456789012345678901234567890, \"cfg\": 7.50,"
            + " \"model\": [\"4\", 0]}},\n  \"9\": {\"class_type\": \"SaveImage\", \"inputs\": {\"filename_prefix\": \"é\\u00e9\"}}}";
    private static final String REJECTED_ERROR = "{\n    \"type\": \"prompt_outputs_failed_validation\",\n"
            + "    \"message\": \"Prompt outputs failed validation\",\n"
            + "    \"details\": \"Value not in list: ckpt_name: 'missing.safetensors' not in (list of length 37)\",\n"
            + "    \"extra_info\": {}\n  }";
    private static final String REJECTED_NODE_ERRORS = "{\n    \"4\": {\n      \"errors\": [\n"
            + "        {\"type\": \"value_not_in_list\", \"message\": \"Value not in list\",\n"
            + "         \"details\": \"ckpt_name: 'missing.safetensors' not in (list of length 37)\",\n"
            + "         \"extra_info\": {\"input_name\": \"ckpt_name\", \"input_config\": null, \"received_value\": \"missing.safetensors\"}}\n"
            + "      ],\n      \"dependent_outputs\": [\"9\"],\n      \"class_type\": \"CheckpointLoaderSimple\"\n    }\n  }";

    /** A server whose /prompt answers status with body, remembering the request body and content type. */
    private void answer(int status, String body, AtomicReference<String> received, AtomicReference<String> type) {
        comfy = FakeComfyUi.start(vertx, router -> router.post("/prompt").handler(BodyHandler.create()).handler(ctx -> {
            received.set(ctx.body().asString());
            type.set(ctx.request().getHeader("Content-Type"));
            ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json; charset=utf-8").end(body);
        }));
    }

    private void answer(int status, String body) {
        answer(status, body, new AtomicReference<>(), new AtomicReference<>());
    }

    @Test
    void bodyCarriesThePromptTextVerbatim() throws Exception {
        AtomicReference<String> received = new AtomicReference<>();
        AtomicReference<String> type = new AtomicReference<>();
        answer(200, "{\"prompt_id\": \"" + PROMPT_ID + "\", \"number\": 3, \"node_errors\": {}}", received, type);

        PromptAccepted accepted = client.prompt(comfy.baseUrl(), PROMPT_ID, PROMPT).join();

        assertThat(received.get()).isEqualTo("{\"prompt\":" + PROMPT + ",\"client_id\":\"orch-1\",\"prompt_id\":\"" + PROMPT_ID + "\"}");
        assertThat(type.get()).isEqualTo("application/json");
        JsonNode seeds = new ObjectMapper().readTree(received.get()).at("/prompt/3/inputs");
        assertThat(seeds.get("seed").bigIntegerValue()).isEqualTo(new BigInteger("46588125086418"));
        assertThat(seeds.get("noise_seed").bigIntegerValue()).isEqualTo(new BigInteger("9223372036854775807"));
        assertThat(seeds.get("huge").bigIntegerValue()).isEqualTo(new BigInteger("123456789012345678901234567890"));
        assertThat(accepted).isEqualTo(new PromptAccepted(PROMPT_ID, 3, "{}"));
    }

    @Test
    void ourTaskIdRidesInExtraDataSoThatOurPromptsCanBeToldApartOnASharedServer() throws Exception {
        AtomicReference<String> received = new AtomicReference<>();
        answer(200, "{\"prompt_id\": \"" + PROMPT_ID + "\", \"number\": 3, \"node_errors\": {}}", received,
                new AtomicReference<>());
        client.prompt(comfy.baseUrl(), PROMPT_ID, PROMPT, "task-\"1\"").join();
        JsonNode body = new ObjectMapper().readTree(received.get());
        assertThat(body.at("/extra_data/comfyless_task").asText()).isEqualTo("task-\"1\"");
        assertThat(body.get("client_id").asText()).isEqualTo("orch-1");
    }

    @Test
    void clientIdAndPromptIdAreEscapedAsJsonStrings() throws Exception {
        AtomicReference<String> received = new AtomicReference<>();
        String clientId = "orch \"1\" \\ \n é";
        String promptId = "id\t\"x\"";
        try (ComfyUiClient odd = new ComfyUiClient(clientId, Duration.ofSeconds(5))) {
            answer(200, "{\"prompt_id\": \"x\", \"number\": 1, \"node_errors\": {}}", received, new AtomicReference<>());
            odd.prompt(comfy.baseUrl(), promptId, "{}").join();
        }
        JsonNode body = new ObjectMapper().readTree(received.get());
        assertThat(body.get("client_id").asText()).isEqualTo(clientId);
        assertThat(body.get("prompt_id").asText()).isEqualTo(promptId);
    }

    @Test
    void numberMayBeAnIntOrAFloat() {
        answer(200, "{\"prompt_id\": \"" + PROMPT_ID + "\", \"number\": 5.0, \"node_errors\": {}}");
        assertThat(client.prompt(comfy.baseUrl(), PROMPT_ID, PROMPT).join().number()).isEqualTo(5.0);
        comfy.close();
        answer(200, "{\"prompt_id\": \"" + PROMPT_ID + "\", \"number\": 12, \"node_errors\": {}}");
        assertThat(client.prompt(comfy.baseUrl(), PROMPT_ID, PROMPT).join().number()).isEqualTo(12.0);
    }

    @Test
    void nodeErrorsOfAPartlyValidPromptComeBackAsSent() {
        answer(200, "{\"prompt_id\": \"" + PROMPT_ID + "\", \"number\": 0, \"node_errors\": " + REJECTED_NODE_ERRORS + "}");
        assertThat(client.prompt(comfy.baseUrl(), PROMPT_ID, PROMPT).join().nodeErrorsJson()).isEqualTo(REJECTED_NODE_ERRORS);
    }

    @Test
    void validationFailureIsAPromptRejectedException() {
        answer(400, "{\n  \"error\": " + REJECTED_ERROR + ",\n  \"node_errors\": " + REJECTED_NODE_ERRORS + "\n}");

        Throwable cause = failure(client.prompt(comfy.baseUrl(), PROMPT_ID, PROMPT));

        assertThat(cause).isInstanceOf(PromptRejectedException.class)
                .hasMessageContaining("prompt_outputs_failed_validation").hasMessageContaining("missing.safetensors");
        PromptRejectedException rejected = (PromptRejectedException) cause;
        assertThat(rejected.errorType()).isEqualTo("prompt_outputs_failed_validation");
        assertThat(rejected.errorMessage()).isEqualTo("Prompt outputs failed validation");
        assertThat(rejected.errorJson()).isEqualTo(REJECTED_ERROR);
        assertThat(rejected.nodeErrorsJson()).isEqualTo(REJECTED_NODE_ERRORS);
    }

    @Test
    void unknownNodeIsRejectedWithEmptyNodeErrors() {
        answer(400, "{\"error\": {\"type\": \"invalid_prompt\", \"message\": \"Cannot execute because node Nope does not exist.\","
                + " \"details\": \"Node ID '#7'\", \"extra_info\": {}}, \"node_errors\": {}}");

        PromptRejectedException rejected = (PromptRejectedException) failure(client.prompt(comfy.baseUrl(), PROMPT_ID, PROMPT));

        assertThat(rejected.errorType()).isEqualTo("invalid_prompt");
        assertThat(rejected.nodeErrorsJson()).isEqualTo("{}");
    }

    @Test
    void a400WithoutErrorTypeIsNotARejection() {
        answer(400, "400: Bad Request");
        assertThat(failure(client.prompt(comfy.baseUrl(), PROMPT_ID, PROMPT)))
                .isExactlyInstanceOf(ComfyUiException.class).hasMessageContaining("HTTP 400");
    }

    @Test
    void serverErrorsAreUnavailableWithTheirStatus() {
        answer(500, "500 Internal Server Error\n\nServer got itself in trouble");
        assertThat(unavailable(client.prompt(comfy.baseUrl(), PROMPT_ID, PROMPT)).status()).isEqualTo(500);
        comfy.close();
        answer(502, "<html><body>502 Bad Gateway</body></html>");
        assertThat(unavailable(client.prompt(comfy.baseUrl(), PROMPT_ID, PROMPT)).status()).isEqualTo(502);
    }

    @Test
    void refusedConnectionIsUnavailableWithoutStatus() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        assertThat(unavailable(client.prompt("http://127.0.0.1:" + port, PROMPT_ID, PROMPT)).status()).isZero();
    }

    @Test
    void noAnswerInTimeIsUnavailableWithoutStatus() {
        comfy = FakeComfyUi.start(vertx, router -> router.post("/prompt").handler(ctx -> {
            // never answers
        }));
        try (ComfyUiClient impatient = new ComfyUiClient("orch-1", Duration.ofMillis(200))) {
            assertThat(unavailable(impatient.prompt(comfy.baseUrl(), PROMPT_ID, PROMPT)).status()).isZero();
        }
    }

    @Test
    void trailingSlashOfTheBaseUrlIsHarmless() {
        answer(200, "{\"prompt_id\": \"" + PROMPT_ID + "\", \"number\": 1, \"node_errors\": {}}");
        assertThat(client.prompt(comfy.baseUrl() + "/", PROMPT_ID, PROMPT).join().promptId()).isEqualTo(PROMPT_ID);
    }

    /** The future's own exception, as whenComplete/handle see it; join() wraps the same instance. */
    static Throwable failure(CompletableFuture<?> future) {
        Throwable direct = future.handle((value, error) -> error).join();
        assertThat(catchThrowable(future::join)).isInstanceOf(CompletionException.class).hasCause(direct);
        return direct;
    }

    static ComfyUiUnavailableException unavailable(CompletableFuture<?> future) {
        Throwable cause = failure(future);
        assertThat(cause).isInstanceOf(ComfyUiUnavailableException.class);
        return (ComfyUiUnavailableException) cause;
    }
}
