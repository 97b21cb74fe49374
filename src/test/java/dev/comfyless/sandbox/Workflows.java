package dev.comfyless.sandbox;

/** Prompts (API-format workflows) for the simulator tests. */
final class Workflows {

    /** The seed's text-to-image example: 512x512, 20 steps, SaveImage with prefix "ComfyUI". */
    static final String SEED = "{\"3\":{\"class_type\":\"KSampler\",\"inputs\":{\"cfg\":8,\"denoise\":1,"
            + "\"latent_image\":[\"5\",0],\"model\":[\"4\",0],\"negative\":[\"7\",0],\"positive\":[\"6\",0],"
            + "\"sampler_name\":\"euler\",\"scheduler\":\"normal\",\"seed\":46588125086418,\"steps\":20}},"
            + "\"4\":{\"class_type\":\"CheckpointLoaderSimple\","
            + "\"inputs\":{\"ckpt_name\":\"flux1-dev-fp8.safetensors\"}},"
            + "\"5\":{\"class_type\":\"EmptyLatentImage\",\"inputs\":{\"batch_size\":1,\"height\":512,\"width\":512}},"
            + "\"6\":{\"class_type\":\"CLIPTextEncode\",\"inputs\":{\"clip\":[\"4\",1],"
            + "\"text\":\"beautiful scenery nature glass bottle landscape, , purple galaxy bottle,\"}},"
            + "\"7\":{\"class_type\":\"CLIPTextEncode\",\"inputs\":{\"clip\":[\"4\",1],\"text\":\"text, watermark\"}},"
            + "\"8\":{\"class_type\":\"VAEDecode\",\"inputs\":{\"samples\":[\"3\",0],\"vae\":[\"4\",2]}},"
            + "\"9\":{\"class_type\":\"SaveImage\",\"inputs\":{\"filename_prefix\":\"ComfyUI\",\"images\":[\"8\",0]}}}";

    private Workflows() {
    }

    /** The seed workflow with a different step count and filename prefix. */
    static String seed(int steps, String prefix) {
        return SEED.replace("\"steps\":20", "\"steps\":" + steps)
                .replace("\"filename_prefix\":\"ComfyUI\"", "\"filename_prefix\":\"" + prefix + "\"");
    }

    /** The smallest prompt: an 8x8 EmptyImage into SaveImage. */
    static String tiny(String prefix) {
        return "{\"1\":{\"class_type\":\"EmptyImage\",\"inputs\":{\"width\":8,\"height\":8,\"batch_size\":1,"
                + "\"color\":16711680}},\"2\":{\"class_type\":\"SaveImage\",\"inputs\":{\"images\":[\"1\",0],"
                + "\"filename_prefix\":\"" + prefix + "\"}}}";
    }

    /** LoadImage of an uploaded file straight into SaveImage. */
    static String loadAndSave(String image) {
        return "{\"1\":{\"class_type\":\"LoadImage\",\"inputs\":{\"image\":\"" + image + "\"}},"
                + "\"2\":{\"class_type\":\"SaveImage\","
                + "\"inputs\":{\"images\":[\"1\",0],\"filename_prefix\":\"loaded\"}}}";
    }
}
