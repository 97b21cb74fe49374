package dev.comfyless.comfyui;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;

/** Parses a {@code GET /history/{id}} answer (docs/comfyui-api.md, "History"). */
final class HistoryParser {

    private HistoryParser() {
    }

    /** The entry under {@code promptId}; empty for {@code {}}, which ComfyUI answers while the prompt is pending or running. */
    static Optional<HistoryEntry> parse(String promptId, String body) {
        try (JsonParser p = JsonText.parser(body)) {
            JsonText.openObject(p);
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                boolean ours = promptId.equals(p.currentName());
                p.nextToken();
                if (ours && p.currentToken() == JsonToken.START_OBJECT) {
                    int start = (int) p.currentTokenLocation().getCharOffset();
                    JsonNode entry = JsonText.MAPPER.readTree(p);
                    String raw = body.substring(start, (int) p.currentLocation().getCharOffset());
                    return Optional.of(entry(promptId, entry, raw));
                }
                p.skipChildren();
            }
            return Optional.empty();
        } catch (IOException e) {
            throw new ComfyUiException("Unreadable history answer for " + promptId + ": " + e.getMessage(), e);
        }
    }

    private static HistoryEntry entry(String promptId, JsonNode entry, String raw) {
        JsonNode status = entry.path("status");
        ExecutionError error = null;
        boolean interrupted = false;
        long start = -1;
        long last = -1;
        // a failed run's messages end with execution_error or execution_interrupted
        for (JsonNode message : status.path("messages")) {
            String event = message.path(0).asText();
            if (event.equals("execution_error")) {
                error = ExecutionError.from(message.path(1));
            } else if (event.equals("execution_interrupted")) {
                interrupted = true;
            }
            JsonNode timestamp = message.path(1).path("timestamp");
            if (timestamp.canConvertToLong()) {
                if (event.equals("execution_start")) {
                    start = timestamp.asLong();
                }
                last = Math.max(last, timestamp.asLong());
            }
        }
        JsonNode outputs = entry.path("outputs");
        return new HistoryEntry(promptId, JsonText.text(status, "status_str"), status.path("completed").asBoolean(),
                outputs(outputs), texts(outputs), Optional.ofNullable(error), interrupted,
                start >= 0 && last >= start ? last - start : -1, raw);
    }

    /** The strings under each node's "text" key (PreviewAny and other nodes that show text). */
    private static List<HistoryEntry.TextOutput> texts(JsonNode outputs) {
        List<HistoryEntry.TextOutput> texts = new ArrayList<>();
        for (Map.Entry<String, JsonNode> node : outputs.properties()) {
            for (JsonNode item : node.getValue().path("text")) {
                if (item.isTextual()) {
                    texts.add(new HistoryEntry.TextOutput(node.getKey(), item.asText()));
                }
            }
        }
        return texts;
    }

    /** Every item with a filename under any key ("images", "gifs", "audio"...); other UI values ("text", "animated") are not files. */
    private static List<OutputFile> outputs(JsonNode outputs) {
        List<OutputFile> files = new ArrayList<>();
        for (Map.Entry<String, JsonNode> node : outputs.properties()) {
            for (Map.Entry<String, JsonNode> kind : node.getValue().properties()) {
                if (!kind.getValue().isArray()) {
                    continue;
                }
                for (JsonNode item : kind.getValue()) {
                    JsonNode filename = item.path("filename");
                    if (filename.isTextual()) {
                        files.add(new OutputFile(node.getKey(), kind.getKey(), filename.asText(),
                                item.path("subfolder").asText(""), item.path("type").asText("output")));
                    }
                }
            }
        }
        return files;
    }
}
