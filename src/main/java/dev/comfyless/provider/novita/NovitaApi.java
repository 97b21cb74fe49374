package dev.comfyless.provider.novita;

import java.util.List;
import java.util.Optional;

/**
 * Novita's GPU Instance API v1 (docs/novita-api.md), as the fleet needs it. Calls block; transient failures (429,
 * 5xx, network) are retried inside with backoff before anything is thrown. Implemented by {@link NovitaClient} on
 * the {@code routes/novita.camel.yaml} routes.
 */
public interface NovitaApi {

    /** {@code POST /gpu/instance/create}; returns the new instance's id. Never retried after an ambiguous failure
     * (create is not idempotent): the caller reconciles by name instead. */
    String create(CreateInstance request);

    /** {@code GET /gpu/instance}; empty when Novita says the instance is gone (400 RESOURCE_NOT_FOUND or status
     * {@code removed}). */
    Optional<NovitaInstance> get(String instanceId);

    /** {@code GET /gpu/instances}, every page, filtered by a name fragment ({@code null} = all). */
    List<NovitaInstance> list(String nameFilter);

    /** {@code POST /gpu/instance/delete}; returns normally also when the instance is already gone. */
    void delete(String instanceId);

    /** {@code GET /products}: the GPU products, for checking NOVITA_PRODUCT_ID. */
    List<NovitaProduct> products();

    /** Whether the circuit breaker around the API is open now (calls fail fast). */
    boolean circuitOpen();
}
