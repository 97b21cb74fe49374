package dev.comfyless.provider.novita;

import java.util.Map;

/** The fields of {@code POST /gpu/instance/create} ComfyLess sends; ports is always {@code "8188/http"}, kind gpu. */
public record CreateInstance(String name, String productId, int gpuNum, int rootfsSize, String imageUrl,
                             Map<String, String> envs, String billingMode) {
}
