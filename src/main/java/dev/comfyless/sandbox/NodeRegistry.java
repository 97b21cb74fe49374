package dev.comfyless.sandbox;

import java.math.BigInteger;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The node classes the simulator knows, declared as ComfyUI's nodes.py declares them (inputs, options, tooltips,
 * categories), in nodes.py's order so /object_info lists them as ComfyUI does, then the built-in extra PreviewAny.
 */
final class NodeRegistry {

    static final List<String> CHECKPOINTS = List.of(
            "flux1-dev-fp8.safetensors", "v1-5-pruned-emaonly.safetensors", "sd_xl_base_1.0.safetensors");
    static final List<String> SAMPLERS = List.of("euler", "euler_cfg_pp", "euler_ancestral",
            "euler_ancestral_cfg_pp", "heun", "heunpp2", "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast",
            "dpm_adaptive", "dpmpp_2s_ancestral", "dpmpp_2s_ancestral_cfg_pp", "dpmpp_sde", "dpmpp_sde_gpu",
            "dpmpp_2m", "dpmpp_2m_cfg_pp", "dpmpp_2m_sde", "dpmpp_2m_sde_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu",
            "ddpm", "lcm", "ipndm", "ipndm_v", "deis", "res_multistep", "res_multistep_cfg_pp",
            "res_multistep_ancestral", "res_multistep_ancestral_cfg_pp", "gradient_estimation",
            "gradient_estimation_cfg_pp", "er_sde", "seeds_2", "seeds_3", "sa_solver", "sa_solver_pece", "ddim",
            "uni_pc", "uni_pc_bh2");
    static final List<String> SCHEDULERS = List.of("simple", "sgm_uniform", "karras", "exponential",
            "ddim_uniform", "beta", "normal", "linear_quadratic", "kl_optimal");

    /** IO.ANY: an input of this type takes a link from any output, and any literal. */
    static final String ANY = "*";

    private static final int MAX_RESOLUTION = 16384;
    private static final Map<String, String> SAVE_HIDDEN = hidden();

    private final Map<String, NodeType> types = new LinkedHashMap<>();

    NodeRegistry(DataDirs dirs) {
        add(new NodeType("KSampler", "KSampler",
                "Uses the provided model, positive and negative conditioning to denoise the latent image.",
                "sampling", "sample", List.of(
                InputSpec.of("model", "MODEL", opts("tooltip", "The model used for denoising the input latent.")),
                InputSpec.of("seed", "INT", opts("default", 0, "min", 0, "max", new BigInteger("18446744073709551615"),
                        "control_after_generate", true, "tooltip", "The random seed used for creating the noise.")),
                InputSpec.of("steps", "INT", opts("default", 20, "min", 1, "max", 10000,
                        "tooltip", "The number of steps used in the denoising process.")),
                InputSpec.of("cfg", "FLOAT", opts("default", 8.0, "min", 0.0, "max", 100.0, "step", 0.1,
                        "round", 0.01, "tooltip", "The Classifier-Free Guidance scale balances creativity and "
                                + "adherence to the prompt. Higher values result in images more closely matching the "
                                + "prompt however too high values will negatively impact quality.")),
                InputSpec.combo("sampler_name", () -> SAMPLERS, opts("tooltip", "The algorithm used when sampling, "
                        + "this can affect the quality, speed, and style of the generated output.")),
                InputSpec.combo("scheduler", () -> SCHEDULERS,
                        opts("tooltip", "The scheduler controls how noise is gradually removed to form the image.")),
                InputSpec.of("positive", "CONDITIONING", opts("tooltip",
                        "The conditioning describing the attributes you want to include in the image.")),
                InputSpec.of("negative", "CONDITIONING", opts("tooltip",
                        "The conditioning describing the attributes you want to exclude from the image.")),
                InputSpec.of("latent_image", "LATENT", opts("tooltip", "The latent image to denoise.")),
                InputSpec.of("denoise", "FLOAT", opts("default", 1.0, "min", 0.0, "max", 1.0, "step", 0.01,
                        "tooltip", "The amount of denoising applied, lower values will maintain the structure of the "
                                + "initial image allowing for image to image sampling."))),
                Map.of(), List.of("LATENT"), List.of("The denoised latent."), false));
        add(new NodeType("CheckpointLoaderSimple", "Load Checkpoint",
                "Loads a diffusion model checkpoint, diffusion models are used to denoise latents.",
                "loaders", "load_checkpoint", List.of(
                InputSpec.combo("ckpt_name", () -> CHECKPOINTS,
                        opts("tooltip", "The name of the checkpoint (model) to load."))),
                Map.of(), List.of("MODEL", "CLIP", "VAE"), List.of("The model used for denoising latents.",
                        "The CLIP model used for encoding text prompts.",
                        "The VAE model used for encoding and decoding images to and from latent space."), false));
        add(new NodeType("CLIPTextEncode", "CLIP Text Encode (Prompt)",
                "Encodes a text prompt using a CLIP model into an embedding that can be used to guide the diffusion "
                        + "model towards generating specific images.",
                "conditioning", "encode", List.of(
                InputSpec.of("text", "STRING", opts("multiline", true, "dynamicPrompts", true,
                        "tooltip", "The text to be encoded.")),
                InputSpec.of("clip", "CLIP", opts("tooltip", "The CLIP model used for encoding the text."))),
                Map.of(), List.of("CONDITIONING"),
                List.of("A conditioning containing the embedded text used to guide the diffusion model."), false));
        add(new NodeType("VAEDecode", "VAE Decode", "Decodes latent images back into pixel space images.",
                "latent", "decode", List.of(
                InputSpec.of("samples", "LATENT", opts("tooltip", "The latent to be decoded.")),
                InputSpec.of("vae", "VAE", opts("tooltip", "The VAE model used for decoding the latent."))),
                Map.of(), List.of("IMAGE"), List.of("The decoded image."), false));
        add(new NodeType("EmptyLatentImage", "Empty Latent Image",
                "Create a new batch of empty latent images to be denoised via sampling.",
                "latent", "generate", List.of(
                InputSpec.of("width", "INT", opts("default", 512, "min", 16, "max", MAX_RESOLUTION, "step", 8,
                        "tooltip", "The width of the latent images in pixels.")),
                InputSpec.of("height", "INT", opts("default", 512, "min", 16, "max", MAX_RESOLUTION, "step", 8,
                        "tooltip", "The height of the latent images in pixels.")),
                InputSpec.of("batch_size", "INT", opts("default", 1, "min", 1, "max", 4096,
                        "tooltip", "The number of latent images in the batch."))),
                Map.of(), List.of("LATENT"), List.of("The empty latent image batch."), false));
        add(new NodeType("SaveImage", "Save Image", "Saves the input images to your ComfyUI output directory.",
                "image", "save_images", List.of(
                InputSpec.of("images", "IMAGE", opts("tooltip", "The images to save.")),
                InputSpec.of("filename_prefix", "STRING", opts("default", "ComfyUI", "tooltip",
                        "The prefix for the file to save. This may include formatting information such as "
                                + "%date:yyyy-MM-dd% or %Empty Latent Image.width% to include values from nodes."))),
                SAVE_HIDDEN, List.of(), List.of(), true));
        // PreviewImage subclasses SaveImage in nodes.py and so inherits its description
        add(new NodeType("PreviewImage", "Preview Image", "Saves the input images to your ComfyUI output directory.",
                "image", "save_images", List.of(InputSpec.of("images", "IMAGE", null)),
                SAVE_HIDDEN, List.of(), List.of(), true));
        add(new NodeType("LoadImage", "Load Image", "", "image", "load_image", List.of(
                new InputSpec("image", "COMBO", dirs::inputImages, opts("image_upload", true), true)),
                Map.of(), List.of("IMAGE", "MASK"), List.of(), false));
        add(new NodeType("EmptyImage", "EmptyImage", "", "image", "generate", List.of(
                InputSpec.of("width", "INT", opts("default", 512, "min", 1, "max", MAX_RESOLUTION, "step", 1)),
                InputSpec.of("height", "INT", opts("default", 512, "min", 1, "max", MAX_RESOLUTION, "step", 1)),
                InputSpec.of("batch_size", "INT", opts("default", 1, "min", 1, "max", 4096)),
                InputSpec.of("color", "INT", opts("default", 0, "min", 0, "max", 0xFFFFFF, "step", 1,
                        "display", "color"))),
                Map.of(), List.of("IMAGE"), List.of(), false));
        // comfy_extras/nodes_preview_any.py, loaded after nodes.py's classes
        add(new NodeType("PreviewAny", "Preview Any", "", "utils", "main", List.of(
                InputSpec.of("source", ANY, opts())),
                Map.of(), List.of(), List.of(), true, "comfy_extras.nodes_preview_any"));
    }

    /** The node class, or null when ComfyUI would not know it. */
    NodeType find(String name) {
        return types.get(name);
    }

    Collection<NodeType> all() {
        return types.values();
    }

    private void add(NodeType type) {
        types.put(type.name(), type);
    }

    private static Map<String, String> hidden() {
        Map<String, String> hidden = new LinkedHashMap<>();
        hidden.put("prompt", "PROMPT");
        hidden.put("extra_pnginfo", "EXTRA_PNGINFO");
        return hidden;
    }

    /** An options dict in declaration order, as Python keeps it. */
    private static Map<String, Object> opts(Object... keysAndValues) {
        Map<String, Object> options = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            options.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return options;
    }
}
