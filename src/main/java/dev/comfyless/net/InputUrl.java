package dev.comfyless.net;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The checks an input image URL passes before anything is fetched, at submit and on every redirect hop: http or
 * https, no credentials, a host; and, when the host is written as an IP address, that address as the JDK parses it
 * (the same parse the fetch connects to). Names are not resolved here.
 */
public final class InputUrl {

    /** What an operator does to fetch from private networks on purpose (an image server next to ComfyLess). */
    public static final String PRIVATE_HINT = "use a public URL, or set COMFYLESS_ALLOW_PRIVATE_URLS=true to fetch "
            + "from loopback and private networks";

    /** A host every label of which starts with a digit cannot be a DNS name (top-level domains start with a letter):
     * it is some spelling of an IPv4 address (127.0.0.1, 2130706433, 010.0.0.1), which the JDK's parser decides. */
    private static final Pattern NUMERIC_HOST = Pattern.compile("[0-9][0-9a-fA-FxX]*(\\.[0-9][0-9a-fA-FxX]*)*");

    private InputUrl() {
    }

    /** A URL that passed {@link #check}: its host without brackets, and the port the scheme implies. */
    public record Checked(URI uri, String host, int port, boolean https) {
        /** The host as messages show it: never the user info, path or query (a query can carry a token). */
        public String shown() {
            return host.contains(":") ? "[" + host + "]" : host;
        }
    }

    /** A URL or address that is not fetched; the message is a phrase fit for "could not be fetched: ...". */
    public static final class Refused extends Exception {
        public Refused(String message) {
            super(message, null, false, false);
        }
    }

    /** @throws Refused when the URL is not http(s), carries credentials or has no usable host */
    public static Checked check(String url) throws Refused {
        URI uri;
        try {
            uri = new URI(url);
        } catch (java.net.URISyntaxException e) {
            throw new Refused("it is not a valid URL");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new Refused("only http and https URLs are fetched" + (scheme.isEmpty() ? "" : ", not " + scheme + ":"));
        }
        String authority = uri.getRawAuthority();
        if (uri.getRawUserInfo() != null || (authority != null && authority.contains("@"))) {
            throw new Refused("URLs with credentials (user:password@) are not fetched; use a URL that needs none, "
                    + "or send the image as base64 in data");
        }
        String host = uri.getHost();
        if (host == null || host.isEmpty()) {
            // java.net.URI leaves the host out for forms such as 0x7f.1 or 127.1: none is guessed
            throw new Refused("it has no valid host (write an IP address as four decimal numbers, e.g. 203.0.113.7)");
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        boolean https = scheme.equals("https");
        return new Checked(uri, host, uri.getPort() >= 0 ? uri.getPort() : https ? 443 : 80, https);
    }

    /**
     * The address the host is written as, parsed by the JDK exactly as a connection to it would be; null when the
     * host is a DNS name (checked when it is resolved at fetch time).
     *
     * @throws Refused when the host looks like an address but the JDK does not take it as one (0x7f000001)
     */
    public static InetAddress literal(Checked url) throws Refused {
        String host = url.host();
        if (!host.contains(":") && !NUMERIC_HOST.matcher(host).matches()) {
            return null;
        }
        try {
            // an IP literal is parsed without a DNS query
            return InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new Refused(url.shown() + " is not a valid IP address");
        }
    }

    /**
     * The submit-time check: scheme, credentials, and a host written as an address must be one the policy allows.
     *
     * @return null when the URL may be fetched as far as can be told without DNS, else the reason
     */
    public static String problem(String url, boolean allowPrivate) {
        try {
            Checked checked = check(url);
            InetAddress literal = literal(checked);
            if (literal != null && !allowPrivate) {
                String refusal = AddressPolicy.refusal(literal);
                if (refusal != null) {
                    return checked.shown() + " is " + refusal + ": " + PRIVATE_HINT;
                }
            }
            return null;
        } catch (Refused e) {
            return e.getMessage();
        }
    }
}
