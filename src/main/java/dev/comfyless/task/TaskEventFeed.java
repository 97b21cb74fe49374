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
 * out to the open event streams, the events route and the webhook deliveries. Pub/sub is a nudge, not the record:
 * a message lost while Redis was away is made up by the readers' own periodic look at the stream.
 */
public final class TaskEventFeed extends ServiceSupport {

    private static final Logger LOG = LoggerFactory.getLogger(TaskEventFeed.class);

    /** Told on a Redisson thread: must return quickly. */
    @FunctionalInterface
    public interface Listener {
        void recorded(String taskId, String eventId, String type);
    }

    private final RedisConnector redis;
    private final String channel;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private RTopic topic;
    private volatile int subscription = -1;

    public TaskEventFeed(RedisConnector redis, String prefix) {
        this.redis = redis;
        this.channel = prefix + "events";
    }

    public void listen(Listener listener) {
        listeners.add(listener);
    }

    @Override
    protected void doStart() {
        subscribe();
    }

    /**
     * Subscribes, or tries again in a second while Redis cannot be reached (the service starts without Redis and
     * connects when it comes); once subscribed, Redisson subscribes again by itself after a reconnect.
     */
    private void subscribe() {
        if (!isStarting() && !isStarted()) {
            return;
        }
        try {
            if (topic == null) {
                topic = redis.client().getTopic(channel, StringCodec.INSTANCE);
            }
            topic.addListenerAsync(String.class, (ch, message) -> tell(message)).whenComplete((id, failure) -> {
                if (failure != null) {
                    later(failure);
                    return;
                }
                subscription = id;
                if (!isStarting() && !isStarted()) {
                    topic.removeListenerAsync(id);
                }
            });
        } catch (RuntimeException e) {
            later(e);
        }
    }

    private void later(Throwable failure) {
        LOG.debug("Cannot subscribe to {} yet: {}", channel, failure.toString());
        java.util.concurrent.CompletableFuture.delayedExecutor(1, java.util.concurrent.TimeUnit.SECONDS)
                .execute(this::subscribe);
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
    protected void doStop() {
        if (topic != null && subscription >= 0) {
            try {
                topic.removeListener(subscription);
            } catch (RuntimeException e) {
                LOG.debug("Could not unsubscribe from {}: {}", channel, e.toString());
            }
        }
    }
}
