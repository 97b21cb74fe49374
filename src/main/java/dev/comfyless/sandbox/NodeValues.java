package dev.comfyless.sandbox;

import java.awt.image.BufferedImage;
import java.math.BigInteger;
import java.util.Locale;
import java.util.function.IntFunction;

/** The values that flow along links while a prompt runs: just enough to paint a recognisable picture at the end. */
final class NodeValues {

    private NodeValues() {
    }

    /** Python's str() of the object, which execution_error's current_inputs shows for non-primitive inputs. */
    interface Value {
        String pythonStr();
    }

    /** A loaded MODEL, CLIP or VAE. */
    record Loaded(String pythonClass, String checkpoint) implements Value {
        @Override
        public String pythonStr() {
            return String.format(Locale.ROOT, "<%s object at 0x7f%010x>", pythonClass,
                    checkpoint.hashCode() & 0xffffffffL);
        }
    }

    record Conditioning(String text) implements Value {
        @Override
        public String pythonStr() {
            return "[[tensor(...), {'pooled_output': tensor(...)}]]";
        }
    }

    /** A latent batch, sized in pixels of the image it decodes to; seed and prompt are null until sampled. */
    record Latent(int width, int height, int batch, BigInteger seed, String prompt) implements Value {
        @Override
        public String pythonStr() {
            return "{'samples': tensor(...)}";
        }
    }

    /** An IMAGE batch; frames are painted only when a node saves them. */
    record Images(int width, int height, int count, IntFunction<BufferedImage> frame) implements Value {
        @Override
        public String pythonStr() {
            return "tensor(...)";
        }
    }

    record Mask(int width, int height) implements Value {
        @Override
        public String pythonStr() {
            return "tensor(...)";
        }
    }
}
