package dev.comfyless.api;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.List;

/**
 * The configured API keys, kept only as SHA-256 digests, and the check of an {@code Authorization} header.
 * Comparing digests rather than keys makes the work independent of the presented key's length and of how much of
 * it matches: every configured digest is compared with {@link MessageDigest#isEqual} (constant time), with no exit
 * at the first match.
 */
public final class ApiKeys {

    private static final String SCHEME = "bearer";

    private final List<byte[]> digests;

    private ApiKeys(List<byte[]> digests) {
        this.digests = digests;
    }

    /** Keys as configured (already validated by Settings); none = authentication off. */
    public static ApiKeys of(Collection<String> keys) {
        return new ApiKeys(keys.stream().map(ApiKeys::sha256).toList());
    }

    public static ApiKeys none() {
        return new ApiKeys(List.of());
    }

    /** Whether callers must authenticate. */
    public boolean enabled() {
        return !digests.isEmpty();
    }

    public int count() {
        return digests.size();
    }

    /**
     * Whether an {@code Authorization} header value is {@code Bearer <a configured key>} (scheme in any case).
     * A missing or malformed header is hashed and compared like any other, so it costs the same.
     */
    public boolean matches(String authorization) {
        byte[] presented = sha256(token(authorization));
        boolean match = false;
        for (byte[] digest : digests) {
            // non-short-circuit OR: every digest is compared whatever the earlier ones gave
            match |= MessageDigest.isEqual(digest, presented);
        }
        return match;
    }

    /** The credentials after a Bearer scheme, or "" (which no configured key hashes to) when there are none. */
    private static String token(String authorization) {
        if (authorization == null) {
            return "";
        }
        String value = authorization.strip();
        int space = value.indexOf(' ');
        if (space != SCHEME.length() || !value.regionMatches(true, 0, SCHEME, 0, SCHEME.length())) {
            return "";
        }
        return value.substring(space + 1).strip();
    }

    private static byte[] sha256(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java runtime", e);
        }
    }

    @Override
    public String toString() {
        return "ApiKeys[" + digests.size() + " keys]";
    }
}
