package dev.comfyless.net;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Which IP addresses an input image may be fetched from: public unicast only. Loopback, unspecified, link-local
 * (the cloud metadata service at 169.254.169.254 lives there), private, carrier-grade NAT, multicast, broadcast and
 * reserved ranges are refused, and so is an IPv6 address that embeds a refused IPv4 one (IPv4-mapped and -compatible,
 * NAT64 {@code 64:ff9b::/96}, 6to4 {@code 2002::/16}), since those reach the same host through a gateway or the
 * dual stack. Pure: it looks at the address bytes only, never at names.
 */
public final class AddressPolicy {

    private AddressPolicy() {
    }

    /** @return why {@code address} is refused, as a phrase ("a loopback address"), or null when it is allowed */
    public static String refusal(InetAddress address) {
        byte[] b = address.getAddress();
        if (address instanceof Inet4Address) {
            return refusalV4(b);
        }
        if (address instanceof Inet6Address) {
            return refusalV6(b);
        }
        return "not an IP address";
    }

    public static boolean allowed(InetAddress address) {
        return refusal(address) == null;
    }

    private static String refusalV4(byte[] b) {
        int a0 = b[0] & 0xFF;
        int a1 = b[1] & 0xFF;
        int a2 = b[2] & 0xFF;
        if (a0 == 0) {
            return a1 == 0 && a2 == 0 && b[3] == 0 ? "the unspecified address" : "a reserved address (0.0.0.0/8)";
        }
        if (a0 == 127) {
            return "a loopback address";
        }
        if (a0 == 10 || (a0 == 172 && (a1 & 0xF0) == 16) || (a0 == 192 && a1 == 168)) {
            return "a private network address";
        }
        if (a0 == 169 && a1 == 254) {
            return "a link-local address (where cloud metadata services answer)";
        }
        if (a0 == 100 && (a1 & 0xC0) == 64) {
            return "a carrier-grade NAT address (100.64.0.0/10)";
        }
        if ((a0 & 0xF0) == 224) {
            return "a multicast address";
        }
        if ((b[0] & b[1] & b[2] & b[3]) == (byte) 0xFF) {
            return "the broadcast address";
        }
        if ((a0 & 0xF0) == 240) {
            return "a reserved address (240.0.0.0/4)";
        }
        // IETF protocol assignments, documentation and benchmarking ranges: never a real image host
        if ((a0 == 192 && a1 == 0 && (a2 == 0 || a2 == 2)) || (a0 == 198 && a1 == 51 && a2 == 100)
                || (a0 == 203 && a1 == 0 && a2 == 113) || (a0 == 198 && (a1 & 0xFE) == 18)) {
            return "a reserved address (special-purpose range)";
        }
        return null;
    }

    private static String refusalV6(byte[] b) {
        boolean first80Zero = true;
        for (int i = 0; i < 10; i++) {
            first80Zero &= b[i] == 0;
        }
        if (first80Zero && b[10] == 0 && b[11] == 0) {
            // ::/96: unspecified (::), loopback (::1), or the deprecated IPv4-compatible form ::a.b.c.d
            boolean zero = true;
            for (int i = 12; i < 15; i++) {
                zero &= b[i] == 0;
            }
            if (zero && b[15] == 0) {
                return "the unspecified address";
            }
            if (zero && b[15] == 1) {
                return "a loopback address";
            }
            return embedded(b, 12, "IPv4-compatible");
        }
        if (first80Zero && b[10] == (byte) 0xFF && b[11] == (byte) 0xFF) {
            // the JDK turns ::ffff:a.b.c.d into an Inet4Address already; this is for addresses built from bytes
            return embedded(b, 12, "IPv4-mapped");
        }
        if (b[0] == 0 && b[1] == 0x64 && b[2] == (byte) 0xFF && b[3] == (byte) 0x9B && zeros(b, 4, 12)) {
            return embedded(b, 12, "NAT64");
        }
        if (b[0] == 0x20 && b[1] == 0x02) {
            return embedded(b, 2, "6to4");
        }
        int top = b[0] & 0xFF;
        if (top == 0xFF) {
            return "a multicast address";
        }
        if (top == 0xFE && (b[1] & 0xC0) == 0x80) {
            return "a link-local address";
        }
        if (top == 0xFE && (b[1] & 0xC0) == 0xC0) {
            return "a site-local (private) address";
        }
        if ((top & 0xFE) == 0xFC) {
            return "a unique local (private) address";
        }
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == (byte) 0xB8) {
            return "a reserved address (documentation range)";
        }
        // only 2000::/3 is handed out as global unicast; anything else (discard prefix, unassigned) is not an image host
        if ((top & 0xE0) != 0x20) {
            return "a reserved address (not global unicast)";
        }
        return null;
    }

    private static boolean zeros(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    /** The IPv4 address carried at {@code offset}: refused when that one is. */
    private static String embedded(byte[] b, int offset, String form) {
        byte[] v4 = {b[offset], b[offset + 1], b[offset + 2], b[offset + 3]};
        String inner = refusalV4(v4);
        if (inner == null) {
            return null;
        }
        try {
            return inner + " (" + InetAddress.getByAddress(v4).getHostAddress() + " in " + form + " form)";
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // four bytes are always an address
        }
    }
}
