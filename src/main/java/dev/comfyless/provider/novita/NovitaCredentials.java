package dev.comfyless.provider.novita;

/**
 * The API key as it travels with an exchange (property {@link NovitaRequests#CREDENTIALS}) until
 * {@link NovitaRequests#prepare} turns it into the {@code Authorization} header of the HTTP call. Its
 * {@code toString} never shows the key, so an exchange dump or log line cannot carry it.
 */
final class NovitaCredentials {

    private final String apiKey;

    NovitaCredentials(String apiKey) {
        this.apiKey = apiKey;
    }

    String bearer() {
        return "Bearer " + apiKey;
    }

    /** {@code text} with every occurrence of the key masked (Novita's messages are shown to operators). */
    String redact(String text) {
        if (text == null || apiKey.isEmpty()) {
            return text;
        }
        return text.replace(apiKey, "***");
    }

    @Override
    public String toString() {
        return "NovitaCredentials[***]";
    }
}
