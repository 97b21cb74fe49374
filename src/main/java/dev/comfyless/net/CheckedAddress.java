package dev.comfyless.net;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

import io.vertx.core.Vertx;

/**
 * The one address a request to a client-given URL connects to (an input image, a webhook): the host is resolved once,
 * every address it resolves to must pass the policy (a name answering both public and private addresses is a
 * rebinding trick), and the caller connects to the address returned, so a DNS answer that changes between the check
 * and the connection is never used.
 */
public final class CheckedAddress {

    /** DNS, as a seam for tests ("public.test" resolving to an address the test's policy allows). */
    @FunctionalInterface
    public interface Resolver {
        InetAddress[] resolve(String host) throws UnknownHostException;
    }

    private CheckedAddress() {
    }

    /**
     * @param policy why an address is refused, null when it is allowed
     * @throws InputUrl.Refused with a phrase fit for "could not be fetched: ..." (refused or unresolvable host)
     * @throws TimeoutException when DNS did not answer before {@code deadlineNanos} (System.nanoTime)
     */
    public static InetAddress of(Vertx vertx, InputUrl.Checked url, Resolver resolver,
                                 Function<InetAddress, String> policy, long deadlineNanos)
            throws InputUrl.Refused, TimeoutException {
        InetAddress literal = InputUrl.literal(url);
        InetAddress[] all = literal != null ? new InetAddress[] {literal} : resolve(vertx, url, resolver, deadlineNanos);
        for (InetAddress a : all) {
            String refusal = policy.apply(a);
            if (refusal != null) {
                throw new InputUrl.Refused(url.shown() + (literal != null ? " is " : " resolves to ") + refusal
                        + ": " + InputUrl.PRIVATE_HINT);
            }
        }
        return all[0];
    }

    private static InetAddress[] resolve(Vertx vertx, InputUrl.Checked url, Resolver resolver, long deadlineNanos)
            throws InputUrl.Refused, TimeoutException {
        // off the calling thread so that a slow DNS server counts against the caller's deadline
        CompletableFuture<InetAddress[]> lookup = vertx.executeBlocking(() -> resolver.resolve(url.host()), false)
                .toCompletionStage().toCompletableFuture();
        try {
            InetAddress[] all = lookup.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (all == null || all.length == 0) {
                throw new UnknownHostException(url.host());
            }
            return all;
        } catch (ExecutionException | UnknownHostException e) {
            throw new InputUrl.Refused("the host " + url.shown() + " could not be resolved (DNS): check the URL");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InputUrl.Refused("interrupted");
        }
    }
}
