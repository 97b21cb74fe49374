package dev.comfyless.output;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

import dev.comfyless.config.Settings;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * Outputs as objects of an S3-compatible bucket ({@code COMFYLESS_OUTPUT_STORE=s3}): key
 * {@code <prefix><task id>/<name>}. Every replica reads the same bucket, so every replica serves every output.
 * Credentials are the AWS SDK's default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, ...); they are
 * never logged nor shown in an error.
 */
public final class S3OutputStore implements OutputStore, AutoCloseable {

    private final S3Client s3;
    private final S3Presigner presigner;
    private final String bucket;
    private final String prefix;
    private final Duration presignFor;
    private final Path stagingDir;
    private final String where;

    /** With the AWS SDK's default credentials chain. */
    public S3OutputStore(Settings.S3 config, Path stagingDir) {
        this(config, stagingDir, DefaultCredentialsProvider.builder().build());
    }

    public S3OutputStore(Settings.S3 config, Path stagingDir, AwsCredentialsProvider credentials) {
        this.bucket = config.bucket();
        this.prefix = config.prefix();
        this.presignFor = config.presignFor();
        this.stagingDir = stagingDir.toAbsolutePath().normalize();
        Region region = Region.of(config.region());
        S3Configuration service = S3Configuration.builder().pathStyleAccessEnabled(config.pathStyle()).build();
        S3ClientBuilder client = S3Client.builder().region(region).credentialsProvider(credentials)
                .serviceConfiguration(service)
                // checksums only where the API requires them: many S3-compatible stores refuse the SDK's default
                // (a trailing CRC in an aws-chunked body); the upload is verified by its stored size instead
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .httpClientBuilder(UrlConnectionHttpClient.builder().connectionTimeout(Duration.ofSeconds(10))
                        .socketTimeout(Duration.ofSeconds(60)));
        S3Presigner.Builder presign = S3Presigner.builder().region(region).credentialsProvider(credentials)
                .serviceConfiguration(service);
        if (config.endpoint().isPresent()) {
            URI endpoint = URI.create(config.endpoint().get());
            client.endpointOverride(endpoint);
            presign.endpointOverride(endpoint);
        }
        this.s3 = client.build();
        this.presigner = presign.build();
        // the endpoint's host and port without its scheme: a task's error turns URLs into "the worker" (TaskErrors)
        this.where = "bucket " + bucket + config.endpoint().map(e -> " at " + URI.create(e).getAuthority())
                .orElse(" (AWS " + region + ")");
    }

    /** "bucket b at host:port" / "bucket b (AWS us-east-1)", for the log and the errors. */
    public String where() {
        return where;
    }

    String key(String taskId, String name) {
        if (!OutputNames.safe(taskId) || !OutputNames.safe(name)) {
            throw new IllegalArgumentException("unsafe output key");
        }
        return prefix + taskId + "/" + name;
    }

    /** Under the data folder: uploads are made from a whole local file. */
    @Override
    public Path stagingDir() {
        return stagingDir;
    }

    /**
     * Uploads the staged file, then reads back the stored object's size: an upload that S3 did not take whole
     * throws (and its object, if any, is removed), so the task fails as {@code outputs} instead of completing with
     * an output nobody can read.
     */
    @Override
    public void store(String taskId, String name, String contentType, Path staged) throws IOException {
        String key = key(taskId, name);
        long size = Files.size(staged);
        try {
            s3.putObject(b -> b.bucket(bucket).key(key).contentLength(size)
                    .contentType(contentType == null ? "application/octet-stream" : contentType),
                    RequestBody.fromFile(staged));
            long stored = s3.headObject(b -> b.bucket(bucket).key(key)).contentLength();
            if (stored != size) {
                throw new IOException("S3 stored " + stored + " of the " + size + " bytes of " + key + " in " + where);
            }
        } catch (IOException e) {
            removeQuietly(key);
            throw e;
        } catch (SdkException e) {
            removeQuietly(key);
            throw failure("upload of " + key + " to", e);
        }
    }

    /** An upload that failed leaves nothing behind (best effort: S3 itself may be what failed). */
    private void removeQuietly(String key) {
        try {
            s3.deleteObject(b -> b.bucket(bucket).key(key));
        } catch (SdkException ignored) {
            // nothing more to do: a PUT that failed stored no object, and retention deletes what is left
        }
    }

    @Override
    public Optional<InputStream> open(String taskId, String name) throws IOException {
        if (!OutputNames.safe(taskId) || !OutputNames.safe(name)) {
            return Optional.empty();
        }
        String key = key(taskId, name);
        try {
            return Optional.of(s3.getObject(b -> b.bucket(bucket).key(key)));
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return Optional.empty();
            }
            throw failure("read of " + key + " from", e);
        } catch (SdkException e) {
            throw failure("read of " + key + " from", e);
        }
    }

    /**
     * Lists the task's objects page by page and deletes each. One DeleteObject a key, not DeleteObjects: that call
     * requires a request checksum, which the SDK sends as x-amz-checksum-crc32, a header many S3-compatible stores
     * answer 501 to; a task has a handful of outputs.
     */
    @Override
    public void delete(String taskId) throws IOException {
        delete(taskId, 1000);
    }

    /**
     * {@link #delete(String)} listing {@code pageSize} keys a page (S3's maximum is 1,000): a page is asked for after
     * the keys before it are deleted, which S3 continues from the last key listed, so nothing is skipped.
     */
    void delete(String taskId, int pageSize) throws IOException {
        if (!OutputNames.safe(taskId)) {
            return;
        }
        String taskPrefix = prefix + taskId + "/";
        try {
            for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(taskPrefix).maxKeys(pageSize))
                    .contents()) {
                s3.deleteObject(b -> b.bucket(bucket).key(o.key()));
            }
        } catch (SdkException e) {
            throw failure("delete of " + taskPrefix + "* in", e);
        }
    }

    @Override
    public Optional<URI> presigned(String taskId, String name) {
        String key = key(taskId, name);
        try {
            return Optional.of(presigner.presignGetObject(p -> p.signatureDuration(presignFor)
                    .getObjectRequest(g -> g.bucket(bucket).key(key))).url().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException("the presigned URL of " + key + " is not a URI", e);
        }
    }

    /** An SDK failure as the IOException the callers handle, naming the bucket (never a credential). */
    private IOException failure(String what, SdkException e) {
        return new IOException("S3 " + what + " " + where + " failed: " + e.getMessage(), e);
    }

    @Override
    public void close() {
        s3.close();
        presigner.close();
    }
}
