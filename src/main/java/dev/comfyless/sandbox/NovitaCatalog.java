package dev.comfyless.sandbox;

import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The simulated GPU products and clusters (docs/novita-api.md, "Products and clusters"). One product is sold out
 * ({@code availableDeploy: false}), so a client's product check and the INSUFFICIENT_RESOURCE path can be tested
 * without a fault switch.
 */
final class NovitaCatalog {

    record Product(String id, String name, int cpuPerGpu, int memoryPerGpu, boolean availableDeploy, long price,
                   String inventoryState) {
        static final int MIN_ROOTFS = 10;
        static final int MAX_ROOTFS = 6144;
    }

    record Cluster(String id, String name, String slug) {
    }

    static final List<Product> PRODUCTS = List.of(
            new Product("4090.16c62g", "RTX 4090 24GB", 16, 62, true, 35_000, "normal"),
            new Product("A100-80GB.14c240g", "A100 SXM4 80GB", 14, 240, true, 159_000, "low"),
            new Product("3090.8c30g", "RTX 3090 24GB", 8, 30, false, 21_000, "none"));

    static final List<Cluster> CLUSTERS = List.of(
            new Cluster("us-ca-nas-2", "US-CA-NAS-2", "us-ca-1"),
            new Cluster("as-sgp-2", "AS-SGP-2", "as-sgp-1"));

    private NovitaCatalog() {
    }

    static Optional<Product> product(String id) {
        return PRODUCTS.stream().filter(p -> p.id().equals(id)).findFirst();
    }

    static Optional<Cluster> cluster(String id) {
        return CLUSTERS.stream().filter(c -> c.id().equals(id)).findFirst();
    }

    /** {@code GET /products}: only the productName (fuzzy) and gpuNum filters change the answer here. */
    static ObjectNode productsJson(String nameFilter) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        ArrayNode data = root.putArray("data");
        for (Product p : PRODUCTS) {
            if (nameFilter != null && !nameFilter.isEmpty()
                    && !p.name().toLowerCase().contains(nameFilter.toLowerCase())) {
                continue;
            }
            ObjectNode o = data.addObject();
            o.put("id", p.id());
            o.put("name", p.name());
            o.put("cpuPerGpu", p.cpuPerGpu());
            o.put("memoryPerGpu", p.memoryPerGpu());
            o.put("diskPerGpu", Product.MAX_ROOTFS);
            o.put("availableDeploy", p.availableDeploy());
            o.put("minRootFS", Product.MIN_ROOTFS);
            o.put("maxRootFS", Product.MAX_ROOTFS);
            o.put("minLocalStorage", 0);
            o.put("maxLocalStorage", 0);
            o.putArray("regions").add("US-CA-06 (California)").add("AS-SGP-02 (Singapore)");
            // live-verified: price is a string in 1/100000 USD per hour, though the docs say integer
            o.put("price", Long.toString(p.price()));
            o.putArray("monthlyPrice").addObject().put("price", p.price() * 66).put("month", 1);
            o.putArray("billingMethods").add("onDemand").add("spot").add("monthly");
            o.put("spotPrice", Long.toString(p.price() / 2));
            o.put("inventoryState", p.inventoryState());
        }
        return root;
    }

    static ObjectNode clustersJson() {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        ArrayNode data = root.putArray("data");
        for (Cluster c : CLUSTERS) {
            ObjectNode o = data.addObject();
            o.put("id", c.id());
            o.put("name", c.name());
            ArrayNode gpus = o.putArray("availableGpuType");
            PRODUCTS.forEach(p -> gpus.add(p.name()));
            o.put("supportNetworkStorage", true);
            o.put("supportInstanceNetwork", true);
        }
        return root;
    }
}
