package dev.comfyless.provider.novita;

/** A GPU product from {@code GET /products}; price in Novita's units (1/100000 USD per hour), -1 if unparsable. */
public record NovitaProduct(String id, String name, boolean availableDeploy, long price) {
}
