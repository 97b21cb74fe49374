package dev.comfyless.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.comfyless.sandbox.ComfyUiSimulator.Upload;
import io.vertx.core.Context;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;

/** GET /view and POST /upload/image, with server.py's path checks and statuses. */
final class FileRoutes {

    /** A multipart file part, kept in memory. */
    private record FilePart(String filename, byte[] bytes) {
    }

    private final DataDirs dirs;
    private final UploadStore uploads;
    private final Observations observations;
    private final Freezer freezer;
    private final Context context;

    FileRoutes(DataDirs dirs, Observations observations, Freezer freezer, Context context) {
        this.dirs = dirs;
        this.uploads = new UploadStore(dirs);
        this.observations = observations;
        this.freezer = freezer;
        this.context = context;
    }

    void register(RouteTable routes) {
        routes.get("/view", this::view);
        routes.postStreaming("/upload/image", this::upload);
    }

    /**
     * 404 without filename; 400 for an empty name, a leading "/", ".." anywhere or an unknown type; 403 for a
     * subfolder outside the folder; 404 for a missing file. A " [output]"-style suffix picks the folder over type,
     * and the file's own directory part is dropped, as os.path.basename drops it.
     */
    private void view(RoutingContext ctx) {
        MultiMap query = ctx.queryParams();
        if (!query.contains("filename")) {
            throw new StatusException(404);
        }
        DataDirs.Annotated annotated = dirs.annotated(query.get("filename"));
        String filename = annotated.name();
        if (filename.isEmpty() || filename.startsWith("/") || filename.contains("..")) {
            throw new StatusException(400);
        }
        Path folder = annotated.folder();
        if (folder == null) {
            folder = dirs.byType(query.contains("type") ? query.get("type") : "output");
            if (folder == null) {
                throw new StatusException(400);
            }
        }
        if (query.contains("subfolder")) {
            Path sub = folder.resolve(query.get("subfolder"));
            if (!DataDirs.contains(folder, sub)) {
                throw new StatusException(403);
            }
            folder = sub;
        }
        String name = PyPaths.basename(filename);
        Path file = folder.resolve(name);
        if (name.isEmpty() || !Files.isRegularFile(file)) {
            throw new StatusException(404);
        }
        ctx.response()
                .putHeader("Content-Type", MimeTypes.forView(name))
                .putHeader("Content-Disposition", "filename=\"" + name + "\"")
                .sendFile(file.toString());
    }

    /**
     * Multipart fields image (a file), type, subfolder and overwrite. The parts are kept in memory; the file is
     * written on a worker thread, in order with the context's other file work. An upload still arriving when the
     * server freezes is read on only after the thaw.
     */
    private void upload(RoutingContext ctx) {
        HttpServerRequest request = ctx.request();
        request.setExpectMultipart(true);
        Map<String, FilePart> files = new LinkedHashMap<>();
        long[] size = {0};
        request.uploadHandler(part -> {
            Buffer data = Buffer.buffer();
            part.handler(freezer.guard(chunk -> {
                size[0] += chunk.length();
                if (size[0] > WebSocketHub.MAX_UPLOAD_SIZE && !ctx.response().ended()) {
                    Responses.empty(ctx, 413);
                    request.connection().close();
                }
                data.appendBuffer(chunk);
            }));
            part.endHandler(freezer.guard(end -> files.putIfAbsent(part.name(),
                    new FilePart(part.filename(), data.getBytes()))));
        });
        request.endHandler(freezer.guard(end -> {
            if (ctx.response().ended()) {
                return;
            }
            FilePart image = files.get("image");
            MultiMap form = request.formAttributes();
            context.executeBlocking(() -> store(image, form), true).onComplete(freezer.guard(stored -> {
                if (stored.failed()) {
                    RouteTable.fail(ctx, stored.cause());
                    return;
                }
                Upload upload = stored.result();
                observations.uploaded(upload);
                Responses.json(ctx, PyJson.write(PyJson.object().put("name", upload.name())
                        .put("subfolder", upload.subfolder()).put("type", upload.type())));
            }));
        }));
    }

    private Upload store(FilePart image, MultiMap form) throws IOException {
        if (image == null) {
            throw new StatusException(400);
        }
        String overwrite = form.get("overwrite");
        UploadStore.Stored stored = uploads.store(form.get("type"),
                form.contains("subfolder") ? form.get("subfolder") : "", image.filename(), image.bytes(),
                "true".equals(overwrite) || "1".equals(overwrite));
        return new Upload(stored.name(), stored.subfolder(), stored.type(), image.bytes());
    }
}
