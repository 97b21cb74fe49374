package dev.comfyless.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

class NovitaSimulatorTest {

    static final Duration DWELL = Duration.ofMillis(20);
    static final Duration WARMUP = Duration.ofMillis(400);

    private static NovitaSimulator sim;
    private static Api api;

    @BeforeAll
    static void start() {
        sim = NovitaSimulator.start(fast());
        api = new Api(sim.apiBaseUrl(), sim.apiKey());
    }

    @AfterAll
    static void stop() {
        sim.close();
    }

    static NovitaSimulator.Options fast() {
        return NovitaSimulator.Options.defaults().withDwells(DWELL).withComfyWarmup(WARMUP)
                .withApiKey("sk_test_key");
    }

    @Test
    void createWalksToRunningAndServesComfyUiWhichWarmsUp() throws Exception {
        HttpResponse<String> created = api.post("/gpu/instance/create", Api.createBody("walk-1"));
        assertThat(created.statusCode()).as(created.body()).isEqualTo(200);
        String id = Api.json(created).get("id").textValue();
        assertThat(id).matches("[0-9a-f]{16}");

        List<String> seen = new ArrayList<>();
        await().pollInterval(Duration.ofMillis(2)).atMost(Duration.ofSeconds(10)).until(() -> {
            String status = api.instance(id).get("status").textValue();
            if (seen.isEmpty() || !seen.get(seen.size() - 1).equals(status)) {
                seen.add(status);
            }
            return status.equals("running");
        });
        assertThat(List.of("toCreate", "creating", "pulling", "running")).containsSubsequence(seen);
        assertThat(seen).contains("pulling").endsWith("running");

        JsonNode mapping = api.instance(id).get("portMappings").get(0);
        assertThat(mapping.get("port").intValue()).isEqualTo(8188);
        assertThat(mapping.get("type").textValue()).isEqualTo("http");
        String endpoint = mapping.get("endpoint").textValue();
        assertThat(endpoint).startsWith("http://127.0.0.1:");
        assertThat(sim.comfyUi(id)).get().extracting(ComfyUiSimulator::baseUrl).isEqualTo(endpoint);

        assertThat(Api.plainGet(endpoint + "/system_stats").statusCode()).isEqualTo(502);
        await().atMost(Duration.ofSeconds(5)).until(() -> Api.plainGet(endpoint + "/system_stats").statusCode() == 200);
    }

    @Test
    void getHasEveryDocumentedFieldWithNovitasTypes() {
        String id = api.createRunning("fields-1");
        JsonNode inst = api.instance(id);
        for (String field : List.of("id", "name", "clusterId", "clusterName", "productId", "productName", "imageUrl",
                "imageAuthId", "command", "entrypoint", "cpuNum", "memory", "gpuNum", "rootfsSize", "status",
                "statusError", "network", "portMappings", "volumeMounts", "node", "jobs", "envs",
                "connectComponentSSH", "connectComponentWebTerminal", "connectComponentJupyter",
                "connectComponentLog", "kind", "billingMode", "endTime", "freeStorageSize", "keepDataDay")) {
            assertThat(inst.has(field)).as(field).isTrue();
        }
        assertThat(inst.get("id").textValue()).isEqualTo(id);
        assertThat(inst.get("name").textValue()).isEqualTo("fields-1");
        assertThat(inst.get("cpuNum").isTextual()).isTrue();
        assertThat(inst.get("cpuNum").textValue()).isEqualTo("16");
        assertThat(inst.get("memory").textValue()).isEqualTo("62");
        assertThat(inst.get("gpuNum").textValue()).isEqualTo("1");
        assertThat(inst.get("rootfsSize").isInt()).isTrue();
        assertThat(inst.get("rootfsSize").intValue()).isEqualTo(60);
        assertThat(inst.get("productId").textValue()).isEqualTo("4090.16c62g");
        assertThat(inst.get("productName").textValue()).isEqualTo("RTX 4090 24GB");
        assertThat(inst.get("statusError").get("state").textValue()).isEmpty();
        assertThat(inst.get("statusError").get("message").textValue()).isEmpty();
        assertThat(inst.get("envs").get(0).get("key").textValue()).isEqualTo("CLI_ARGS");
        assertThat(inst.get("kind").textValue()).isEqualTo("gpu");
        assertThat(inst.get("billingMode").textValue()).isEqualTo("onDemand");
        assertThat(inst.get("endTime").textValue()).isEqualTo("-1");
    }

    @Test
    void rootfsBelowTenIsRaisedAndOtherPortsAreMapped() {
        ObjectNode body = Api.createBody("small-disk");
        body.put("rootfsSize", 3);
        body.put("ports", "8188/http, 22/tcp");
        String id = Api.json(api.post("/gpu/instance/create", body)).get("id").textValue();
        api.awaitStatus(id, "running");
        JsonNode inst = api.instance(id);
        assertThat(inst.get("rootfsSize").intValue()).isEqualTo(10);
        assertThat(inst.get("portMappings")).hasSize(2);
        assertThat(inst.get("portMappings").get(1).get("port").intValue()).isEqualTo(22);
        assertThat(inst.get("portMappings").get(1).get("type").textValue()).isEqualTo("tcp");
    }

    @Test
    void listPagesFromZeroOrOneAndFiltersByNameFragment() {
        for (String name : List.of("pg-alpha-1", "pg-alpha-2", "pg-alpha-3", "pg-beta-1")) {
            api.create(name);
        }
        JsonNode page0 = Api.json(api.get("/gpu/instances?pageSize=2&pageNum=0&name=pg-alpha"));
        JsonNode page1 = Api.json(api.get("/gpu/instances?pageSize=2&pageNum=1&name=pg-alpha"));
        JsonNode page2 = Api.json(api.get("/gpu/instances?pageSize=2&pageNum=2&name=pg-alpha&bogus=1"));
        assertThat(page0.get("total").intValue()).isEqualTo(3);
        assertThat(names(page0)).containsExactly("pg-alpha-1", "pg-alpha-2");
        assertThat(names(page1)).containsExactly("pg-alpha-1", "pg-alpha-2");
        assertThat(names(page2)).containsExactly("pg-alpha-3");
        assertThat(page2.get("total").intValue()).isEqualTo(3);

        JsonNode fuzzy = Api.json(api.get("/gpu/instances?pageSize=50&pageNum=1&name=BETA"));
        assertThat(names(fuzzy)).containsExactly("pg-beta-1");
        JsonNode byProduct = Api.json(api.get("/gpu/instances?pageSize=50&pageNum=1&name=pg-&productName=4090"));
        assertThat(byProduct.get("total").intValue()).isEqualTo(4);
        JsonNode item = page0.get("instances").get(0);
        assertThat(item.get("cpuNum").isTextual()).isTrue();
        assertThat(item.get("productName").textValue()).isEqualTo("RTX 4090 24GB");
    }

    @Test
    void listFiltersByStatus() {
        String id = api.createRunning("st-filter-1");
        JsonNode running = Api.json(api.get("/gpu/instances?pageSize=50&pageNum=1&name=st-filter&status=running"));
        assertThat(names(running)).containsExactly("st-filter-1");
        JsonNode exited = Api.json(api.get("/gpu/instances?pageSize=50&pageNum=1&name=st-filter&status=exited"));
        assertThat(exited.get("total").intValue()).isZero();
        assertThat(exited.get("instances")).isEmpty();
        assertThat(id).isNotEmpty();
    }

    @Test
    void deleteWalksToRemovedThenNotFoundAndKillsComfyUi() {
        String id = api.createRunning("del-1");
        String endpoint = api.endpoint(id);
        int deletesBefore = sim.deleteCount();

        HttpResponse<String> deleted = api.post("/gpu/instance/delete", "{\"instanceId\":\"" + id + "\"}");
        assertThat(deleted.statusCode()).isEqualTo(200);
        assertThat(deleted.body()).isEqualTo("{}");
        assertThat(deleted.headers().firstValue("Content-Type")).get().asString().startsWith("application/json");
        assertThat(sim.deleteCount()).isEqualTo(deletesBefore + 1);
        assertThat(sim.comfyUi(id)).isEmpty();
        assertThat(sim.liveInstances()).extracting(NovitaSimulator.InstanceInfo::id).doesNotContain(id);
        assertThat(api.instance(id).get("status").textValue()).isIn("toRemove", "removing");
        assertThat(api.instance(id).get("portMappings")).isEmpty();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThatThrownBy(() -> Api.plainGet(endpoint + "/system_stats")).isInstanceOf(IOException.class));

        await().atMost(Duration.ofSeconds(5)).until(() -> api.get("/gpu/instance?instanceId=" + id).statusCode() == 400);
        Api.assertError(api.get("/gpu/instance?instanceId=" + id), 400, "RESOURCE_NOT_FOUND");
        assertThat(sim.instances()).extracting(NovitaSimulator.InstanceInfo::id).doesNotContain(id);
        Api.assertError(api.post("/gpu/instance/delete", "{\"instanceId\":\"" + id + "\"}"), 400,
                "RESOURCE_NOT_FOUND");
    }

    @Test
    void removedInstancesCanStayReadable() {
        try (NovitaSimulator keeping = NovitaSimulator.start(fast().withKeepRemovedReadable(true))) {
            Api keep = new Api(keeping.apiBaseUrl(), keeping.apiKey());
            String id = keep.create("keep-1");
            keep.post("/gpu/instance/delete", "{\"instanceId\":\"" + id + "\"}");
            keep.awaitStatus(id, "removed");
            await().during(Duration.ofMillis(150)).atMost(Duration.ofSeconds(2))
                    .until(() -> keep.instance(id).get("status").textValue().equals("removed"));
            JsonNode list = Api.json(keep.get("/gpu/instances?pageSize=10&pageNum=1&status=removed"));
            assertThat(names(list)).containsExactly("keep-1");
        }
    }

    @Test
    void bareHostEndpointsHaveNoScheme() {
        try (NovitaSimulator bare = NovitaSimulator.start(fast().withBareHostEndpoints(true))) {
            Api bareApi = new Api(bare.apiBaseUrl(), bare.apiKey());
            String id = bareApi.createRunning("bare-1");
            String endpoint = bareApi.endpoint(id);
            assertThat(endpoint).matches("127\\.0\\.0\\.1:\\d+");
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> Api.plainGet("http://" + endpoint + "/system_stats").statusCode() == 200);
        }
    }

    @Test
    void missingOrWrongBearerIsUnauthorized() {
        HttpResponse<String> none = Api.send(HttpRequest.newBuilder(URI.create(sim.apiBaseUrl() + "/products")).GET());
        Api.assertError(none, 401, "UNAUTHORIZED");
        Api.assertError(new Api(sim.apiBaseUrl(), "sk_wrong").get("/products"), 401, "UNAUTHORIZED");
        HttpResponse<String> noScheme = Api.send(HttpRequest.newBuilder(URI.create(sim.apiBaseUrl() + "/products"))
                .header("Authorization", sim.apiKey()).GET());
        Api.assertError(noScheme, 401, "UNAUTHORIZED");
        Api.assertError(new Api(sim.apiBaseUrl(), "sk_wrong").post("/gpu/instance/create",
                Api.createBody("nope")), 401, "UNAUTHORIZED");
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"gpuNum\":1,\"rootfsSize\":60,\"imageUrl\":\"img\",\"kind\":\"gpu\"}",
            "{\"productId\":\"\",\"gpuNum\":1,\"rootfsSize\":60,\"imageUrl\":\"img\",\"kind\":\"gpu\"}",
            "{\"productId\":\"4090.16c62g\",\"rootfsSize\":60,\"imageUrl\":\"img\",\"kind\":\"gpu\"}",
            "{\"productId\":\"4090.16c62g\",\"gpuNum\":0,\"rootfsSize\":60,\"imageUrl\":\"img\",\"kind\":\"gpu\"}",
            "{\"productId\":\"4090.16c62g\",\"gpuNum\":9,\"rootfsSize\":60,\"imageUrl\":\"img\",\"kind\":\"gpu\"}",
            "{\"productId\":\"4090.16c62g\",\"gpuNum\":\"1\",\"rootfsSize\":60,\"imageUrl\":\"img\",\"kind\":\"gpu\"}",
            "{\"productId\":\"4090.16c62g\",\"gpuNum\":1,\"imageUrl\":\"img\",\"kind\":\"gpu\"}",
            "{\"productId\":\"4090.16c62g\",\"gpuNum\":1,\"rootfsSize\":6145,\"imageUrl\":\"img\",\"kind\":\"gpu\"}",
            "{\"productId\":\"4090.16c62g\",\"gpuNum\":1,\"rootfsSize\":60,\"kind\":\"gpu\"}",
            "{\"productId\":\"4090.16c62g\",\"gpuNum\":1,\"rootfsSize\":60,\"imageUrl\":\"img\"}",
            "{\"productId\":\"4090.16c62g\",\"gpuNum\":1,\"rootfsSize\":60,\"imageUrl\":\"img\",\"kind\":\"tpu\"}",
            "{\"productId\":\"4090.16c62g\",\"gpuNum\":1,\"rootfsSize\":60,\"imageUrl\":\"img\",\"kind\":\"gpu\","
                    + "\"ports\":\"8188\"}",
            "{\"productId\":\"4090.16c62g\",\"gpuNum\":1,\"rootfsSize\":60,\"imageUrl\":\"img\",\"kind\":\"gpu\","
                    + "\"ports\":\"8188/udp\"}",
            "{\"productId\":\"4090.16c62g\",\"gpuNum\":1,\"rootfsSize\":60,\"imageUrl\":\"img\",\"kind\":\"gpu\","
                    + "\"ports\":\"8188/http, 2223/tcp\"}",
            "{\"productId\":\"4090.16c62g\",\"gpuNum\":1,\"rootfsSize\":60,\"imageUrl\":\"img\",\"kind\":\"gpu\","
                    + "\"ports\":\"70000/tcp\"}",
            "{\"productId\":\"4090.16c62g\",\"gpuNum\":1,\"rootfsSize\":60,\"imageUrl\":\"img\",\"kind\":\"gpu\","
                    + "\"ports\":[{\"port\":8188}]}",
            "{\"productId\":\"4090.16c62g\",\"gpuNum\":1,\"rootfsSize\":60,\"imageUrl\":\"img\",\"kind\":\"gpu\","
                    + "\"ports\":\"1/tcp,2/tcp,3/tcp,4/tcp,5/tcp,6/tcp,7/tcp,8/tcp,9/tcp,10/tcp,11/tcp,12/tcp,13/tcp,"
                    + "14/tcp,15/tcp,16/tcp\"}",
            "[1, 2]",
            "not json"})
    void invalidCreatesAreValidatorParam(String body) {
        int before = sim.createCount();
        Api.assertError(api.post("/gpu/instance/create", body), 400, "VALIDATOR_PARAM");
        assertThat(sim.createCount()).isEqualTo(before);
    }

    @Test
    void unknownProductOrInstanceIsResourceNotFound() {
        ObjectNode body = Api.createBody("unknown-product");
        body.put("productId", "H200.99c999g");
        Api.assertError(api.post("/gpu/instance/create", body), 400, "RESOURCE_NOT_FOUND");
        Api.assertError(api.get("/gpu/instance?instanceId=0123456789abcdef"), 400, "RESOURCE_NOT_FOUND");
        Api.assertError(api.get("/gpu/instance"), 400, "VALIDATOR_PARAM");
        Api.assertError(api.post("/gpu/instance/stop", "{\"instanceId\":\"0123456789abcdef\"}"), 400,
                "RESOURCE_NOT_FOUND");
    }

    @Test
    void soldOutProductIsInsufficientResource() {
        ObjectNode body = Api.createBody("sold-out");
        body.put("productId", "3090.8c30g");
        Api.assertError(api.post("/gpu/instance/create", body), 400, "INSUFFICIENT_RESOURCE");
    }

    @Test
    void productsAndClusters() {
        JsonNode products = Api.json(api.get("/products"));
        assertThat(products.get("data").size()).isGreaterThanOrEqualTo(2);
        JsonNode rtx = products.get("data").get(0);
        assertThat(rtx.get("id").textValue()).isEqualTo("4090.16c62g");
        assertThat(rtx.get("name").textValue()).isEqualTo("RTX 4090 24GB");
        assertThat(rtx.get("price").isTextual()).isTrue();
        assertThat(rtx.get("price").textValue()).isEqualTo("35000");
        assertThat(rtx.get("availableDeploy").booleanValue()).isTrue();
        for (String field : List.of("cpuPerGpu", "memoryPerGpu", "diskPerGpu", "minRootFS", "maxRootFS",
                "minLocalStorage", "maxLocalStorage", "regions", "monthlyPrice", "billingMethods", "spotPrice",
                "inventoryState")) {
            assertThat(rtx.has(field)).as(field).isTrue();
        }
        assertThat(products.get("data").findValuesAsText("id")).contains("A100-80GB.14c240g");
        JsonNode filtered = Api.json(api.get("/products?productName=4090&billingMethod=onDemand"));
        assertThat(filtered.get("data").findValuesAsText("id")).containsExactly("4090.16c62g");

        JsonNode clusters = Api.json(api.get("/clusters"));
        JsonNode cluster = clusters.get("data").get(0);
        assertThat(cluster.get("id").textValue()).isEqualTo("us-ca-nas-2");
        assertThat(cluster.get("availableGpuType").isArray()).isTrue();
        assertThat(cluster.get("supportNetworkStorage").isBoolean()).isTrue();
        assertThat(cluster.get("supportInstanceNetwork").isBoolean()).isTrue();
    }

    @Test
    void stopStartRestart() {
        String id = api.createRunning("ssr-1");
        String body = "{\"instanceId\":\"" + id + "\"}";
        assertThat(api.post("/gpu/instance/stop", body).statusCode()).isEqualTo(200);
        api.awaitStatus(id, "exited");
        assertThat(sim.comfyUi(id)).isEmpty();
        Api.assertError(api.post("/gpu/instance/stop", body), 400, "DEPENDENT_RESOURCE_STATE");
        assertThat(api.post("/gpu/instance/start", body).statusCode()).isEqualTo(200);
        api.awaitStatus(id, "running");
        assertThat(sim.comfyUi(id)).isPresent();
        assertThat(api.post("/gpu/instance/restart", body).statusCode()).isEqualTo(200);
        assertThat(api.instance(id).get("status").textValue()).isIn("toRestart", "restarting");
        api.awaitStatus(id, "running");
        assertThat(api.endpoint(id)).startsWith("http://127.0.0.1:");
    }

    @Test
    void seededInstancesBelongToSomeoneElseAndRun() {
        String id = sim.seedInstance("someone-else-7", "running");
        JsonNode inst = api.instance(id);
        assertThat(inst.get("status").textValue()).isEqualTo("running");
        assertThat(inst.get("portMappings").get(0).get("port").intValue()).isEqualTo(8188);
        assertThat(sim.comfyUi(id)).isPresent();
        String exited = sim.seedInstance("someone-else-8", "exited");
        assertThat(api.instance(exited).get("status").textValue()).isEqualTo("exited");
        assertThat(names(Api.json(api.get("/gpu/instances?pageSize=10&pageNum=1&name=someone-else"))))
                .containsExactly("someone-else-7", "someone-else-8");
        assertThat(sim.instance(id)).get().extracting(NovitaSimulator.InstanceInfo::name).isEqualTo("someone-else-7");
    }

    @Test
    void countsRequestsAndCreates() {
        int requests = sim.requestCount();
        int creates = sim.createCount();
        api.create("count-1");
        api.get("/products");
        assertThat(sim.createCount()).isEqualTo(creates + 1);
        assertThat(sim.requestCount()).isGreaterThanOrEqualTo(requests + 2);
        assertThat(sim.baseUrl()).matches("http://127\\.0\\.0\\.1:\\d+");
        assertThat(sim.apiBaseUrl()).isEqualTo(sim.baseUrl() + "/gpu-instance/openapi/v1");
    }

    @Test
    void mainParsesItsCommandLine() {
        NovitaSimulator.Options o = NovitaSimulatorMain.parse(new String[] {"--port", "9000", "--api-key",
                "sk_test", "--boot-ms", "3000", "--step-ms", "50", "--keep-removed", "true"});
        assertThat(o.port()).isEqualTo(9000);
        assertThat(o.apiKey()).isEqualTo("sk_test");
        assertThat(o.comfyWarmup()).isEqualTo(Duration.ofSeconds(3));
        assertThat(o.comfyStepTime()).isEqualTo(Duration.ofMillis(50));
        assertThat(o.keepRemovedReadable()).isTrue();
        assertThatThrownBy(() -> NovitaSimulatorMain.parse(new String[] {"--bogus", "1"}))
                .isInstanceOf(IllegalArgumentException.class);
    }

    static List<String> names(JsonNode list) {
        List<String> names = new ArrayList<>();
        list.get("instances").forEach(i -> names.add(i.get("name").textValue()));
        return names;
    }

    /** A java.net.http client for the simulated Novita API, with the bearer key. */
    static final class Api {

        static final ObjectMapper JSON = new ObjectMapper();
        private static final HttpClient CLIENT = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(5)).version(HttpClient.Version.HTTP_1_1).build();

        private final String base;
        private final String key;

        Api(String base, String key) {
            this.base = base;
            this.key = key;
        }

        HttpResponse<String> get(String path) {
            return send(request(path).GET());
        }

        HttpResponse<String> post(String path, Object body) {
            return send(request(path).POST(HttpRequest.BodyPublishers.ofString(body.toString())));
        }

        /** Throws what the HTTP client throws, for lost responses. */
        HttpResponse<String> postRaw(String path, Object body) throws IOException, InterruptedException {
            return CLIENT.send(request(path).POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
                    HttpResponse.BodyHandlers.ofString());
        }

        String create(String name) {
            HttpResponse<String> response = post("/gpu/instance/create", createBody(name));
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            return json(response).get("id").textValue();
        }

        String createRunning(String name) {
            String id = create(name);
            awaitStatus(id, "running");
            return id;
        }

        JsonNode instance(String id) {
            HttpResponse<String> response = get("/gpu/instance?instanceId=" + enc(id));
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            return json(response);
        }

        void awaitStatus(String id, String status) {
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5))
                    .until(() -> instance(id).get("status").textValue().equals(status));
        }

        String endpoint(String id) {
            return instance(id).get("portMappings").get(0).get("endpoint").textValue();
        }

        static ObjectNode createBody(String name) {
            ObjectNode body = JSON.createObjectNode();
            body.put("name", name);
            body.put("productId", "4090.16c62g");
            body.put("gpuNum", 1);
            body.put("rootfsSize", 60);
            body.put("imageUrl", "docker.io/example/comfyui:latest");
            body.put("imageAuthId", "");
            body.put("ports", "8188/http");
            body.putArray("envs").addObject().put("key", "CLI_ARGS").put("value", "--listen 0.0.0.0 --port 8188");
            body.put("command", "");
            body.put("kind", "gpu");
            body.put("billingMode", "onDemand");
            body.put("month", 0);
            return body;
        }

        static HttpResponse<String> plainGet(String url) throws IOException, InterruptedException {
            return CLIENT.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
        }

        static HttpResponse<String> send(HttpRequest.Builder request) {
            try {
                return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        static JsonNode json(HttpResponse<String> response) {
            try {
                return JSON.readTree(response.body());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        static void assertError(HttpResponse<String> response, int status, String reason) {
            assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
            JsonNode body = json(response);
            assertThat(body.get("code").intValue()).isEqualTo(status);
            assertThat(body.get("reason").textValue()).isEqualTo(reason);
            assertThat(body.get("message").isTextual()).isTrue();
            assertThat(body.get("metadata").isObject()).isTrue();
            assertThat(Set.copyOf(iterable(body))).containsExactlyInAnyOrder("code", "reason", "message", "metadata");
        }

        private static List<String> iterable(JsonNode body) {
            List<String> names = new ArrayList<>();
            body.fieldNames().forEachRemaining(names::add);
            return names;
        }

        private HttpRequest.Builder request(String path) {
            return HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10))
                    .header("Authorization", "Bearer " + key).header("Content-Type", "application/json");
        }

        private static String enc(String s) {
            return URLEncoder.encode(s, StandardCharsets.UTF_8);
        }
    }
}
