package dev.comfyless.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.comfyless.scaling.ScalingPolicy;

/**
 * Every ComfyLess setting, read once at start and validated: a value that cannot be used stops startup with a
 * message naming the environment variable, never a silent fallback to the default.
 */
public final class Settings {

    public static final Setting PORT = Setting.of("comfyless.http.port", "PORT", "8080",
            "HTTP port of the API, /health, /ready and /observe/metrics");
    public static final Setting MAX_BODY_BYTES = Setting.of("comfyless.http.max-body-bytes",
            "COMFYLESS_MAX_BODY_BYTES", "10485760", "largest request body accepted; larger bodies get 413");
    // the key ends in "api-key" (not "keys") because Camel's start-up summary masks values by that last segment
    public static final Setting API_KEYS = Setting.secret("comfyless.auth.api-key", "COMFYLESS_API_KEYS",
            "comma-separated API keys (at least 16 characters each); when set, /api/v1/** and /novita/** need "
            + "Authorization: Bearer <key>; never logged");
    public static final Setting API_KEYS_FILE = Setting.of("comfyless.auth.api-keys-file", "COMFYLESS_API_KEYS_FILE",
            "", "a file of API keys, one a line (# comments), in addition to COMFYLESS_API_KEYS");
    public static final Setting ROUTES_DIR = Setting.of("comfyless.routes-dir", "COMFYLESS_ROUTES_DIR", "routes",
            "folder of the editable YAML routes (*.camel.yaml), relative to the working directory");
    public static final Setting DATA_DIR = Setting.of("comfyless.data-dir", "COMFYLESS_DATA_DIR", "./data",
            "folder for local state: the embedded Redis append-only file lives in <dir>/redis");
    public static final Setting OUTPUT_DIR = Setting.of("comfyless.output-dir", "COMFYLESS_OUTPUT_DIR",
            "", "folder where task outputs are kept after they are copied off the worker; unset = "
                    + "<COMFYLESS_DATA_DIR>/outputs");
    public static final Setting OUTPUT_STORE = Setting.of("comfyless.output.store", "COMFYLESS_OUTPUT_STORE", "file",
            "where task outputs are kept: file (COMFYLESS_OUTPUT_DIR, served only by the replica that stored them) "
            + "or s3 (an S3-compatible bucket, served by every replica; credentials from AWS_ACCESS_KEY_ID and "
            + "AWS_SECRET_ACCESS_KEY or an AWS profile)");
    public static final Setting OUTPUT_S3_ENDPOINT = Setting.of("comfyless.output.s3.endpoint",
            "COMFYLESS_OUTPUT_S3_ENDPOINT", "", "S3 API endpoint URL of an S3-compatible store (MinIO, R2, ...); "
            + "unset = AWS S3 of COMFYLESS_OUTPUT_S3_REGION");
    public static final Setting OUTPUT_S3_BUCKET = Setting.of("comfyless.output.s3.bucket",
            "COMFYLESS_OUTPUT_S3_BUCKET", "", "bucket of the outputs (required with COMFYLESS_OUTPUT_STORE=s3)");
    public static final Setting OUTPUT_S3_REGION = Setting.of("comfyless.output.s3.region",
            "COMFYLESS_OUTPUT_S3_REGION", "us-east-1", "region of the bucket (signing region of an S3-compatible store)");
    public static final Setting OUTPUT_S3_PATH_STYLE = Setting.of("comfyless.output.s3.path-style",
            "COMFYLESS_OUTPUT_S3_PATH_STYLE", "false",
            "true = path-style URLs (<endpoint>/<bucket>/<key>), as most S3-compatible stores want; false = "
            + "virtual-hosted (<bucket>.<endpoint>)");
    public static final Setting OUTPUT_S3_PREFIX = Setting.of("comfyless.output.s3.prefix",
            "COMFYLESS_OUTPUT_S3_PREFIX", "outputs/", "key prefix of the outputs: <prefix><task id>/<name>");
    public static final Setting OUTPUT_S3_PRESIGN_SECONDS = Setting.of("comfyless.output.s3.presign-seconds",
            "COMFYLESS_OUTPUT_S3_PRESIGN_SECONDS", "300",
            "how long the presigned URL of GET /api/v1/tasks/{id}/outputs/{file}?redirect=true stays valid "
            + "(seconds, 1-604800)");
    public static final Setting REDIS_HOST = Setting.of("comfyless.redis.host", "REDIS_HOST", "",
            "Redis host; unset = start an embedded Redis (persistent, under COMFYLESS_DATA_DIR)");
    public static final Setting REDIS_PORT = Setting.of("comfyless.redis.port", "REDIS_PORT", "6379",
            "Redis port (with REDIS_HOST)");
    public static final Setting REDIS_PASSWORD = Setting.secret("comfyless.redis.password", "REDIS_PASSWORD",
            "Redis AUTH password (with REDIS_HOST); never logged");
    public static final Setting REDIS_DB = Setting.of("comfyless.redis.db", "REDIS_DB", "0", "Redis database index");
    public static final Setting REDIS_USERNAME = Setting.of("comfyless.redis.username", "REDIS_USERNAME", "",
            "Redis ACL user (with REDIS_PASSWORD); unset = the default user");
    public static final Setting REDIS_TLS = Setting.of("comfyless.redis.tls", "REDIS_TLS", "false",
            "true = connect with TLS (rediss://), the server certificate verified against the JVM's trust store and "
            + "its host name");
    public static final Setting REDIS_TLS_CA_FILE = Setting.of("comfyless.redis.tls-ca-file", "REDIS_TLS_CA_FILE", "",
            "PEM file of the CA certificates that sign the Redis certificate (a private CA), trusted instead of the "
            + "JVM's trust store; with REDIS_TLS=true");
    public static final Setting REDIS_SENTINELS = Setting.of("comfyless.redis.sentinels", "REDIS_SENTINELS", "",
            "Redis Sentinel addresses (host:port, comma-separated) instead of REDIS_HOST; needs REDIS_SENTINEL_MASTER");
    public static final Setting REDIS_SENTINEL_MASTER = Setting.of("comfyless.redis.sentinel-master",
            "REDIS_SENTINEL_MASTER", "", "the master name the Sentinels monitor (with REDIS_SENTINELS)");
    public static final Setting REDIS_CLUSTER_NODES = Setting.of("comfyless.redis.cluster-nodes",
            "REDIS_CLUSTER_NODES", "", "some Redis Cluster nodes (host:port, comma-separated) instead of REDIS_HOST; "
            + "the prefix must hold a hash tag");
    public static final Setting REDIS_PREFIX = Setting.of("comfyless.redis.prefix", "COMFYLESS_REDIS_PREFIX",
            "{comfyless}:", "prefix of every Redis key ComfyLess writes; its {hash tag} keeps them in one cluster slot");
    public static final Setting REDIS_TIMEOUT = Setting.of("comfyless.redis.timeout", "COMFYLESS_REDIS_TIMEOUT",
            "3s", "how long one Redis command may take before the request gets 503");
    public static final Setting EMBEDDED_REDIS_PORT = Setting.of("comfyless.redis.embedded-port",
            "COMFYLESS_EMBEDDED_REDIS_PORT", "16379",
            "loopback port of the embedded Redis (chosen not to collide with a Redis of your own on 6379)");
    public static final Setting TASK_RETENTION = Setting.of("comfyless.task.retention", "COMFYLESS_TASK_RETENTION",
            "7d", "how long completed, failed and cancelled tasks stay readable");
    public static final Setting TASK_TIMEOUT = Setting.of("comfyless.task.default-timeout", "COMFYLESS_TASK_TIMEOUT",
            "30m", "default timeout_seconds of a task (how long it may run on a worker)");
    public static final Setting MAX_ATTEMPTS = Setting.of("comfyless.task.default-max-attempts",
            "COMFYLESS_DEFAULT_MAX_ATTEMPTS", "3", "default max_attempts of a task (1-10)");
    public static final Setting SWEEP_INTERVAL = Setting.of("comfyless.queue.sweep-interval",
            "COMFYLESS_SWEEP_INTERVAL", "5s",
            "how often expired leases are requeued and queue gauges refreshed (a safety net, not the hot path)");
    public static final Setting TASK_LEASE = Setting.of("comfyless.task.lease", "COMFYLESS_TASK_LEASE", "30s",
            "lease of a running task: the process watching it renews it while the worker answers; when that process "
            + "dies, another one (or its restart) adopts the task after this long and keeps watching its prompt");
    public static final Setting REPLICA_ID = Setting.of("comfyless.replica-id", "COMFYLESS_REPLICA_ID", "",
            "name of this process in task leases; unset = <hostname>:<PORT>, so a restarted process resumes its "
            + "own running tasks at once (others adopt them when their lease expires)");
    public static final Setting EVENTS_ENDPOINT = Setting.of("comfyless.events.endpoint",
            "COMFYLESS_EVENTS_ENDPOINT", "",
            "Camel endpoint that receives task lifecycle events (routes/events.camel.yaml), e.g. direct:my-events "
            + "in an application embedding ComfyLess; unset = none");
    public static final Setting WEBHOOK_URL = Setting.of("comfyless.webhook.url", "COMFYLESS_WEBHOOK_URL", "",
            "webhook_url of tasks submitted without one (their terminal events are sent there); unset = none");
    public static final Setting WEBHOOK_SECRET = Setting.secret("comfyless.webhook.secret", "COMFYLESS_WEBHOOK_SECRET",
            "signs every webhook delivery (Standard Webhooks: whsec_ followed by base64 of 24 to 64 random bytes); "
            + "required once a webhook is used; never logged");
    public static final Setting WEBHOOK_RETRY_FOR = Setting.of("comfyless.webhook.retry-for",
            "COMFYLESS_WEBHOOK_RETRY_FOR", "24h", "how long a failing webhook delivery is retried before it becomes a "
            + "dead letter (GET /api/v1/webhooks/failed)");
    public static final Setting WEBHOOK_RETRY_DELAY = Setting.of("comfyless.webhook.retry-delay",
            "COMFYLESS_WEBHOOK_RETRY_DELAY", "30s", "wait before the first retry of a delivery that failed its quick "
            + "attempts; doubled on each retry (with jitter)");
    public static final Setting WEBHOOK_RETRY_MAX_DELAY = Setting.of("comfyless.webhook.retry-max-delay",
            "COMFYLESS_WEBHOOK_RETRY_MAX_DELAY", "1h", "the longest wait between two retries of a delivery");
    public static final Setting WEBHOOK_TIMEOUT = Setting.of("comfyless.webhook.timeout", "COMFYLESS_WEBHOOK_TIMEOUT",
            "10s", "how long one delivery attempt may take (connect and answer)");
    public static final Setting SHUTDOWN_TIMEOUT = Setting.of("comfyless.shutdown.timeout",
            "COMFYLESS_SHUTDOWN_TIMEOUT", "30s",
            "on SIGTERM, the budget of the whole stop: dispatch steps under way, then Camel's wait for exchanges in "
                    + "flight");
    public static final Setting ON_SHUTDOWN = Setting.of("comfyless.shutdown.instances", "COMFYLESS_ON_SHUTDOWN",
            "keep", "what a stop does to GPU instances: keep (the next start resumes them and their prompts) or "
            + "delete (stopping for good: every instance of ours is deleted, running tasks go back to the queue)");
    public static final Setting LEADER_LEASE = Setting.of("comfyless.cluster.leader-lease", "COMFYLESS_LEADER_LEASE",
            "15s", "leader lease in Redis: of several replicas on one Redis only the leader runs the timed fleet and "
            + "health routes; another takes over at most this long (plus a third) after the leader dies");

    public static final Setting PROVIDER = Setting.of("comfyless.provider", "COMFYLESS_PROVIDER", "",
            "where workers come from: static (COMFYUI_URLS), sandbox (simulated ComfyUI servers in the process) or "
            + "novita; unset = static when COMFYUI_URLS is set, novita when NOVITA_API_KEY is set, else sandbox");
    public static final Setting COMFYUI_URLS = Setting.of("comfyless.comfyui.urls", "COMFYUI_URLS", "",
            "comma-separated base URLs of your own ComfyUI servers (provider static)");
    public static final Setting COMFYUI_TIMEOUT = Setting.of("comfyless.comfyui.timeout", "COMFYLESS_COMFYUI_TIMEOUT",
            "30s", "how long one HTTP call to a ComfyUI server may take");
    public static final Setting MAX_INPUT_BYTES = Setting.of("comfyless.input.max-bytes", "COMFYLESS_MAX_INPUT_BYTES",
            "20971520", "largest input image fetched from a URL (inputs.images[].url)");
    public static final Setting INPUT_FETCH_TIMEOUT = Setting.of("comfyless.input.fetch-timeout",
            "COMFYLESS_INPUT_FETCH_TIMEOUT", "30s",
            "how long fetching one input image from its URL may take (DNS, connect, redirects and the whole body)");
    public static final Setting ALLOW_PRIVATE_URLS = Setting.of("comfyless.input.allow-private-urls",
            "COMFYLESS_ALLOW_PRIVATE_URLS", "false", "true = input image URLs may point at loopback, link-local "
            + "and private addresses (an image server on your own network); false refuses them");
    public static final Setting INPUT_CONCURRENCY = Setting.of("comfyless.input.concurrency",
            "COMFYLESS_INPUT_CONCURRENCY", "16", "how many tasks may have their input images fetched and uploaded at "
            + "once (a pool of threads): a slow input URL holds one of them, never the dispatch of other tasks");
    public static final Setting OUTPUT_COPY_CONCURRENCY = Setting.of("comfyless.output.copy-concurrency",
            "COMFYLESS_OUTPUT_COPY_CONCURRENCY", "16", "how many output files may be copied off workers at once "
            + "(a pool of threads): a worker slow to serve its outputs holds one of them, not every task's completion");
    public static final Setting HISTORY_POLL_MAX = Setting.of("comfyless.comfyui.history-poll-max",
            "COMFYLESS_HISTORY_POLL_MAX", "10s",
            "longest wait between two /history checks of a running prompt (the WebSocket is the fast path)");
    public static final Setting HEALTH_INTERVAL = Setting.of("comfyless.worker.health-interval",
            "COMFYLESS_HEALTH_INTERVAL", "60s", "how often idle and running workers are health-checked (GET /system_stats)");
    public static final Setting HEALTH_FAILURES = Setting.of("comfyless.worker.health-failures",
            "COMFYLESS_HEALTH_FAILURES", "3", "failed checks in a row that fail a worker (its task goes back to the queue)");
    public static final Setting READINESS_INTERVAL = Setting.of("comfyless.worker.readiness-interval",
            "COMFYLESS_READINESS_INTERVAL", "2s",
            "how often starting (and failed static) workers are probed, so they become idle soon after they answer");
    public static final Setting SANDBOX_BOOT_TIME = Setting.of("comfyless.sandbox.boot-time",
            "COMFYLESS_SANDBOX_BOOT_TIME", "5s",
            "how long a simulated Novita instance takes from create to ComfyUI answering (sandbox)");
    public static final Setting SANDBOX_STEP_TIME = Setting.of("comfyless.sandbox.step-time",
            "COMFYLESS_SANDBOX_STEP_TIME", "50ms", "simulated time per sampler step in the sandbox");
    public static final Setting NOVITA_API_KEY = Setting.secret("comfyless.novita.api-key", "NOVITA_API_KEY",
            "Novita API key; never logged");
    public static final Setting NOVITA_PRODUCT_ID = Setting.of("comfyless.novita.product-id", "NOVITA_PRODUCT_ID", "",
            "Novita GPU product id of new instances");
    public static final Setting NOVITA_IMAGE_URL = Setting.of("comfyless.novita.image-url", "NOVITA_IMAGE_URL", "",
            "ComfyUI container image of new instances");
    public static final Setting NOVITA_BASE_URL = Setting.of("comfyless.novita.base-url", "NOVITA_BASE_URL",
            "https://api.novita.ai", "Novita API base URL");
    public static final Setting NOVITA_GPU_NUM = Setting.of("comfyless.novita.gpu-num", "NOVITA_GPU_NUM", "1",
            "GPUs per instance");
    public static final Setting NOVITA_ROOTFS_SIZE = Setting.of("comfyless.novita.rootfs-size", "NOVITA_ROOTFS_SIZE",
            "50", "root filesystem size of an instance, GB");
    public static final Setting NOVITA_MIN_WORKERS = Setting.of("comfyless.novita.min-workers", "NOVITA_MIN_WORKERS",
            "1", "instances kept even when idle");
    public static final Setting NOVITA_MAX_WORKERS = Setting.of("comfyless.novita.max-workers", "NOVITA_MAX_WORKERS",
            "10", "most instances at once");
    public static final Setting NOVITA_IDLE_TIMEOUT = Setting.of("comfyless.novita.idle-timeout",
            "NOVITA_IDLE_TIMEOUT", "600",
            "the longest an instance above the minimum stays idle before it is deleted (seconds; 60 in the sandbox)");
    public static final Setting INSTANCE_PREFIX = Setting.of("comfyless.fleet.instance-prefix",
            "COMFYLESS_INSTANCE_PREFIX", "comfyless-",
            "name prefix of the instances ComfyLess creates; reconcile touches only instances with this prefix");
    public static final Setting MAX_CREATE_PER_STEP = Setting.of("comfyless.fleet.max-create-per-step",
            "COMFYLESS_MAX_CREATE_PER_STEP", "5", "most instances one autoscale decision creates");
    public static final Setting SCALE_UP_COOLDOWN = Setting.of("comfyless.fleet.scale-up-cooldown",
            "COMFYLESS_SCALE_UP_COOLDOWN", "120s", "after Novita refuses a create (balance, quota, sold out), creates "
            + "pause this long (the scaling policy itself has no cooldown)");
    public static final Setting TARGET_WAIT = Setting.of("comfyless.fleet.target-wait", "COMFYLESS_TARGET_WAIT",
            "60s", "how long a task may wait for a GPU (95th percentile): the autoscaler creates instances only where "
            + "that shortens a longer wait; 0 = latency first (warm GPUs, tasks rarely wait, costs more)");
    public static final Setting BOOT_ESTIMATE = Setting.of("comfyless.fleet.boot-estimate",
            "COMFYLESS_BOOT_ESTIMATE", ScalingPolicy.DEFAULT_BOOT_SECONDS + "s", "how long an instance is expected to boot until a boot of its GPU "
            + "product was measured (then the measured mean is used): the scaling policy and waiting tasks' "
            + "expected_ready_at use it (the sandbox's boot time in the sandbox)");
    public static final Setting CREATION_TIMEOUT = Setting.of("comfyless.fleet.creation-timeout",
            "COMFYLESS_CREATION_TIMEOUT", "10m",
            "an instance not ready (ComfyUI answering) this long after its create is deleted and replaced");
    public static final Setting AUTOSCALE_INTERVAL = Setting.of("comfyless.fleet.autoscale-interval",
            "COMFYLESS_AUTOSCALE_INTERVAL", "15s", "how often the autoscale route evaluates the scaling policy");
    public static final Setting INSTANCE_WATCH_INTERVAL = Setting.of("comfyless.fleet.instance-watch-interval",
            "COMFYLESS_INSTANCE_WATCH_INTERVAL", "5s",
            "how often booting and deleting instances are polled on Novita (1s in the sandbox)");
    public static final Setting CLEANUP_INTERVAL = Setting.of("comfyless.fleet.cleanup-interval",
            "COMFYLESS_CLEANUP_INTERVAL", "5m", "how often failed workers' instances are deleted and deletes retried");
    public static final Setting RECONCILE_INTERVAL = Setting.of("comfyless.fleet.reconcile-interval",
            "COMFYLESS_RECONCILE_INTERVAL", "5m",
            "how often Novita's instance list is compared with the worker records (also at start)");
    public static final Setting NOVITA_RETRIES = Setting.of("comfyless.novita.retries", "COMFYLESS_NOVITA_RETRIES", "4",
            "retries of a Novita API call that failed transiently (429, 5xx, network), with exponential backoff");
    public static final Setting NOVITA_RETRY_DELAY = Setting.of("comfyless.novita.retry-delay",
            "COMFYLESS_NOVITA_RETRY_DELAY", "500ms", "first backoff before a Novita API call is retried (doubled each time, with jitter)");
    public static final Setting NOVITA_TIMEOUT = Setting.of("comfyless.novita.timeout", "COMFYLESS_NOVITA_TIMEOUT",
            "30s", "how long one Novita API call may take (connect and answer)");
    public static final Setting NOVITA_BREAKER_OPEN = Setting.of("comfyless.novita.breaker-open",
            "COMFYLESS_NOVITA_BREAKER_OPEN", "30s",
            "how long Novita API calls fail fast after the circuit breaker opened on repeated failures");

    /** Settings whose default depends on the provider (the sandbox's are shorter): empty in the properties file. */
    public static final List<Setting> PROVIDER_DEPENDENT_DEFAULTS = List.of(NOVITA_MIN_WORKERS, NOVITA_IDLE_TIMEOUT,
            INSTANCE_WATCH_INTERVAL, BOOT_ESTIMATE);

    /** In the order of the README's configuration table. */
    public static final List<Setting> ALL = List.of(PORT, MAX_BODY_BYTES, API_KEYS, API_KEYS_FILE, ROUTES_DIR, DATA_DIR, OUTPUT_DIR,
            OUTPUT_STORE, OUTPUT_S3_ENDPOINT, OUTPUT_S3_BUCKET, OUTPUT_S3_REGION, OUTPUT_S3_PATH_STYLE, OUTPUT_S3_PREFIX,
            OUTPUT_S3_PRESIGN_SECONDS,
            REDIS_HOST, REDIS_PORT, REDIS_PASSWORD, REDIS_DB, REDIS_USERNAME, REDIS_TLS, REDIS_TLS_CA_FILE,
            REDIS_SENTINELS,
            REDIS_SENTINEL_MASTER, REDIS_CLUSTER_NODES, REDIS_PREFIX, REDIS_TIMEOUT, EMBEDDED_REDIS_PORT,
            TASK_RETENTION, TASK_TIMEOUT, MAX_ATTEMPTS, SWEEP_INTERVAL, TASK_LEASE, REPLICA_ID, EVENTS_ENDPOINT,
            WEBHOOK_URL, WEBHOOK_SECRET, WEBHOOK_RETRY_FOR, WEBHOOK_RETRY_DELAY, WEBHOOK_RETRY_MAX_DELAY, WEBHOOK_TIMEOUT,
            SHUTDOWN_TIMEOUT,
            ON_SHUTDOWN,
            LEADER_LEASE,
            PROVIDER, COMFYUI_URLS, COMFYUI_TIMEOUT, MAX_INPUT_BYTES, INPUT_FETCH_TIMEOUT,
            ALLOW_PRIVATE_URLS, INPUT_CONCURRENCY, OUTPUT_COPY_CONCURRENCY, HISTORY_POLL_MAX, HEALTH_INTERVAL,
            HEALTH_FAILURES, READINESS_INTERVAL,
            SANDBOX_BOOT_TIME, SANDBOX_STEP_TIME,
            NOVITA_API_KEY, NOVITA_PRODUCT_ID, NOVITA_IMAGE_URL, NOVITA_BASE_URL, NOVITA_GPU_NUM, NOVITA_ROOTFS_SIZE,
            NOVITA_MIN_WORKERS, NOVITA_MAX_WORKERS, NOVITA_IDLE_TIMEOUT,
            NOVITA_RETRIES, NOVITA_RETRY_DELAY, NOVITA_TIMEOUT, NOVITA_BREAKER_OPEN,
            INSTANCE_PREFIX, MAX_CREATE_PER_STEP, SCALE_UP_COOLDOWN, TARGET_WAIT, BOOT_ESTIMATE, CREATION_TIMEOUT,
            AUTOSCALE_INTERVAL, INSTANCE_WATCH_INTERVAL, CLEANUP_INTERVAL, RECONCILE_INTERVAL);

    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)?");
    private static final Pattern PREFIX = Pattern.compile("[A-Za-z0-9:._{}-]{1,64}");
    private static final Pattern HOST_PORT = Pattern.compile("(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+):(\\d{1,5})");
    private static final Pattern INSTANCE_NAME_PREFIX = Pattern.compile("[a-z0-9-]{1,40}");
    private static final Pattern ENDPOINT_URI = Pattern.compile("|[a-z][a-z0-9+.-]*:\\S+");
    private static final Pattern S3_REGION = Pattern.compile("[a-z0-9-]{1,40}");
    private static final Pattern S3_PREFIX = Pattern.compile("[A-Za-z0-9/._-]{0,200}");
    private static final Pattern S3_BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
    private static final Pattern REPLICA = Pattern.compile("[A-Za-z0-9:._@-]{0,100}");
    /** Shortest API key accepted: shorter ones are guessable. */
    public static final int MIN_API_KEY_LENGTH = 16;

    public final int httpPort;
    public final long maxBodyBytes;
    public final ApiKeyList apiKeys;
    public final Path routesDir;
    public final Path dataDir;
    public final Path outputDir;
    /** COMFYLESS_OUTPUT_STORE and, with s3, the bucket's settings. */
    public final OutputStorage outputStorage;
    public final Optional<String> redisHost;
    public final int redisPort;
    public final Optional<String> redisPassword;
    public final int redisDb;
    public final Optional<String> redisUsername;
    public final boolean redisTls;
    /** The CA certificates of REDIS_TLS_CA_FILE; empty = the JVM's trust store. */
    public final List<java.security.cert.X509Certificate> redisTlsCa;
    /** host:port of each Sentinel; empty unless REDIS_SENTINELS is set. */
    public final List<String> redisSentinels;
    public final Optional<String> redisSentinelMaster;
    /** host:port of each seed node; empty unless REDIS_CLUSTER_NODES is set. */
    public final List<String> redisClusterNodes;
    public final String redisPrefix;
    public final Duration redisTimeout;
    public final int embeddedRedisPort;
    public final Duration taskRetention;
    public final Duration taskTimeout;
    public final int defaultMaxAttempts;
    public final Duration sweepInterval;
    public final Duration taskLease;
    /** Empty = derived from the host name and the port (see ComfyLessConfiguration). */
    public final String replicaId;
    /** Where task lifecycle events go; empty = nowhere. */
    public final String eventsEndpoint;
    public final Webhooks webhooks;

    /**
     * Webhook deliveries.
     *
     * @param url     the default webhook_url ("" = none)
     * @param secret  the HMAC key (decoded from whsec_...), empty when unset
     */
    public record Webhooks(String url, byte[] secret, Duration retryFor, Duration retryDelay, Duration retryMaxDelay,
                           Duration timeout) {
        @Override
        public String toString() {
            return "Webhooks[url=" + url + ", secret=" + (secret.length == 0 ? "unset" : "(hidden)") + "]";
        }
    }
    public final Duration shutdownTimeout;
    /** COMFYLESS_ON_SHUTDOWN=delete: a stop deletes every instance of ours. */
    public final boolean deleteInstancesOnShutdown;
    public final Duration leaderLease;
    public final Novita novita;
    public final NovitaCalls novitaCalls;
    public final Provider provider;
    public final List<String> comfyUiUrls;
    public final Duration comfyUiTimeout;
    public final long maxInputBytes;
    public final Duration inputFetchTimeout;
    public final boolean allowPrivateUrls;
    public final int inputConcurrency;
    public final int outputCopyConcurrency;
    public final Duration historyPollMax;
    public final Duration healthInterval;
    public final int healthFailures;
    public final Duration readinessInterval;
    public final Duration sandboxBootTime;
    public final Duration sandboxStepTime;
    public final Fleet fleet;

    /** Which Redis the service talks to. */
    public enum RedisMode {
        /** REDIS_HOST unset: a redis-server started by the service. */
        EMBEDDED,
        /** REDIS_HOST: one server. */
        SINGLE,
        /** REDIS_SENTINELS: the master the Sentinels name, followed across failovers. */
        SENTINEL,
        /** REDIS_CLUSTER_NODES: a Redis Cluster; every key of a deployment in the slot of the prefix's hash tag. */
        CLUSTER
    }

    public RedisMode redisMode() {
        if (!redisClusterNodes.isEmpty()) {
            return RedisMode.CLUSTER;
        }
        if (!redisSentinels.isEmpty()) {
            return RedisMode.SENTINEL;
        }
        return redisHost.isPresent() ? RedisMode.SINGLE : RedisMode.EMBEDDED;
    }

    /**
     * The hash tag of {@code prefix} by Redis Cluster's rule (the text between the first '{' and the next '}',
     * when not empty), or empty when keys under it would be spread over all slots.
     */
    public static Optional<String> hashTag(String prefix) {
        int open = prefix.indexOf('{');
        int close = open < 0 ? -1 : prefix.indexOf('}', open + 1);
        return close > open + 1 ? Optional.of(prefix.substring(open + 1, close)) : Optional.empty();
    }

    /** Where workers come from. */
    public enum Provider {
        STATIC, SANDBOX, NOVITA;

        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }

        /**
         * Whether a failed worker becomes idle again when it answers (a server of your own that came back) or stays
         * failed until it is replaced (a cloud instance).
         */
        public boolean workersRecover() {
            return this == STATIC;
        }
    }

    /** How the fleet of created instances is run (Novita and sandbox providers). */
    public record Fleet(String instancePrefix, int maxCreatePerStep, Duration scaleUpCooldown, Duration targetWait,
                        Duration creationTimeout, Duration autoscaleInterval, Duration instanceWatchInterval,
                        Duration cleanupInterval, Duration reconcileInterval, Duration bootEstimate) {
    }

    /** Novita settings of the seed document. */
    public record Novita(Optional<String> apiKey, String productId, String imageUrl, String baseUrl, int gpuNum,
                         int rootfsSize, int minWorkers, int maxWorkers, Duration idleTimeout) {
        @Override
        public String toString() {
            return "Novita[apiKey=" + (apiKey.isPresent() ? "***" : "unset") + ", productId=" + productId
                    + ", baseUrl=" + baseUrl + ", minWorkers=" + minWorkers + ", maxWorkers=" + maxWorkers + "]";
        }
    }

    /** The API keys of COMFYLESS_API_KEYS and COMFYLESS_API_KEYS_FILE (union, no duplicates); empty = API open. */
    public record ApiKeyList(List<String> keys) {
        @Override
        public String toString() {
            return "ApiKeys[" + keys.size() + " keys]";
        }
    }

    /** Where outputs are kept: {@code s3} empty = files under {@link #outputDir}. */
    public record OutputStorage(Optional<S3> s3) {
    }

    /** The bucket of COMFYLESS_OUTPUT_STORE=s3; credentials are the AWS SDK's own (never a setting here). */
    public record S3(Optional<String> endpoint, String bucket, String region, boolean pathStyle, String prefix,
                     Duration presignFor) {
    }

    /** How calls to the Novita API are made: retries with backoff, per-call timeout, circuit breaker open time. */
    public record NovitaCalls(int retries, Duration retryDelay, Duration timeout, Duration breakerOpen) {
    }

    private Settings(Reader r) {
        httpPort = r.integer(PORT, 0, 65535);
        maxBodyBytes = r.integer(MAX_BODY_BYTES, 1024, Integer.MAX_VALUE);
        apiKeys = r.apiKeys(API_KEYS, API_KEYS_FILE);
        routesDir = Path.of(r.text(ROUTES_DIR));
        dataDir = Path.of(r.text(DATA_DIR));
        // under the data folder unless set apart: moving COMFYLESS_DATA_DIR moves the outputs with the rest
        outputDir = Path.of(r.text(OUTPUT_DIR, dataDir.resolve("outputs").toString()));
        outputStorage = r.outputStorage();
        redisHost = r.optional(REDIS_HOST);
        redisPort = r.integer(REDIS_PORT, 1, 65535);
        redisPassword = r.optional(REDIS_PASSWORD);
        redisDb = r.integer(REDIS_DB, 0, 1023);
        redisUsername = r.optional(REDIS_USERNAME);
        redisTls = r.bool(REDIS_TLS);
        redisTlsCa = r.certificates(REDIS_TLS_CA_FILE);
        redisSentinels = r.hostPorts(REDIS_SENTINELS);
        redisSentinelMaster = r.optional(REDIS_SENTINEL_MASTER);
        redisClusterNodes = r.hostPorts(REDIS_CLUSTER_NODES);
        redisPrefix = r.matching(REDIS_PREFIX, PREFIX, "1-64 characters of letters, digits and :._{}-");
        r.redisTopology(this);
        redisTimeout = r.duration(REDIS_TIMEOUT, Duration.ofMillis(100), Duration.ofMinutes(5));
        embeddedRedisPort = r.integer(EMBEDDED_REDIS_PORT, 1, 65535);
        taskRetention = r.duration(TASK_RETENTION, Duration.ofSeconds(1), Duration.ofDays(3650));
        taskTimeout = r.duration(TASK_TIMEOUT, Duration.ofSeconds(1), Duration.ofDays(7));
        defaultMaxAttempts = r.integer(MAX_ATTEMPTS, 1, 10);
        sweepInterval = r.duration(SWEEP_INTERVAL, Duration.ofMillis(100), Duration.ofHours(1));
        taskLease = r.duration(TASK_LEASE, Duration.ofSeconds(3), Duration.ofHours(1));
        replicaId = r.matching(REPLICA_ID, REPLICA, "empty, or 1-100 characters of letters, digits and :._@-");
        eventsEndpoint = r.matching(EVENTS_ENDPOINT, ENDPOINT_URI,
                "empty, or a Camel endpoint URI such as direct:task-events or seda:events?size=1000");
        shutdownTimeout = r.duration(SHUTDOWN_TIMEOUT, Duration.ofSeconds(1), Duration.ofHours(1));
        deleteInstancesOnShutdown = "delete".equals(r.matching(ON_SHUTDOWN, Pattern.compile("keep|delete"),
                "keep or delete"));
        leaderLease = r.duration(LEADER_LEASE, Duration.ofSeconds(3), Duration.ofMinutes(10));
        comfyUiUrls = r.urls(COMFYUI_URLS);
        boolean haveKey = r.optional(NOVITA_API_KEY).isPresent();
        provider = r.provider(PROVIDER, !comfyUiUrls.isEmpty(), haveKey);
        boolean sandbox = provider == Provider.SANDBOX;
        // the sandbox tells the seed's whole story in minutes: no instance kept, idle ones go after a minute
        sandboxBootTime = r.duration(SANDBOX_BOOT_TIME, Duration.ZERO, Duration.ofHours(1));
        int minWorkers = r.integer(NOVITA_MIN_WORKERS, 0, 1000, sandbox ? "0" : null);
        int maxWorkers = r.integer(NOVITA_MAX_WORKERS, 0, 1000);
        if (minWorkers > maxWorkers && provider != Provider.STATIC) {
            r.problems.add(NOVITA_MIN_WORKERS.label() + " is " + minWorkers + " but " + NOVITA_MAX_WORKERS.label()
                    + " is " + maxWorkers + ": the minimum cannot exceed the maximum");
        }
        novita = new Novita(r.optional(NOVITA_API_KEY), r.text(NOVITA_PRODUCT_ID), r.text(NOVITA_IMAGE_URL),
                r.url(NOVITA_BASE_URL), r.integer(NOVITA_GPU_NUM, 1, 16), r.integer(NOVITA_ROOTFS_SIZE, 1, 10_000),
                minWorkers, maxWorkers, r.duration(NOVITA_IDLE_TIMEOUT, Duration.ofSeconds(1), Duration.ofDays(30),
                sandbox ? "60" : null));
        fleet = new Fleet(r.matching(INSTANCE_PREFIX, INSTANCE_NAME_PREFIX,
                "1-40 characters of lowercase letters, digits and hyphens (Novita instance names)"),
                r.integer(MAX_CREATE_PER_STEP, 1, 100),
                r.duration(SCALE_UP_COOLDOWN, Duration.ZERO, Duration.ofHours(24)),
                r.duration(TARGET_WAIT, Duration.ZERO, Duration.ofHours(24)),
                r.duration(CREATION_TIMEOUT, Duration.ofSeconds(1), Duration.ofHours(24)),
                r.duration(AUTOSCALE_INTERVAL, Duration.ofMillis(100), Duration.ofHours(1)),
                r.duration(INSTANCE_WATCH_INTERVAL, Duration.ofMillis(100), Duration.ofHours(1), sandbox ? "1s" : null),
                r.duration(CLEANUP_INTERVAL, Duration.ofMillis(100), Duration.ofDays(1)),
                r.duration(RECONCILE_INTERVAL, Duration.ofMillis(100), Duration.ofDays(1)),
                // the sandbox's boot time is known: its first waiting task is told the truth, not Novita's minutes
                r.duration(BOOT_ESTIMATE, Duration.ZERO, Duration.ofHours(2),
                        sandbox ? sandboxBootTime.toMillis() + "ms" : null));
        novitaCalls = new NovitaCalls(r.integer(NOVITA_RETRIES, 0, 20),
                r.duration(NOVITA_RETRY_DELAY, Duration.ofMillis(10), Duration.ofMinutes(1)),
                r.duration(NOVITA_TIMEOUT, Duration.ofSeconds(1), Duration.ofMinutes(10)),
                r.duration(NOVITA_BREAKER_OPEN, Duration.ofSeconds(1), Duration.ofHours(1)));
        comfyUiTimeout = r.duration(COMFYUI_TIMEOUT, Duration.ofMillis(100), Duration.ofHours(1));
        maxInputBytes = r.integer(MAX_INPUT_BYTES, 1024, Integer.MAX_VALUE);
        inputFetchTimeout = r.duration(INPUT_FETCH_TIMEOUT, Duration.ofMillis(100), Duration.ofHours(1));
        allowPrivateUrls = r.bool(ALLOW_PRIVATE_URLS);
        webhooks = webhooks(r, allowPrivateUrls);
        inputConcurrency = r.integer(INPUT_CONCURRENCY, 1, 1024);
        outputCopyConcurrency = r.integer(OUTPUT_COPY_CONCURRENCY, 1, 1024);
        historyPollMax = r.duration(HISTORY_POLL_MAX, Duration.ofMillis(100), Duration.ofHours(1));
        healthInterval = r.duration(HEALTH_INTERVAL, Duration.ofMillis(100), Duration.ofHours(1));
        healthFailures = r.integer(HEALTH_FAILURES, 1, 100);
        readinessInterval = r.duration(READINESS_INTERVAL, Duration.ofMillis(100), Duration.ofHours(1));
        sandboxStepTime = r.duration(SANDBOX_STEP_TIME, Duration.ZERO, Duration.ofMinutes(1));
        if (provider == Provider.NOVITA) {
            if (novita.apiKey().isEmpty()) {
                r.problems.add(PROVIDER.label() + " is novita but " + NOVITA_API_KEY.label() + " is not set: create a "
                        + "key in the Novita console (API settings), or unset COMFYLESS_PROVIDER for the sandbox");
            }
            if (novita.productId().isEmpty()) {
                r.problems.add(NOVITA_PRODUCT_ID.label() + " is required with the Novita provider: pick an id from "
                        + "GET https://api.novita.ai/gpu-instance/openapi/v1/products, e.g. 4090.16c62g");
            }
            if (novita.imageUrl().isEmpty()) {
                r.problems.add(NOVITA_IMAGE_URL.label() + " is required with the Novita provider: a ComfyUI "
                        + "image that listens on port 8188, e.g. docker.io/yanwk/comfyui-boot:cu124-slim");
            }
        }
        if (provider == Provider.STATIC && comfyUiUrls.isEmpty()) {
            r.problems.add(PROVIDER.label() + " is static but " + COMFYUI_URLS.label()
                    + " is empty: list your ComfyUI servers, e.g. COMFYUI_URLS=http://gpu-1:8188,http://gpu-2:8188");
        }
        if (!r.problems.isEmpty()) {
            throw new SettingsException("Invalid configuration:\n  - " + String.join("\n  - ", r.problems));
        }
    }

    /**
     * Reads and validates every setting.
     *
     * @param lookup the resolved value of a property key (Camel's properties component in the service, a map in
     *               tests); an absent or empty value means the setting's default
     * @throws SettingsException listing every unusable value
     */
    public static Settings load(Function<String, Optional<String>> lookup) {
        return new Settings(new Reader(lookup));
    }

    /** Parses a duration the way every duration setting is written: {@code 600} (seconds), {@code 500ms},
     * {@code 30s}, {@code 10m}, {@code 24h}, {@code 7d}. */
    public static Optional<Duration> parseDuration(String text) {
        Matcher m = DURATION.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            return Optional.empty();
        }
        long n;
        try {
            n = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
        String unit = m.group(2) == null ? "s" : m.group(2);
        try {
            return Optional.of(switch (unit) {
                case "ms" -> Duration.ofMillis(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                case "d" -> Duration.ofDays(n);
                default -> Duration.ofSeconds(n);
            });
        } catch (ArithmeticException e) {
            return Optional.empty();
        }
    }

    /** A duration as a setting is written: {@code 1500ms}, {@code 90s}, {@code 10m}, {@code 24h}, {@code 7d}. */
    /**
     * How long a status call to a worker (a health probe, a history or queue check of a running prompt) may take
     * before it counts as a failed check: half the health interval, at most COMFYLESS_COMFYUI_TIMEOUT. ComfyUI
     * answers these in milliseconds; a hung one (accepting connections, answering nothing) is thus failed after
     * COMFYLESS_HEALTH_FAILURES such checks, within about two health intervals.
     */
    public Duration probeTimeout() {
        Duration half = healthInterval.dividedBy(2);
        return half.compareTo(comfyUiTimeout) < 0 ? half : comfyUiTimeout;
    }

    public static String human(Duration d) {
        if (d.toMillis() % 1000 != 0) {
            return d.toMillis() + "ms";
        }
        if (d.toSeconds() < 60 || d.toSeconds() % 60 != 0) {
            return d.toSeconds() + "s";
        }
        if (d.toMinutes() < 60 || d.toMinutes() % 60 != 0) {
            return d.toMinutes() + "m";
        }
        if (d.toHours() < 24 || d.toHours() % 24 != 0) {
            return d.toHours() + "h";
        }
        return d.toDays() + "d";
    }

    private static Webhooks webhooks(Reader r, boolean allowPrivateUrls) {
        String url = r.text(WEBHOOK_URL);
        if (!url.isEmpty()) {
            String problem = dev.comfyless.net.InputUrl.problem(url, allowPrivateUrls);
            if (problem != null) {
                r.problems.add(WEBHOOK_URL.label() + " cannot be used: " + problem);
                url = "";
            }
        }
        String secretText = r.text(WEBHOOK_SECRET);
        byte[] secret = new byte[0];
        if (!secretText.isEmpty()) {
            try {
                secret = java.util.Base64.getDecoder().decode(secretText.startsWith("whsec_")
                        ? secretText.substring("whsec_".length()) : secretText);
            } catch (IllegalArgumentException e) {
                secret = new byte[0];
            }
            if (secret.length < 16) {
                r.problems.add(WEBHOOK_SECRET.label() + " must be whsec_ followed by the base64 of at least 16 "
                        + "random bytes (for example whsec_$(openssl rand -base64 32)); the value given is not");
                secret = new byte[0];
            }
        } else if (!url.isEmpty()) {
            r.problems.add(WEBHOOK_SECRET.label() + " must be set when " + WEBHOOK_URL.env() + " is: every delivery "
                    + "is signed with it (for example whsec_$(openssl rand -base64 32))");
        }
        return new Webhooks(url, secret, r.duration(WEBHOOK_RETRY_FOR, Duration.ZERO, Duration.ofDays(30)),
                r.duration(WEBHOOK_RETRY_DELAY, Duration.ofMillis(100), Duration.ofDays(1)),
                r.duration(WEBHOOK_RETRY_MAX_DELAY, Duration.ofMillis(100), Duration.ofDays(1)),
                r.duration(WEBHOOK_TIMEOUT, Duration.ofMillis(100), Duration.ofMinutes(10)));
    }

    /** Collects every problem so that one start tells the operator about all of them. */
    private static final class Reader {
        final Function<String, Optional<String>> lookup;
        final List<String> problems = new ArrayList<>();

        Reader(Function<String, Optional<String>> lookup) {
            this.lookup = lookup;
        }

        String text(Setting s) {
            return text(s, null);
        }

        /** The value, or {@code otherDefault} (when given) instead of the setting's documented default. */
        String text(Setting s, String otherDefault) {
            return lookup.apply(s.key()).map(String::strip).filter(v -> !v.isEmpty())
                    .orElse(otherDefault != null ? otherDefault : s.defaultValue());
        }

        Optional<String> optional(Setting s) {
            String v = text(s);
            return v.isEmpty() ? Optional.empty() : Optional.of(v);
        }

        private String shown(Setting s, String value) {
            return s.secret() ? "(hidden)" : "\"" + value + "\"";
        }

        int integer(Setting s, long min, long max) {
            return integer(s, min, max, null);
        }

        int integer(Setting s, long min, long max, String otherDefault) {
            String v = text(s, otherDefault);
            try {
                long n = Long.parseLong(v);
                if (n < min || n > max) {
                    problems.add(s.label() + " must be between " + min + " and " + max + ", got " + shown(s, v));
                    return Integer.parseInt(s.defaultValue());
                }
                return (int) n;
            } catch (NumberFormatException e) {
                problems.add(s.label() + " must be a whole number between " + min + " and " + max + ", got "
                        + shown(s, v));
                return Integer.parseInt(s.defaultValue());
            }
        }

        Duration duration(Setting s, Duration min, Duration max) {
            return duration(s, min, max, null);
        }

        Duration duration(Setting s, Duration min, Duration max, String otherDefault) {
            String v = text(s, otherDefault);
            Optional<Duration> d = parseDuration(v);
            if (d.isEmpty()) {
                problems.add(s.label() + " must be a duration such as 600 (seconds), 30s, 10m, 24h or 7d, got "
                        + shown(s, v));
                return parseDuration(s.defaultValue()).orElseThrow();
            }
            if (d.get().compareTo(min) < 0 || d.get().compareTo(max) > 0) {
                problems.add(s.label() + " must be between " + human(min) + " and " + human(max) + ", got "
                        + shown(s, v));
                return parseDuration(s.defaultValue()).orElseThrow();
            }
            return d.get();
        }

        boolean bool(Setting s) {
            String v = text(s).toLowerCase(Locale.ROOT);
            if (!v.equals("true") && !v.equals("false")) {
                problems.add(s.label() + " must be true or false, got " + shown(s, v));
                return Boolean.parseBoolean(s.defaultValue());
            }
            return Boolean.parseBoolean(v);
        }

        String matching(Setting s, Pattern pattern, String rule) {
            String v = text(s);
            if (!pattern.matcher(v).matches()) {
                problems.add(s.label() + " must be " + rule + ", got " + shown(s, v));
                return s.defaultValue();
            }
            return v;
        }

        String url(Setting s) {
            String v = text(s);
            // an endpoint given without a scheme is taken as https://
            String withScheme = v.contains("://") ? v : "https://" + v;
            try {
                java.net.URI uri = java.net.URI.create(withScheme);
                if (uri.getHost() == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
                    throw new IllegalArgumentException();
                }
            } catch (IllegalArgumentException e) {
                problems.add(s.label() + " must be an http(s) URL such as https://api.novita.ai, got " + shown(s, v));
                return s.defaultValue();
            }
            return withScheme.endsWith("/") ? withScheme.substring(0, withScheme.length() - 1) : withScheme;
        }

        List<String> urls(Setting s) {
            List<String> urls = new ArrayList<>();
            for (String part : text(s).split(",")) {
                String url = part.strip();
                if (url.isEmpty()) {
                    continue;
                }
                try {
                    java.net.URI uri = java.net.URI.create(url);
                    if (uri.getHost() == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
                        throw new IllegalArgumentException();
                    }
                    urls.add(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
                } catch (IllegalArgumentException e) {
                    problems.add(s.label() + " must list http(s) base URLs separated by commas, such as "
                            + "http://127.0.0.1:8188; \"" + url + "\" is not one");
                }
            }
            return List.copyOf(urls);
        }

        /** The keys of the list setting and of the file setting; problems name the variable, never a key. */
        ApiKeyList apiKeys(Setting list, Setting file) {
            java.util.LinkedHashSet<String> keys = new java.util.LinkedHashSet<>();
            int position = 0;
            for (String part : lookup.apply(list.key()).orElse("").split(",")) {
                String key = part.strip();
                if (key.isEmpty()) {
                    continue;
                }
                position++;
                if (apiKey(key, list.label() + ": key " + position)) {
                    keys.add(key);
                }
            }
            Optional<String> path = optional(file);
            if (path.isPresent()) {
                try {
                    List<String> lines = java.nio.file.Files.readAllLines(Path.of(path.get()),
                            java.nio.charset.StandardCharsets.UTF_8);
                    int found = 0;
                    for (int i = 0; i < lines.size(); i++) {
                        String key = lines.get(i).strip();
                        if (key.isEmpty() || key.startsWith("#")) {
                            continue;
                        }
                        found++;
                        if (apiKey(key, file.label() + ": line " + (i + 1))) {
                            keys.add(key);
                        }
                    }
                    // a file meant to turn authentication on must not leave the API open by being empty
                    if (found == 0) {
                        problems.add(file.label() + " lists no key (" + path.get() + "): put one key a line, or "
                                + "unset it");
                    }
                } catch (java.io.IOException | RuntimeException e) {
                    // the exception's own message is left out: a malformed-input one could quote the file
                    problems.add(file.label() + " cannot be read: " + path.get() + " (" + e.getClass().getSimpleName()
                            + "); give a readable UTF-8 file with one key a line, or unset it");
                }
            }
            return new ApiKeyList(List.copyOf(keys));
        }

        /** Whether a key is usable; a problem names where it is, never the key itself. */
        private boolean apiKey(String key, String where) {
            if (key.length() < MIN_API_KEY_LENGTH) {
                problems.add(where + " is " + key.length() + " characters long; API keys must have at least "
                        + MIN_API_KEY_LENGTH + " (generate one with: openssl rand -hex 32)");
                return false;
            }
            if (!key.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
                problems.add(where + " has a space or a character that is not printable ASCII; an HTTP header "
                        + "cannot carry it (generate one with: openssl rand -hex 32)");
                return false;
            }
            return true;
        }

        /** A comma-separated list of host:port (an IPv6 host in brackets); each checked, in order. */
        List<String> hostPorts(Setting s) {
            List<String> out = new ArrayList<>();
            for (String part : text(s).split(",")) {
                String address = part.strip();
                if (address.isEmpty()) {
                    continue;
                }
                Matcher m = HOST_PORT.matcher(address);
                int port = -1;
                if (m.matches()) {
                    try {
                        port = Integer.parseInt(m.group(2));
                    } catch (NumberFormatException e) {
                        port = -1;
                    }
                }
                if (port < 1 || port > 65535) {
                    problems.add(s.label() + " must list host:port addresses separated by commas, such as "
                            + "10.0.0.1:26379,10.0.0.2:26379; \"" + address + "\" is not one");
                    continue;
                }
                out.add(address);
            }
            return List.copyOf(out);
        }

        /** The X.509 certificates of a PEM file; empty when the setting is unset. */
        List<java.security.cert.X509Certificate> certificates(Setting s) {
            Optional<String> path = optional(s);
            if (path.isEmpty()) {
                return List.of();
            }
            try (java.io.InputStream in = java.nio.file.Files.newInputStream(Path.of(path.get()))) {
                List<java.security.cert.X509Certificate> certs = new ArrayList<>();
                for (java.security.cert.Certificate c : java.security.cert.CertificateFactory.getInstance("X.509")
                        .generateCertificates(in)) {
                    certs.add((java.security.cert.X509Certificate) c);
                }
                if (certs.isEmpty()) {
                    problems.add(s.label() + " holds no certificate: " + path.get());
                }
                return List.copyOf(certs);
            } catch (java.io.IOException | java.security.cert.CertificateException | RuntimeException e) {
                problems.add(s.label() + " cannot be read as PEM certificates: " + path.get() + " ("
                        + e.getClass().getSimpleName() + ")");
                return List.of();
            }
        }

        /** The Redis settings that only make sense together (or never together). */
        void redisTopology(Settings s) {
            List<String> chosen = new ArrayList<>();
            if (s.redisHost.isPresent()) {
                chosen.add(REDIS_HOST.label());
            }
            if (!s.redisSentinels.isEmpty()) {
                chosen.add(REDIS_SENTINELS.label());
            }
            if (!s.redisClusterNodes.isEmpty()) {
                chosen.add(REDIS_CLUSTER_NODES.label());
            }
            if (chosen.size() > 1) {
                problems.add("set only one of REDIS_HOST (one server), REDIS_SENTINELS (Sentinel) and "
                        + "REDIS_CLUSTER_NODES (Redis Cluster); set are: " + String.join(", ", chosen));
            }
            if (!s.redisSentinels.isEmpty() && s.redisSentinelMaster.isEmpty()) {
                problems.add(REDIS_SENTINELS.label() + " is set but " + REDIS_SENTINEL_MASTER.label()
                        + " is not: give the master name the Sentinels monitor (\"sentinel monitor <name> ...\")");
            }
            if (s.redisSentinels.isEmpty() && s.redisSentinelMaster.isPresent()) {
                problems.add(REDIS_SENTINEL_MASTER.label() + " is set but " + REDIS_SENTINELS.label()
                        + " is not: list the Sentinels as host:port");
            }
            if (!s.redisClusterNodes.isEmpty()) {
                if (s.redisDb != 0) {
                    problems.add(REDIS_DB.label() + " is " + s.redisDb + " but a Redis Cluster has only database 0 ("
                            + REDIS_CLUSTER_NODES.label() + " is set)");
                }
                if (hashTag(s.redisPrefix).isEmpty()) {
                    problems.add(REDIS_PREFIX.label() + " is \"" + s.redisPrefix + "\" but with "
                            + REDIS_CLUSTER_NODES.label() + " it must hold a hash tag, such as {comfyless}:, so that "
                            + "every key of the deployment is in one slot (a script changes several keys at once)");
                }
            }
            if (!s.redisTlsCa.isEmpty() && !s.redisTls) {
                problems.add(REDIS_TLS_CA_FILE.label() + " is set but " + REDIS_TLS.label() + " is not true");
            }
            if (s.redisTls && chosen.isEmpty()) {
                problems.add(REDIS_TLS.label() + " is true but no Redis is configured: the embedded Redis listens "
                        + "on the loopback without TLS; set REDIS_HOST, REDIS_SENTINELS or REDIS_CLUSTER_NODES");
            }
        }

        OutputStorage outputStorage() {
            String store = matching(OUTPUT_STORE, Pattern.compile("file|s3"), "file or s3");
            // the bucket's settings are checked even with the file store: a typo waits for no switch to s3
            Optional<String> endpoint = optional(OUTPUT_S3_ENDPOINT).map(v -> url(OUTPUT_S3_ENDPOINT))
                    .filter(v -> !v.isEmpty());
            String region = matching(OUTPUT_S3_REGION, S3_REGION, "a region name such as us-east-1 or auto");
            boolean pathStyle = bool(OUTPUT_S3_PATH_STYLE);
            String prefix = matching(OUTPUT_S3_PREFIX, S3_PREFIX,
                    "empty or up to 200 characters of letters, digits and /._- (e.g. outputs/)");
            int presign = integer(OUTPUT_S3_PRESIGN_SECONDS, 1, 604_800);
            Optional<String> bucket = optional(OUTPUT_S3_BUCKET);
            if (bucket.isPresent() && !S3_BUCKET.matcher(bucket.get()).matches()) {
                problems.add(OUTPUT_S3_BUCKET.label() + " must be a bucket name (3-63 lowercase letters, digits, dots "
                        + "and hyphens), got " + shown(OUTPUT_S3_BUCKET, bucket.get()));
            }
            if (!store.equals("s3")) {
                return new OutputStorage(Optional.empty());
            }
            if (bucket.isEmpty()) {
                problems.add(OUTPUT_S3_BUCKET.label() + " is required with " + OUTPUT_STORE.label() + "=s3: name "
                        + "the bucket the outputs go to (it must exist), or set COMFYLESS_OUTPUT_STORE=file");
            }
            return new OutputStorage(Optional.of(new S3(endpoint, bucket.orElse(""), region, pathStyle, prefix,
                    Duration.ofSeconds(presign))));
        }

        Provider provider(Setting s, boolean haveUrls, boolean haveNovitaKey) {
            String v = text(s).toLowerCase(Locale.ROOT);
            if (v.isEmpty()) {
                return haveUrls ? Provider.STATIC : haveNovitaKey ? Provider.NOVITA : Provider.SANDBOX;
            }
            for (Provider p : Provider.values()) {
                if (p.wire().equals(v)) {
                    return p;
                }
            }
            problems.add(s.label() + " must be static, sandbox or novita, got " + shown(s, v));
            return Provider.SANDBOX;
        }
    }
}
