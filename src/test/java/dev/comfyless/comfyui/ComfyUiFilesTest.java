package dev.comfyless.comfyui;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

import dev.comfyless.comfyui.ComfyUiClient.Downloaded;
import dev.comfyless.comfyui.ComfyUiClient.UploadedImage;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.FileUpload;
import io.vertx.ext.web.handler.BodyHandler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** GET /view and POST /upload/image (docs/comfyui-api.md, "Files: view and upload"). */
class ComfyUiFilesTest extends AgainstFakeComfyUi {

    @TempDir
    Path dir;

    @Test
    void viewStreamsTheFileAndEncodesTheQuery() throws Exception {
        byte[] image = new byte[5 * 1024 * 1024];
        new Random(7).nextBytes(image);
        AtomicReference<String> query = new AtomicReference<>();
        List<String> params = new ArrayList<>();
        comfy = FakeComfyUi.start(vertx, router -> router.get("/view").handler(ctx -> {
            query.set(ctx.request().query());
            params.add(ctx.request().getParam("filename"));
            params.add(ctx.request().getParam("subfolder"));
            params.add(ctx.request().getParam("type"));
            ctx.response().putHeader("Content-Type", "image/png")
                    .putHeader("Content-Disposition", "filename=\"my image 1.png\"")
                    .end(Buffer.buffer(image));
        }));
        Path target = dir.resolve("out.png");
        Files.write(target, new byte[6 * 1024 * 1024]); // longer than the download: must not leave a tail

        Downloaded downloaded = client.view(comfy.baseUrl(), new OutputFile("9", "images", "my image 1.png", "jobs/a b", "output"), target);

        assertThat(downloaded).isEqualTo(new Downloaded(image.length, "image/png"));
        assertThat(Files.readAllBytes(target)).isEqualTo(image);
        assertThat(params).containsExactly("my image 1.png", "jobs/a b", "output");
        assertThat(query.get()).isEqualTo("filename=my%20image%201.png&subfolder=jobs%2Fa%20b&type=output");
    }

    @Test
    void missingFileIsAFailureButNotUnavailability() {
        comfy = FakeComfyUi.start(vertx, router -> router.get("/view").handler(ctx -> ctx.response().setStatusCode(404).end()));
        Path target = dir.resolve("missing.png");

        assertThatThrownBy(() -> client.view(comfy.baseUrl(), new OutputFile("9", "images", "gone.png", "", "output"), target))
                .isExactlyInstanceOf(ComfyUiException.class).hasMessageContaining("HTTP 404");
        assertThat(target).doesNotExist();
    }

    @Test
    void uploadSendsAMultipartFormComfyUiCanRead() throws Exception {
        byte[] image = new byte[300_000];
        new Random(3).nextBytes(image);
        List<String> received = new ArrayList<>();
        AtomicReference<byte[]> bytes = new AtomicReference<>();
        comfy = FakeComfyUi.start(vertx, router -> router.post("/upload/image")
                .handler(BodyHandler.create().setUploadsDirectory(dir.resolve("uploads").toString()))
                .handler(ctx -> {
                    for (FileUpload upload : ctx.fileUploads()) {
                        received.add(upload.name() + "|" + upload.fileName() + "|" + upload.contentType());
                        bytes.set(vertx.fileSystem().readFileBlocking(upload.uploadedFileName()).getBytes());
                    }
                    received.add("type=" + ctx.request().getFormAttribute("type"));
                    received.add("overwrite=" + ctx.request().getFormAttribute("overwrite"));
                    ctx.response().putHeader("Content-Type", "application/json; charset=utf-8")
                            .end("{\"name\": \"job 1.png\", \"subfolder\": \"\", \"type\": \"input\"}");
                }));

        UploadedImage uploaded = client.uploadImage(comfy.baseUrl(), "job 1.png", image, "image/png");

        assertThat(received).containsExactly("image|job 1.png|image/png", "type=input", "overwrite=true");
        assertThat(bytes.get()).isEqualTo(image);
        assertThat(uploaded).isEqualTo(new UploadedImage("job 1.png", "", "input"));
        assertThat(uploaded.loadImageValue()).isEqualTo("job 1.png");
    }

    @Test
    void loadImageValueCarriesTheSubfolder() {
        comfy = FakeComfyUi.start(vertx, router -> router.post("/upload/image").handler(ctx -> ctx.response()
                .putHeader("Content-Type", "application/json; charset=utf-8")
                .end("{\"name\": \"input_ab12.png\", \"subfolder\": \"jobs/abc\", \"type\": \"input\"}")));

        UploadedImage uploaded = client.uploadImage(comfy.baseUrl(), "input_ab12.png", new byte[] {1, 2, 3}, "image/png");

        assertThat(uploaded.loadImageValue()).isEqualTo("jobs/abc/input_ab12.png");
    }

    @Test
    void uploadRefusedByABootingProxyIsUnavailable() {
        comfy = FakeComfyUi.start(vertx, router -> router.post("/upload/image").handler(ctx -> ctx.response().setStatusCode(502).end("Bad Gateway")));

        assertThatThrownBy(() -> client.uploadImage(comfy.baseUrl(), "a.png", new byte[] {1}, "image/png"))
                .isInstanceOfSatisfying(ComfyUiUnavailableException.class, e -> assertThat(e.status()).isEqualTo(502));
    }
}
