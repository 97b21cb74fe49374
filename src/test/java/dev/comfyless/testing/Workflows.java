package dev.comfyless.testing;

/** Request bodies used across tests. */
public final class Workflows {

    private Workflows() {
    }

    /** The seed document's text-to-image workflow (API format), with its seed above 2^32. */
    public static final String SEED_PAYLOAD = "{\"3\":{\"class_type\":\"KSampler\",\"inputs\":{\"cfg\":8,\"denoise\":1,"
            + "\"latent_image\":[\"5\",0],\"model\":[\"4\",0],\"negative\":[\"7\",0],\"positive\":[\"6\",0],"
            + "\"sampler_name\":\"euler\",\"scheduler\":\"normal\",\"seed\":46588125086418,\"steps\":20}},"
            + "\"4\":{\"class_type\":\"CheckpointLoaderSimple\",\"inputs\":{\"ckpt_name\":\"flux1-dev-fp8.safetensors\"}},"
            + "\"5\":{\"class_type\":\"EmptyLatentImage\",\"inputs\":{\"batch_size\":1,\"height\":512,\"width\":512}},"
            + "\"6\":{\"class_type\":\"CLIPTextEncode\",\"inputs\":{\"clip\":[\"4\",1],\"text\":\"beautiful scenery "
            + "nature glass bottle landscape, , purple galaxy bottle,\"}},"
            + "\"7\":{\"class_type\":\"CLIPTextEncode\",\"inputs\":{\"clip\":[\"4\",1],\"text\":\"text, watermark\"}},"
            + "\"8\":{\"class_type\":\"VAEDecode\",\"inputs\":{\"samples\":[\"3\",0],\"vae\":[\"4\",2]}},"
            + "\"9\":{\"class_type\":\"SaveImage\",\"inputs\":{\"filename_prefix\":\"ComfyUI\",\"images\":[\"8\",0]}}}";

    /** A minimal valid graph. */
    public static final String TINY_PAYLOAD = "{\"1\":{\"class_type\":\"EmptyImage\",\"inputs\":{\"width\":64}},"
            + "\"2\":{\"class_type\":\"SaveImage\",\"inputs\":{\"images\":[\"1\",0],\"filename_prefix\":\"t\"}}}";

    public static String submit(String workflowId, int priority, String payload) {
        return "{\"workflow_id\":\"" + workflowId + "\",\"priority\":" + priority + ",\"payload\":" + payload + "}";
    }

    /** The seed document's task with {@code steps} sampler steps and a {@code size}x{@code size} image. */
    public static String textToImage(int priority, int steps, int size) {
        return submit("text_to_image_v1", priority, SEED_PAYLOAD.replace("\"steps\":20", "\"steps\":" + steps)
                .replace("\"height\":512", "\"height\":" + size).replace("\"width\":512", "\"width\":" + size));
    }

    public static String tiny(int priority) {
        return submit("tiny", priority, TINY_PAYLOAD);
    }
}
