package dev.comfyless.config;

/**
 * One configuration value: its property key under {@code comfyless.*} (what an embedding Camel application sets),
 * the environment variable that feeds it in {@code config/application.properties}, its default and meaning.
 * The list in {@link Settings#ALL} is the source of the README's configuration table.
 */
public record Setting(String key, String env, String defaultValue, String meaning, boolean secret) {

    static Setting of(String key, String env, String defaultValue, String meaning) {
        return new Setting(key, env, defaultValue, meaning, false);
    }

    static Setting secret(String key, String env, String meaning) {
        return new Setting(key, env, "", meaning, true);
    }

    /** How error messages name this setting: the variable an operator sets, and the key a host application sets. */
    public String label() {
        return env + " (" + key + ")";
    }
}
