package dev.comfyless.testing;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.comfyless.config.Settings;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.TransientApiMetadata;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.BlobStoreContext;
import org.jclouds.blobstore.domain.Blob;
import org.jclouds.blobstore.domain.StorageMetadata;
import org.jclouds.blobstore.options.ListContainerOptions;

/**
 * A real S3-compatible server for tests: S3Proxy (Jetty) in front of jclouds' in-memory blobstore, on a free
 * loopback port, path-style, with fixed test credentials (AWS signatures checked). The blobstore outlives
 * {@link #stop()}, so a test can stop the server mid-story and still look at what it holds.
 */
public final class S3Server implements AutoCloseable {

    public static final String ACCESS_KEY = "comfyless-test-access-key";
    public static final String SECRET_KEY = "comfyless-test-secret-key-0123456789";

    private final BlobStoreContext blobs;
    private final S3Proxy proxy;
    private final String endpoint;

    private S3Server(BlobStoreContext blobs, S3Proxy proxy, String endpoint) {
        this.blobs = blobs;
        this.proxy = proxy;
        this.endpoint = endpoint;
    }

    /** Starts a server holding the given (empty) buckets. */
    public static S3Server start(String... buckets) {
        // the ApiMetadata itself, not its id "transient": a lookup by id loads every provider S3Proxy registers,
        // Azure's among them, whose libraries the pom leaves out
        BlobStoreContext blobs = ContextBuilder.newBuilder(new TransientApiMetadata())
                .credentials("identity", "credential").build(BlobStoreContext.class);
        for (String bucket : buckets) {
            blobs.getBlobStore().createContainerInLocation(null, bucket);
        }
        String endpoint = "http://127.0.0.1:" + TestRedis.freePort();
        S3Proxy proxy = S3Proxy.builder().blobStore(blobs.getBlobStore()).endpoint(URI.create(endpoint))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY).build();
        try {
            proxy.start();
        } catch (Exception e) {
            blobs.close();
            throw new IllegalStateException("S3Proxy did not start on " + endpoint, e);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> "STARTED".equals(proxy.getState()));
        return new S3Server(blobs, proxy, endpoint);
    }

    /** Makes the test credentials the AWS SDK's default ones in this JVM (the services started in it read them). */
    public static void credentialsForThisJvm() {
        System.setProperty("aws.accessKeyId", ACCESS_KEY);
        System.setProperty("aws.secretAccessKey", SECRET_KEY);
    }

    /** The AWS variables of a service process (its environment holds no other AWS credentials). */
    public static Map<String, String> credentialsEnv() {
        return Map.of("AWS_ACCESS_KEY_ID", ACCESS_KEY, "AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    }

    public String endpoint() {
        return endpoint;
    }

    /** The comfyless.* properties of a service whose outputs go to {@code bucket} of this server. */
    public Map<String, String> properties(String bucket) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put(Settings.OUTPUT_STORE.key(), "s3");
        p.put(Settings.OUTPUT_S3_ENDPOINT.key(), endpoint);
        p.put(Settings.OUTPUT_S3_BUCKET.key(), bucket);
        p.put(Settings.OUTPUT_S3_PATH_STYLE.key(), "true");
        return p;
    }

    /** The S3 settings of {@link #properties} as the service reads them. */
    public Settings.S3 settings(String bucket) {
        Map<String, String> p = properties(bucket);
        return Settings.load(k -> java.util.Optional.ofNullable(p.get(k))).outputStorage.s3().orElseThrow();
    }

    /** Every key of {@code bucket}, read from the blobstore (works while the server is stopped). */
    public List<String> keys(String bucket) {
        BlobStore store = blobs.getBlobStore();
        return store.list(bucket, ListContainerOptions.Builder.recursive()).stream().map(StorageMetadata::getName)
                .sorted().toList();
    }

    /** The bytes of an object, read from the blobstore. */
    public byte[] object(String bucket, String key) {
        Blob blob = blobs.getBlobStore().getBlob(bucket, key);
        if (blob == null) {
            throw new AssertionError("no object " + key + " in " + bucket + "; keys: " + keys(bucket));
        }
        try (InputStream in = blob.getPayload().openStream()) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops answering (the port closes); the blobstore stays readable. */
    public void stop() {
        try {
            proxy.stop();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        try {
            stop();
        } finally {
            blobs.close();
        }
    }
}
