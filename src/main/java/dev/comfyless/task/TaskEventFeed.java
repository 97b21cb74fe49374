package dev.comfyless.task;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.comfyless.redis.RedisConnector;
import org.apache.camel.support.service.ServiceSupport;
import org.redisson.api.RTopic;
import org.redisson.client.codec.StringCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells this process of every task event any replica recorded: the Lua step that stores an event also publishes
 * {@code "<task id> <event id> <type>"} on the deployment's {@code events} channel, and this one subscription fans it
 * out to the open event streams and the events route, while one of them needs it ({@link #demand}). Pub/sub is a
 * nudge, not the record: a message lost while Redis was away is made up by the readers' own periodic look at the log.
 */
public final class TaskEventFeed extends ServiceSupport {

    private static final Logger LOG = LoggerFactory.getLogger(TaskEventFeed.class);

    /** Told on a Redisson thread: must return quickly. */
    @FunctionalInterface
    public interface Listener {
        void recorded(String taskId, String eventId, String type);

        /** The feed (re)subscribed: events recorded just before were not heard, look at what is new. */
        default void subscribed() {
        }
    }

    private final RedisConnector redis;
    private final String channel;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private RTopic topic;
    /** Readers that need the feed now; subscribed only while there is one (each message costs every replica). */
    private int demand;
    private boolean subscribing;
    private int subscription = -1;

    public TaskEventFeed(RedisConnector redis, String prefix) {
        this.redis = redis;
        this.channel = prefix + "events";
    }

    public void listen(Listener listener) {
        listeners.add(listener);
    }

    /**
     * One more ({@code +1}) or one fewer ({@code -1}) reader needs the feed: the events route while it forwards, the
     * open event streams while there is one. Without readers this replica does not subscribe, and the drain pays
     * nothing for events nobody follows here.
     */
    public synchronized void demand(int change) {
        demand += change;
        sync();
    }

    private boolean wanted() {
        return demand > 0 && (isStarting() || isStarted());
    }

    @Override
    protected synchronized void doStart() {
        sync();
    }

    /**
     * Subscribes while wanted and not subscribed, or unsubscribes when no longer wanted. A subscription that fails
     * (Redis cannot be reached: the service starts without it) is tried again in a second; once subscribed, Redisson
     * subscribes again by itself after a reconnect.
     */
    private synchronized void sync() {
        if (subscribing) {
            return;
        }
        if (!wanted()) {
            if (subscription >= 0) {
                int id = subscription;
                subscription = -1;
                try {
                    topic.removeListenerAsync(id);
                } catch (RuntimeException e) {
                    LOG.debug("Could not unsubscribe from {}: {}", channel, e.toString());
                }
            }
            return;
        }
        if (subscription >= 0) {
            return;
        }
        subscribing = true;
        try {
            if (topic == null) {
                topic = redis.client().getTopic(channel, StringCodec.INSTANCE);
            }
            topic.addListenerAsync(String.class, (ch, message) -> tell(message)).whenComplete((id, failure) ->
                    subscribed(id, failure));
        } catch (RuntimeException e) {
            subscribed(null, e);
        }
    }

    private void subscribed(Integer id, Throwable failure) {
        synchronized (this) {
            subscribing = false;
            if (failure != null) {
                LOG.debug("Cannot subscribe to {} yet: {}", channel, failure.toString());
                java.util.concurrent.CompletableFuture.delayedExecutor(1, java.util.concurrent.TimeUnit.SECONDS)
                        .execute(this::sync);
                return;
            }
            subscription = id;
            // no longer wanted meanwhile: undone here
            sync();
            if (subscription < 0) {
                return;
            }
        }
        listeners.forEach(Listener::subscribed);
    }

    void tell(String message) {
        String[] parts = message.split(" ", 3);
        if (parts.length < 3) {
            return;
        }
        for (Listener l : listeners) {
            try {
                l.recorded(parts[0], parts[1], parts[2]);
            } catch (RuntimeException e) {
                LOG.warn("A task event listener failed on {}: {}", message, e.toString());
            }
        }
    }

    @Override
    protected synchronized void doStop() {
        // not wanted once stopped: sync unsubscribes
        sync();
    }
}
