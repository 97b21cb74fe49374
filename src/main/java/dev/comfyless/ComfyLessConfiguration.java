package dev.comfyless;

import dev.comfyless.config.Settings;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;

/**
 * Binds every ComfyLess bean. A host camel-main application adds this class (and the comfyless.* properties) to
 * embed ComfyLess; nothing essential happens in {@link Application#main}.
 */
public class ComfyLessConfiguration implements CamelConfiguration {

    @Override
    public void configure(CamelContext context) throws Exception {
        Settings settings = Settings.load(key -> context.getPropertiesComponent().resolveProperty(key));
        context.getRegistry().bind("comfylessSettings", settings);
    }
}
