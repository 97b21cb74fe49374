package dev.comfyless.config;

import org.apache.camel.spi.PropertiesFunction;

/**
 * Replaces Camel's {@code env:} placeholder function so that {@code {{env:NAME:default}}} also sees the values of
 * a {@code .env} file in the working directory, with the real environment taking precedence.
 */
public final class DotEnvPropertiesFunction implements PropertiesFunction {

    private final DotEnv dotEnv;

    public DotEnvPropertiesFunction(DotEnv dotEnv) {
        this.dotEnv = dotEnv;
    }

    @Override
    public String getName() {
        return "env";
    }

    @Override
    public String apply(String remainder) {
        String name = remainder;
        String defaultValue = null;
        int colon = remainder.indexOf(':');
        if (colon >= 0) {
            name = remainder.substring(0, colon);
            defaultValue = remainder.substring(colon + 1);
        }
        return dotEnv.get(name.strip()).orElse(defaultValue);
    }
}
