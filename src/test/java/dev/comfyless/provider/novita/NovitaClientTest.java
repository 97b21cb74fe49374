package dev.comfyless.provider.novita;

import static dev.comfyless.provider.novita.FakeNovita.Answer.error;
import static dev.comfyless.provider.novita.FakeNovita.Answer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Requests and answers of the Novita client against a scripted fake, through the real YAML routes. */
class NovitaClientTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** An instance as Get answers it (docs/novita-api.md, "Get an instance"), plus fields no doc mentions (ignored). */
    static final String B3_EXAMPLE = """
            {
              "id": "07ed667185a895bb", "name": "comfy-worker-01", "clusterId": "us-ca-nas-2",
              "clusterName": "US-CA-NAS-2", "productId": "4090.16c62g", "productName": "RTX 4090 24GB",
              "imageUrl": "docker.io/example/comfyui:latest", "imageAuthId": "", "command": "", "entrypoint": "",
              "cpuNum": "16", "memory": "62", "gpuNum": "1", "rootfsSize": 60, "status": "running",
              "statusError": {"state": "", "message": ""}, "network": {"id": "", "ip": ""},
              "portMappings": [
                {"port": 8188, "endpoint": "https://07ed667185a895bb-8188.us-ca-1.gpu-instance.novita.ai", "type": "http"}
              ],
              "volumeMounts": [
                {"type": "local", "size": 60, "id": "", "mountPath": "/workspace"},
                {"type": "network", "size": "100", "id": "384d629d", "mountPath": "/network"}
              ],
              "node": [{"maxRootfsSize": 6144}], "jobs": [],
              "envs": [{"key": "CLI_ARGS", "value": "--listen 0.0.0.0 --port 8188"}],
              "connectComponentSSH": {"sshCommand": "ssh -p 38597 root@35.164.116.189", "password": "x", "isRunning": true},
              "kind": "gpu", "billingMode": "onDemand", "endTime": "-1", "freeStorageSize": 60, "keepDataDay": 0,
              "createdAt": "1700000000", "gpuIds": [0], "somethingNew": {"nested": [1, 2]}
            }""";

    private NovitaHarness h;

    @BeforeEach
    void start() throws Exception {
        h = NovitaHarness.start();
    }

    @AfterEach
    void stop() {
        h.close();
    }

    @Test
    void createSendsTheDocumentedBody() throws Exception {
        h.fake.on("/gpu/instance/create", json(200, "{\"id\":\"07ed667185a895bb\"}"));
        Map<String, String> envs = new LinkedHashMap<>();
        envs.put("CLI_ARGS", "--listen 0.0.0.0 --port 8188");
        envs.put("COMFYLESS_WORKER", "w-1");
        String id = h.client.create(new CreateInstance("comfy-worker-01", "4090.16c62g", 1, 60,
                "docker.io/example/comfyui:latest", envs, "onDemand"));

        assertThat(id).isEqualTo("07ed667185a895bb");
        FakeNovita.Request r = h.fake.requests("/gpu/instance/create").get(0);
        assertThat(r.method()).isEqualTo("POST");
        assertThat(r.headers()).containsEntry("authorization", "Bearer " + NovitaHarness.KEY)
                .containsEntry("content-type", "application/json");
        // nothing of Camel's or of ComfyLess's own bookkeeping goes on the wire
        assertThat(r.headers().keySet()).noneMatch(k -> k.startsWith("camel") || k.startsWith("novita"));
        JsonNode body = MAPPER.readTree(r.body());
        assertThat(body.get("name").asText()).isEqualTo("comfy-worker-01");
        assertThat(body.get("productId").asText()).isEqualTo("4090.16c62g");
        assertThat(body.get("gpuNum").isInt()).isTrue();
        assertThat(body.get("gpuNum").asInt()).isEqualTo(1);
        assertThat(body.get("rootfsSize").asInt()).isEqualTo(60);
        assertThat(body.get("imageUrl").asText()).isEqualTo("docker.io/example/comfyui:latest");
        assertThat(body.get("ports").isTextual()).isTrue();
        assertThat(body.get("ports").asText()).isEqualTo("8188/http");
        assertThat(body.get("kind").asText()).isEqualTo("gpu");
        assertThat(body.get("billingMode").asText()).isEqualTo("onDemand");
        assertThat(body.get("envs").isArray()).isTrue();
        assertThat(body.get("envs").toString()).isEqualTo(
                "[{\"key\":\"CLI_ARGS\",\"value\":\"--listen 0.0.0.0 --port 8188\"},"
                        + "{\"key\":\"COMFYLESS_WORKER\",\"value\":\"w-1\"}]");
    }

    @Test
    void getParsesTheDocumentedExample() {
        h.fake.on("/gpu/instance", json(200, B3_EXAMPLE));
        NovitaInstance i = h.client.get("07ed667185a895bb").orElseThrow();
        assertThat(i.id()).isEqualTo("07ed667185a895bb");
        assertThat(i.name()).isEqualTo("comfy-worker-01");
        assertThat(i.status()).isEqualTo("running");
        assertThat(i.running()).isTrue();
        assertThat(i.statusError()).isNull();
        assertThat(i.productId()).isEqualTo("4090.16c62g");
        assertThat(i.endpoint()).isEqualTo("https://07ed667185a895bb-8188.us-ca-1.gpu-instance.novita.ai");
        FakeNovita.Request r = h.fake.requests("/gpu/instance").get(0);
        assertThat(r.method()).isEqualTo("GET");
        assertThat(r.query()).containsEntry("instanceId", "07ed667185a895bb");
        assertThat(r.headers()).containsEntry("authorization", "Bearer " + NovitaHarness.KEY);
    }

    @Test
    void getTakesABareHostEndpointAsHttpsAndNoPortMappingsAsNoEndpoint() {
        String bare = B3_EXAMPLE.replace("\"https://07ed667185a895bb-8188", "\"07ed667185a895bb-8188")
                .replace("\"node\": [{\"maxRootfsSize\": 6144}]", "\"node\": {\"maxRootfsSize\": 6144}");
        String starting = B3_EXAMPLE.replaceAll("(?s)\"portMappings\": \\[.*?\\],", "")
                .replace("\"status\": \"running\"", "\"status\": \"pulling\"")
                .replace("\"statusError\": {\"state\": \"\", \"message\": \"\"}",
                        "\"statusError\": {\"state\": \"pulling\", \"message\": \"image not found\"}");
        assertThat(starting).doesNotContain("portMappings");
        h.fake.on("/gpu/instance", json(200, bare), json(200, starting));

        assertThat(h.client.get("07ed667185a895bb").orElseThrow().endpoint())
                .isEqualTo("https://07ed667185a895bb-8188.us-ca-1.gpu-instance.novita.ai");
        NovitaInstance pulling = h.client.get("07ed667185a895bb").orElseThrow();
        assertThat(pulling.endpoint()).isNull();
        assertThat(pulling.status()).isEqualTo("pulling");
        assertThat(pulling.statusError()).isEqualTo("image not found");
    }

    @Test
    void instanceIdsAreEscapedInTheQuery() {
        h.fake.on("/gpu/instance", json(200, B3_EXAMPLE));
        h.client.get("a b&c=d/é");
        assertThat(h.fake.requests("/gpu/instance").get(0).query()).containsEntry("instanceId", "a b&c=d/é")
                .hasSize(1);
    }

    @Test
    void aMissingInstanceIsGoneForGetAndDelete() {
        h.fake.on("/gpu/instance", error(400, "RESOURCE_NOT_FOUND", "instance not found"));
        h.fake.on("/gpu/instance/delete", error(400, "RESOURCE_NOT_FOUND", "instance not found"));
        assertThat(h.client.get("07ed667185a895bb")).isEmpty();
        h.client.delete("07ed667185a895bb");
        // not retried: "not found" is an answer
        assertThat(h.fake.requests("/gpu/instance")).hasSize(1);
        assertThat(h.fake.requests("/gpu/instance/delete")).hasSize(1);
    }

    @Test
    void aRemovedInstanceIsGone() {
        h.fake.on("/gpu/instance", json(200, B3_EXAMPLE.replace("\"status\": \"running\"", "\"status\": \"removed\"")));
        assertThat(h.client.get("07ed667185a895bb")).isEmpty();
    }

    @Test
    void deleteSendsTheIdAndTakesAnEmptyOrEmptyObjectAnswer() throws Exception {
        h.fake.on("/gpu/instance/delete", json(200, "{}"), new FakeNovita.Answer(200, "", Map.of(), 0));
        h.client.delete("07ed667185a895bb");
        h.client.delete("8097f1658f3e6ad1");
        List<FakeNovita.Request> rs = h.fake.requests("/gpu/instance/delete");
        assertThat(rs).hasSize(2);
        assertThat(rs.get(0).method()).isEqualTo("POST");
        assertThat(MAPPER.readTree(rs.get(0).body()).toString()).isEqualTo("{\"instanceId\":\"07ed667185a895bb\"}");
        assertThat(MAPPER.readTree(rs.get(1).body()).get("instanceId").asText()).isEqualTo("8097f1658f3e6ad1");
    }

    @Test
    void listWalksEveryPage() {
        int total = 250;
        h.fake.onRequest("/gpu/instances", r -> {
            int size = Integer.parseInt(r.query().get("pageSize"));
            int num = Integer.parseInt(r.query().get("pageNum"));
            StringBuilder items = new StringBuilder();
            for (int i = (num - 1) * size; i < Math.min(total, num * size); i++) {
                items.append(items.length() == 0 ? "" : ",").append(B3_EXAMPLE.replace("07ed667185a895bb",
                        String.format("%016x", i)));
            }
            return json(200, "{\"instances\":[" + items + "],\"total\":" + total + ",\"pageSize\":" + size + "}");
        });
        List<NovitaInstance> all = h.client.list("comfy-worker");
        assertThat(all).hasSize(250);
        assertThat(FakeNovita.ids(all)).doesNotHaveDuplicates();
        assertThat(all.get(249).endpoint()).startsWith("https://" + String.format("%016x", 249) + "-8188.");
        List<FakeNovita.Request> rs = h.fake.requests("/gpu/instances");
        assertThat(rs).hasSize(3);
        List<String> pages = new ArrayList<>();
        for (FakeNovita.Request r : rs) {
            assertThat(r.query()).containsEntry("pageSize", "100").containsEntry("name", "comfy-worker");
            pages.add(r.query().get("pageNum"));
        }
        assertThat(pages).containsExactly("1", "2", "3");
    }

    @Test
    void listStopsAtAnEmptyPageAndSendsNoNameWithoutFilter() {
        // a total that overstates what is there (instances deleted meanwhile) ends at the first empty page
        h.fake.on("/gpu/instances", json(200, "{\"instances\":[" + B3_EXAMPLE + "],\"total\":5}"),
                json(200, "{\"instances\":[],\"total\":5}"));
        assertThat(h.client.list(null)).hasSize(1);
        assertThat(h.fake.requests("/gpu/instances")).hasSize(2);
        assertThat(h.fake.requests("/gpu/instances").get(0).query()).doesNotContainKey("name");
    }

    @Test
    void productsAreReadLeniently() {
        h.fake.on("/products", json(200, """
                {"data": [
                  {"id": "4090.16c62g", "name": "RTX 4090 24GB", "cpuPerGpu": 16, "availableDeploy": true,
                   "price": "35000", "monthlyPrice": [{"price": 2310000, "month": 1}], "canBuy": true},
                  {"id": "A100-80GB.14c240g", "name": "A100", "availableDeploy": false, "price": 120000},
                  {"id": "odd", "name": "Odd", "availableDeploy": "true", "price": "n/a"}
                ]}"""));
        assertThat(h.client.products()).containsExactly(
                new NovitaProduct("4090.16c62g", "RTX 4090 24GB", true, 35000),
                new NovitaProduct("A100-80GB.14c240g", "A100", false, 120000),
                new NovitaProduct("odd", "Odd", true, -1));
        assertThat(h.fake.requests("/products").get(0).method()).isEqualTo("GET");
    }

    @Test
    void aRefusalIsNotRetriedAndCarriesNovitasReason() {
        h.fake.on("/gpu/instance/create", error(400, "INSUFFICIENT_RESOURCE", "no GPU available"));
        NovitaException e = catchThrowableOfType(NovitaException.class, () -> h.client.create(
                new CreateInstance("w", "4090.16c62g", 1, 60, "img", Map.of(), null)));
        assertThat(e.retryable()).isFalse();
        assertThat(e.httpStatus()).isEqualTo(400);
        assertThat(e.reason()).isEqualTo("INSUFFICIENT_RESOURCE");
        assertThat(e.getMessage()).isEqualTo("Novita refused create: 400 INSUFFICIENT_RESOURCE: no GPU available");
        assertThat(h.fake.requests("/gpu/instance/create")).hasSize(1);
    }

    @Test
    void unauthorizedIsNotRetriedAndNeverShowsTheKey() {
        // a gateway that echoes what it got must not bring the key into the message
        h.fake.on("/gpu/instance", error(401, "UNAUTHORIZED", "bad key " + NovitaHarness.KEY));
        NovitaException e = catchThrowableOfType(NovitaException.class, () -> h.client.get("x"));
        assertThat(e.retryable()).isFalse();
        assertThat(e.httpStatus()).isEqualTo(401);
        assertThat(e.reason()).isEqualTo("UNAUTHORIZED");
        assertThat(e.getMessage()).doesNotContain(NovitaHarness.KEY).contains("401 UNAUTHORIZED");
        assertThat(h.fake.requests("/gpu/instance")).hasSize(1);
    }

    @Test
    void aNonJsonClientErrorIsARefusalWithoutTheBody() {
        h.fake.on("/gpu/instance", new FakeNovita.Answer(403, "<html><body>Forbidden by WAF</body></html>",
                Map.of("Content-Type", "text/html"), 0));
        NovitaException e = catchThrowableOfType(NovitaException.class, () -> h.client.get("x"));
        assertThat(e.retryable()).isFalse();
        assertThat(e.reason()).isEqualTo("HTTP_403");
        assertThat(e.getMessage()).doesNotContain("<html>");
    }

    @Test
    void theRoutesGetTheCallSettingsWithTheirDefaults() {
        Settings s = Settings.load(k -> Optional.empty());
        assertThat(NovitaClient.routeProperties(s))
                .containsEntry("comfyless.novita.api-url", "https://api.novita.ai/gpu-instance/openapi/v1")
                .containsEntry("comfyless.novita.retries", "4")
                .containsEntry("comfyless.novita.retry-delay-ms", "500")
                .containsEntry("comfyless.novita.max-retry-delay-ms", "30000")
                .containsEntry("comfyless.novita.timeout-ms", "30000")
                .containsEntry("comfyless.novita.breaker-open-seconds", "30")
                .doesNotContainKey("comfyless.novita.api-key");
    }

    @Test
    void baseUrlWithoutSchemeIsHttpsAndATrailingSlashIsDropped() throws Exception {
        assertThat(NovitaClient.apiUrl("api.novita.ai/")).isEqualTo("https://api.novita.ai/gpu-instance/openapi/v1");
        assertThat(NovitaClient.apiUrl("https://api.novita.ai")).isEqualTo(
                "https://api.novita.ai/gpu-instance/openapi/v1");
        Settings s = Settings.load(k -> Optional.ofNullable(
                k.equals(Settings.NOVITA_BASE_URL.key()) ? "api.novita.ai/" : null));
        assertThat(NovitaClient.routeProperties(s)).containsEntry("comfyless.novita.api-url",
                "https://api.novita.ai/gpu-instance/openapi/v1");
        // the harness was given http://127.0.0.1:port/ (with a slash): one slash between base and path
        assertThat(h.context.getEndpoints()).anyMatch(e -> e.getEndpointUri().startsWith(
                h.fake.baseUrl() + "/gpu-instance/openapi/v1"));
        try (NovitaHarness bare = NovitaHarness.start(Map.of(Settings.NOVITA_BASE_URL.key(), "api.novita.ai"))) {
            assertThat(bare.context.getEndpoints()).anyMatch(e -> e.getEndpointUri().startsWith(
                    "https://api.novita.ai/gpu-instance/openapi/v1"));
        }
    }
}
