package dev.comfyless.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

/**
 * /view's path rules, uploads with their rename and overwrite rules, and images flowing from an upload through
 * LoadImage, by plain or annotated ("name [temp]") names.
 */
class ComfyUiSimulatorFilesTest extends AgainstSimulator {

    @Test
    void viewAppliesComfyUisStatusRules() throws Exception {
        Files.write(sim.outputDir().resolve("a.png"), png(4, 4));
        Files.createDirectories(sim.outputDir().resolve("sub"));
        Files.write(sim.outputDir().resolve("sub/b.png"), png(4, 4));
        assertThat(status("/view")).isEqualTo(404);
        assertThat(status("/view?filename=")).isEqualTo(400);
        assertThat(status("/view?filename=%2Fetc%2Fpasswd")).isEqualTo(400);
        assertThat(status("/view?filename=..%2Fa.png")).isEqualTo(400);
        assertThat(status("/view?filename=a..png")).isEqualTo(400);
        assertThat(status("/view?filename=a.png&type=models")).isEqualTo(400);
        assertThat(status("/view?filename=a.png&subfolder=..")).isEqualTo(403);
        assertThat(status("/view?filename=a.png&subfolder=%2Ftmp")).isEqualTo(403);
        assertThat(status("/view?filename=missing.png")).isEqualTo(404);
        assertThat(status("/view?filename=a.png&type=input")).isEqualTo(404);
        assertThat(status("/view?filename=a.png")).isEqualTo(200);
        assertThat(status("/view?filename=b.png&subfolder=sub")).isEqualTo(200);
        // the directory part of filename is dropped, as os.path.basename drops it
        assertThat(status("/view?filename=sub%2Fb.png")).isEqualTo(404);
        HttpResponse<byte[]> empty400 = http.getBytes("/view?filename=");
        assertThat(empty400.body()).isEmpty();
    }

    @Test
    void anAnnotationSuffixPicksTheFolderOverType() throws Exception {
        Files.write(sim.outputDir().resolve("a.png"), png(4, 4));
        assertThat(status("/view?filename=a.png%20%5Boutput%5D&type=input")).isEqualTo(200);
        assertThat(status("/view?filename=a.png%20%5Binput%5D&type=output")).isEqualTo(404);
        assertThat(status("/view?filename=%5Boutput%5D")).isEqualTo(400);
    }

    @Test
    void viewGuessesTheContentTypeFromTheExtension() throws Exception {
        Files.writeString(sim.outputDir().resolve("clip.mp4"), "not really");
        Files.writeString(sim.outputDir().resolve("page.html"), "<html></html>");
        Files.writeString(sim.outputDir().resolve("blob.xyz"), "?");
        assertThat(contentType("/view?filename=clip.mp4")).isEqualTo("video/mp4");
        assertThat(contentType("/view?filename=page.html")).isEqualTo("application/octet-stream");
        assertThat(contentType("/view?filename=blob.xyz")).isEqualTo("application/octet-stream");
        assertThat(http.getBytes("/view?filename=page.html").headers().firstValue("Content-Disposition"))
                .hasValue("filename=\"page.html\"");
    }

    @Test
    void anUploadedImageFlowsThroughLoadImageAtItsOwnSize() throws Exception {
        byte[] upload = png(100, 60);
        HttpResponse<String> response = http.upload(Map.of(), "input_ab12.png", upload);
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body())
                .isEqualTo("{\"name\": \"input_ab12.png\", \"subfolder\": \"\", \"type\": \"input\"}");
        assertThat(sim.uploads()).singleElement().satisfies(u -> {
            assertThat(u.name()).isEqualTo("input_ab12.png");
            assertThat(u.type()).isEqualTo("input");
            assertThat(u.bytes()).isEqualTo(upload);
        });
        JsonNode combo = SimulatorHttp.json(http.get("/object_info/LoadImage"))
                .get("LoadImage").get("input").get("required").get("image").get(0);
        assertThat(combo).extracting(JsonNode::textValue).containsExactly("input_ab12.png");
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "up")) {
            String id = http.submit(Workflows.loadAndSave("input_ab12.png"), "up");
            ws.awaitDone(id);
        }
        BufferedImage saved = ImageIO.read(sim.outputDir().resolve("loaded_00001_.png").toFile());
        assertThat(saved.getWidth()).isEqualTo(100);
        assertThat(saved.getHeight()).isEqualTo(60);
        assertThat(saved.getRGB(10, 10) & 0xffffff).isEqualTo(0x336699);
    }

    @Test
    void loadImageOfAFileNobodyUploadedFailsValidation() {
        HttpResponse<String> response = http.post("/prompt", "{\"prompt\": " + Workflows.loadAndSave("nope.png") + "}");
        assertThat(response.statusCode()).isEqualTo(400);
        JsonNode error = SimulatorHttp.json(response).get("node_errors").get("1").get("errors").get(0);
        assertThat(error).isEqualTo(SimulatorHttp.json("{\"type\": \"custom_validation_failed\", \"message\": "
                + "\"Custom validation failed for node\", \"details\": \"image - Invalid image file: nope.png\", "
                + "\"extra_info\": {\"input_name\": \"image\"}}"));
    }

    @Test
    void uploadsInASubfolderAreLoadedByTheirPath() throws Exception {
        HttpResponse<String> response = http.upload(Map.of("subfolder", "jobs/7"), "pic.png", png(20, 10));
        assertThat(response.body())
                .isEqualTo("{\"name\": \"pic.png\", \"subfolder\": \"jobs/7\", \"type\": \"input\"}");
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "sub")) {
            ws.awaitDone(http.submit(Workflows.loadAndSave("jobs/7/pic.png"), "sub"));
        }
        assertThat(ImageIO.read(sim.outputDir().resolve("loaded_00001_.png").toFile()).getWidth()).isEqualTo(20);
        assertThat(status("/view?filename=pic.png&type=input&subfolder=jobs/7")).isEqualTo(200);
    }

    @Test
    void aNameCollisionIsRenamedUnlessTheContentIsTheSameOrOverwriteIsSet() throws Exception {
        byte[] first = png(4, 4);
        byte[] second = png(5, 5);
        assertThat(name(http.upload(Map.of(), "x.png", first))).isEqualTo("x.png");
        assertThat(name(http.upload(Map.of(), "x.png", first))).isEqualTo("x.png");
        assertThat(name(http.upload(Map.of(), "x.png", second))).isEqualTo("x (1).png");
        assertThat(name(http.upload(Map.of(), "x.png", png(6, 6)))).isEqualTo("x (2).png");
        assertThat(name(http.upload(Map.of("overwrite", "true"), "x.png", second))).isEqualTo("x.png");
        assertThat(sim.outputDir().resolveSibling("input").resolve("x.png")).hasBinaryContent(second);
        assertThat(name(http.upload(Map.of("type", "temp"), "x.png", first))).isEqualTo("x.png");
    }

    @Test
    void aTempUploadIsLoadedByItsAnnotatedNameAndOverwriteReplacesIt() throws Exception {
        HttpResponse<String> response = http.upload(Map.of("type", "temp"), "scratch.png", png(30, 20));
        assertThat(response.body()).isEqualTo("{\"name\": \"scratch.png\", \"subfolder\": \"\", \"type\": \"temp\"}");
        assertThat(tempDir().resolve("scratch.png")).exists();
        assertThat(sim.outputDir().resolveSibling("input").resolve("scratch.png")).doesNotExist();
        // not in input/, so the plain name fails LoadImage's own check; the annotation points it at temp/
        HttpResponse<String> plain = http.post("/prompt", "{\"prompt\": " + Workflows.loadAndSave("scratch.png") + "}");
        assertThat(plain.statusCode()).isEqualTo(400);
        assertThat(plain.body()).contains("Invalid image file: scratch.png");
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "temp")) {
            ws.awaitDone(http.submit(Workflows.loadAndSave("scratch.png [temp]"), "temp"));
            assertThat(ImageIO.read(sim.outputDir().resolve("loaded_00001_.png").toFile()).getWidth()).isEqualTo(30);

            byte[] replacement = png(12, 34);
            assertThat(name(http.upload(Map.of("type", "temp", "overwrite", "true"), "scratch.png", replacement)))
                    .isEqualTo("scratch.png");
            assertThat(tempDir().resolve("scratch.png")).hasBinaryContent(replacement);
            assertThat(http.getBytes("/view?type=temp&filename=scratch.png").body()).isEqualTo(replacement);
            assertThat(name(http.upload(Map.of("type", "temp", "overwrite", "1"), "scratch.png", png(7, 7))))
                    .isEqualTo("scratch.png");
            assertThat(name(http.upload(Map.of("type", "temp", "overwrite", "yes"), "scratch.png", replacement)))
                    .isEqualTo("scratch (1).png");
            ws.awaitDone(http.submit(Workflows.loadAndSave("scratch (1).png [temp]"), "temp"));
            BufferedImage reloaded = ImageIO.read(sim.outputDir().resolve("loaded_00002_.png").toFile());
            assertThat(reloaded.getWidth()).isEqualTo(12);
            assertThat(reloaded.getHeight()).isEqualTo(34);
        }
    }

    @Test
    void loadImageTakesInputAndOutputAnnotationsAndChecksTheNamedFolder() throws Exception {
        http.upload(Map.of(), "in.png", png(9, 9));
        Files.write(sim.outputDir().resolve("made.png"), png(11, 5));
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "ann")) {
            ws.awaitDone(http.submit(Workflows.loadAndSave("in.png [input]"), "ann"));
            ws.awaitDone(http.submit(Workflows.loadAndSave("made.png [output]"), "ann"));
        }
        assertThat(ImageIO.read(sim.outputDir().resolve("loaded_00001_.png").toFile()).getWidth()).isEqualTo(9);
        assertThat(ImageIO.read(sim.outputDir().resolve("loaded_00002_.png").toFile()).getWidth()).isEqualTo(11);
        HttpResponse<String> wrongFolder = http.post("/prompt", "{\"prompt\": "
                + Workflows.loadAndSave("in.png [temp]") + "}");
        assertThat(wrongFolder.statusCode()).isEqualTo(400);
        assertThat(SimulatorHttp.json(wrongFolder).get("node_errors").get("1").get("errors").get(0).get("details")
                .textValue()).isEqualTo("image - Invalid image file: in.png [temp]");
    }

    @Test
    void uploadsWithoutAnImageOrOutsideTheFolderAreRejected() throws Exception {
        assertThat(http.upload(Map.of("type", "input"), null, null).statusCode()).isEqualTo(400);
        assertThat(http.upload(Map.of(), "", png(2, 2)).statusCode()).isEqualTo(400);
        assertThat(http.upload(Map.of("subfolder", "../.."), "x.png", png(2, 2)).statusCode()).isEqualTo(400);
        assertThat(http.upload(Map.of("type", "models"), "x.png", png(2, 2)).statusCode()).isEqualTo(500);
        assertThat(sim.uploads()).isEmpty();
    }

    @Test
    void previewImageWritesToTempWithARandomSuffix() throws Exception {
        String prompt = Workflows.tiny("unused")
                .replace("\"class_type\":\"SaveImage\"", "\"class_type\":\"PreviewImage\"")
                .replace(",\"filename_prefix\":\"unused\"", "");
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "prev")) {
            String id = http.submit(prompt, "prev");
            ws.awaitDone(id);
            JsonNode image = http.history(id).get(id).get("outputs").get("2").get("images").get(0);
            assertThat(image.get("filename").textValue()).matches("ComfyUI_temp_[a-z]{5}_00001_\\.png");
            assertThat(image.get("type").textValue()).isEqualTo("temp");
            assertThat(status("/view?type=temp&filename=" + image.get("filename").textValue())).isEqualTo(200);
        }
    }

    @Test
    void anUnreadableUploadLoadsAsA64PixelSquare() throws Exception {
        http.upload(Map.of(), "broken.png", "not a png".getBytes());
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "broken")) {
            ws.awaitDone(http.submit(Workflows.loadAndSave("broken.png"), "broken"));
        }
        BufferedImage saved = ImageIO.read(sim.outputDir().resolve("loaded_00001_.png").toFile());
        assertThat(saved.getWidth()).isEqualTo(64);
        assertThat(saved.getHeight()).isEqualTo(64);
    }

    private Path tempDir() {
        return sim.outputDir().resolveSibling("temp");
    }

    private int status(String path) {
        return http.getBytes(path).statusCode();
    }

    private String contentType(String path) {
        return http.getBytes(path).headers().firstValue("Content-Type").orElseThrow();
    }

    private static String name(HttpResponse<String> response) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return SimulatorHttp.json(response).get("name").textValue();
    }

    private static byte[] png(int width, int height) throws IOException {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                image.setRGB(x, y, 0x336699);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "png", out);
        assertThat(ImageIO.read(new ByteArrayInputStream(out.toByteArray()))).isNotNull();
        return out.toByteArray();
    }
}
