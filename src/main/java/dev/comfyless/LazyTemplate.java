package dev.comfyless;

import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;

/**
 * A {@link ProducerTemplate} made on first use: the beans that send into routes are built while the context is
 * configured, before a template can be made, and most send only once it runs.
 */
public final class LazyTemplate {

    private final CamelContext context;
    private volatile ProducerTemplate template;

    public LazyTemplate(CamelContext context) {
        this.context = context;
    }

    public CamelContext context() {
        return context;
    }

    public ProducerTemplate get() {
        ProducerTemplate t = template;
        if (t == null) {
            synchronized (this) {
                if (template == null) {
                    template = context.createProducerTemplate();
                }
                t = template;
            }
        }
        return t;
    }
}
