package dev.comfyless.sandbox;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The history map, prompt id to entry, in insertion order. Entries never change once stored, so they are kept as
 * their JSON text. Used from the simulator's context only.
 */
final class HistoryStore {

    /** execution.MAXIMUM_HISTORY_SIZE; ComfyUI evicts the oldest entry only once it holds more than this. */
    private static final int MAXIMUM_HISTORY_SIZE = 10000;

    private final Map<String, String> entries = new LinkedHashMap<>();

    void store(String promptId, String entryJson) {
        if (entries.size() > MAXIMUM_HISTORY_SIZE) {
            Iterator<String> oldest = entries.keySet().iterator();
            oldest.next();
            oldest.remove();
        }
        entries.put(promptId, entryJson);
    }

    String get(String promptId) {
        return entries.get(promptId);
    }

    /**
     * GET /history's selection, with PromptQueue.get_history's arithmetic: without an offset, max_items picks the
     * last entries.
     */
    Map<String, String> page(Integer maxItems, Integer offset) {
        int from = offset != null ? offset : maxItems != null ? entries.size() - maxItems : -1;
        Map<String, String> page = new LinkedHashMap<>();
        int i = 0;
        for (Map.Entry<String, String> e : entries.entrySet()) {
            if (i++ >= from) {
                page.put(e.getKey(), e.getValue());
                if (maxItems != null && page.size() >= maxItems) {
                    break;
                }
            }
        }
        return page;
    }

    void clear() {
        entries.clear();
    }

    void delete(String promptId) {
        entries.remove(promptId);
    }
}
