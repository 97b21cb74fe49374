package dev.comfyless.config;

/** A configuration value that cannot be used; the message names the environment variable and how to fix it. */
public class SettingsException extends RuntimeException {
    public SettingsException(String message) {
        super(message);
    }
}
