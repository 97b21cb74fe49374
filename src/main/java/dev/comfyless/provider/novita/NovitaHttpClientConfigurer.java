package dev.comfyless.provider.novita;

import org.apache.camel.component.http.HttpClientConfigurer;
import org.apache.hc.client5.http.impl.classic.HttpClientBuilder;

/**
 * The Apache HttpClient of the novita-call endpoint (bound as {@code novitaHttpClientConfigurer}):
 * <ul>
 *   <li>no automatic retries: HttpClient 5 would otherwise repeat a 429 or 503 by itself (even a POST create),
 *       honouring Retry-After, inside one attempt, unseen by the circuit breaker and by create's no-retry rule;
 *       the route configurations are the only place that retries;</li>
 *   <li>no redirects: a redirect to another host would carry the bearer key along (Novita's API does not
 *       redirect);</li>
 *   <li>no cookies.</li>
 * </ul>
 * Set per endpoint (not on the http component), so that other camel-http users keep their defaults.
 */
public final class NovitaHttpClientConfigurer implements HttpClientConfigurer {

    @Override
    public void configureHttpClient(HttpClientBuilder builder) {
        builder.disableAutomaticRetries();
        builder.disableRedirectHandling();
        builder.disableCookieManagement();
    }
}
