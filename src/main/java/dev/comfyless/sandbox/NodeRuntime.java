package dev.comfyless.sandbox;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.IntFunction;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

import dev.comfyless.sandbox.NodeValues.Conditioning;
import dev.comfyless.sandbox.NodeValues.Images;
import dev.comfyless.sandbox.NodeValues.Latent;
import dev.comfyless.sandbox.NodeValues.Loaded;
import dev.comfyless.sandbox.NodeValues.Mask;

/**
 * What each known node does when it runs, reduced to what a client can observe: the values passed along links,
 * KSampler's step count, the PNGs SaveImage and PreviewImage write, and the text PreviewAny shows. Used by one
 * prompt's execution at a time, on the event loop or, for {@link #blocks blocking} nodes, on a worker thread in the
 * context's order.
 */
final class NodeRuntime {

    /** A node about to run: its inputs and the outputs of the nodes that already ran. */
    record Call(String nodeId, NodeType type, ObjectNode inputs, Map<String, List<Object>> upstream,
                ObjectNode prompt, JsonNode extraPngInfo) {
    }

    /** A node's RETURN_TYPES values, and its UI dict (null when it shows nothing). */
    record Result(List<Object> outputs, ObjectNode ui) {
    }

    /** Bigger image batches fail like a GPU out of memory instead of exhausting the simulator's heap. */
    private static final long MAX_PIXELS = 64L << 20;
    private static final String OOM_TIPS = "This error means you ran out of memory on your GPU.\n\n"
            + "TIPS: If the workflow worked before you might have accidentally set the batch_size to a large number.";
    /** PreviewImage's random-suffix alphabet, copied from nodes.py (it has two p's and no w). */
    private static final String PREVIEW_LETTERS = "abcdefghijklmnopqrstupvxyz";
    private static final int UNREADABLE_SIZE = 64;
    /**
     * Up to this many pixels a batch is encoded and written on the event loop: a small PNG costs less than the
     * two thread hops of handing it to a worker, and the benchmark's prompts are small.
     */
    private static final long INLINE_PIXELS = 128 * 128;

    private final DataDirs dirs;
    private final ImageSaver saver;
    /** PreviewImage picks its suffix once per node object, which ComfyUI keeps across prompts per node id. */
    private final Map<String, String> previewSuffixes = new HashMap<>();
    private final Random random = new Random();

    NodeRuntime(DataDirs dirs) {
        this.dirs = dirs;
        this.saver = new ImageSaver(dirs);
    }

    /** Whether the node must run off the event loop: it decodes a file, or encodes and writes a big batch. */
    boolean blocks(Call call) {
        switch (call.type().name()) {
            case "LoadImage":
                return true;
            case "SaveImage":
            case "PreviewImage":
                Images images = (Images) input(call, "images");
                return (long) images.width() * images.height() * images.count() > INLINE_PIXELS;
            default:
                return false;
        }
    }

    /** How many sampler steps the node reports progress for; 0 for nodes without a progress bar. */
    int steps(Call call) {
        return call.type().name().equals("KSampler") ? intInput(call, "steps") : 0;
    }

    Result evaluate(Call call) throws NodeFailure {
        try {
            switch (call.type().name()) {
                case "CheckpointLoaderSimple": {
                    String checkpoint = text(call, "ckpt_name");
                    return outputs(new Loaded("comfy.model_patcher.ModelPatcher", checkpoint),
                            new Loaded("comfy.sd.CLIP", checkpoint), new Loaded("comfy.sd.VAE", checkpoint));
                }
                case "CLIPTextEncode":
                    return outputs(new Conditioning(text(call, "text")));
                case "EmptyLatentImage":
                    // the latent is an eighth of the size, so the decoded image rounds down to a multiple of 8
                    return outputs(new Latent(intInput(call, "width") / 8 * 8, intInput(call, "height") / 8 * 8,
                            intInput(call, "batch_size"), null, null));
                case "KSampler": {
                    Latent latent = (Latent) input(call, "latent_image");
                    Conditioning positive = (Conditioning) input(call, "positive");
                    BigInteger seed = ((JsonNode) input(call, "seed")).bigIntegerValue();
                    return outputs(new Latent(latent.width(), latent.height(), latent.batch(), seed, positive.text()));
                }
                case "VAEDecode": {
                    Latent l = (Latent) input(call, "samples");
                    return outputs(images(l.width(), l.height(), l.batch(), i -> l.seed() == null
                            ? PngPainter.neutral(l.width(), l.height())
                            : PngPainter.sampled(l.width(), l.height(), l.seed(), l.prompt(), i)));
                }
                case "EmptyImage": {
                    int width = intInput(call, "width");
                    int height = intInput(call, "height");
                    int color = intInput(call, "color");
                    return outputs(images(width, height, intInput(call, "batch_size"),
                            i -> PngPainter.flat(width, height, color)));
                }
                case "LoadImage":
                    return loadImage(text(call, "image"));
                case "SaveImage":
                    return ui(saver.save((Images) input(call, "images"), text(call, "filename_prefix"), "output",
                            call.prompt(), call.extraPngInfo()));
                case "PreviewImage":
                    return ui(saver.save((Images) input(call, "images"), "ComfyUI_temp_" + previewSuffix(call.nodeId()),
                            "temp", call.prompt(), call.extraPngInfo()));
                case "PreviewAny":
                    return ui("text", PyJson.array().add(previewText(input(call, "source"))));
                default:
                    throw new NodeFailure("NotImplementedError", call.type().name());
            }
        } catch (IOException | RuntimeException e) {
            throw new NodeFailure("Exception", String.valueOf(e.getMessage()));
        }
    }

    /** execution_error's current_inputs: each input as a list, non-primitive values as Python's str() of them. */
    ObjectNode currentInputs(Call call) {
        ObjectNode inputs = PyJson.object();
        for (Iterator<Map.Entry<String, JsonNode>> it = call.inputs().fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            boolean link = Literals.isLink(e.getValue());
            if (!link && call.type().input(e.getKey()) == null) {
                continue; // ComfyUI passes undeclared literals to no one
            }
            ArrayNode values = inputs.putArray(e.getKey());
            try {
                Object value = input(call, e.getKey());
                if (value instanceof NodeValues.Value v) {
                    values.add(v.pythonStr());
                } else {
                    JsonNode literal = (JsonNode) value;
                    values.add(literal.isContainerNode() ? TextNode.valueOf(PyText.str(literal)) : literal);
                }
            } catch (RuntimeException missing) {
                values.addNull(); // an input the failing node never got
            }
        }
        return inputs;
    }

    /** A link's value from the node that produced it, or a literal converted as validation converted it. */
    private static Object input(Call call, String name) {
        JsonNode value = call.inputs().get(name);
        if (Literals.isLink(value)) {
            return call.upstream().get(value.get(0).textValue()).get(value.get(1).intValue());
        }
        try {
            return Literals.convert(call.type().input(name).type(), Literals.unwrap(value));
        } catch (Literals.ConversionFailure e) {
            throw new IllegalArgumentException(e.getMessage());
        }
    }

    private static String text(Call call, String name) {
        return PyText.str((JsonNode) input(call, name));
    }

    private static int intInput(Call call, String name) {
        return ((JsonNode) input(call, name)).bigIntegerValue().intValueExact();
    }

    private Result loadImage(String name) throws NodeFailure {
        Path file = dirs.imageFile(name);
        if (file == null || !Files.isRegularFile(file)) {
            throw new NodeFailure("FileNotFoundError", "[Errno 2] No such file or directory: " + PyText.repr(name));
        }
        BufferedImage decoded;
        try {
            decoded = ImageIO.read(file.toFile());
        } catch (IOException unreadable) {
            decoded = null;
        }
        BufferedImage rgb = decoded == null
                ? PngPainter.neutral(UNREADABLE_SIZE, UNREADABLE_SIZE) : PngPainter.rgbCopy(decoded);
        return outputs(new Images(rgb.getWidth(), rgb.getHeight(), 1, i -> rgb),
                new Mask(rgb.getWidth(), rgb.getHeight()));
    }

    private static Images images(int width, int height, int count, IntFunction<BufferedImage> frame)
            throws NodeFailure {
        if ((long) width * height * count > MAX_PIXELS) {
            throw new NodeFailure("torch.OutOfMemoryError", String.format(Locale.ROOT,
                    "Allocation on device 0 would exceed allowed memory. (out of memory)\nRequested: %.2f GiB",
                    width * (double) height * count * 12 / (1L << 30)), OOM_TIPS);
        }
        return new Images(width, height, count, frame);
    }

    private String previewSuffix(String nodeId) {
        return previewSuffixes.computeIfAbsent(nodeId, id -> {
            StringBuilder suffix = new StringBuilder(5);
            for (int i = 0; i < 5; i++) {
                suffix.append(PREVIEW_LETTERS.charAt(random.nextInt(PREVIEW_LETTERS.length())));
            }
            return suffix.toString();
        });
    }

    /**
     * PreviewAny.main: a str as it is, str() of an int, float or bool, json.dumps of anything else, 'None' for None.
     * json.dumps fails on the tensors and objects that flow along links, so those fall back to str().
     */
    static String previewText(Object source) {
        if (source instanceof NodeValues.Value value) {
            return value.pythonStr();
        }
        JsonNode v = (JsonNode) source;
        if (v == null || v.isNull()) {
            return "None";
        }
        if (v.isTextual() || v.isNumber() || v.isBoolean()) {
            return PyText.str(v);
        }
        return PyText.jsonDumps(v);
    }

    private static Result outputs(Object... values) {
        return new Result(List.of(values), null);
    }

    private static Result ui(ArrayNode images) {
        return ui("images", images);
    }

    private static Result ui(String key, ArrayNode values) {
        ObjectNode ui = PyJson.object();
        ui.set(key, values);
        return new Result(List.of(), ui);
    }
}
