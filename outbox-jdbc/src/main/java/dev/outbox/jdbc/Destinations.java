package dev.outbox.jdbc;

import dev.outbox.spi.Destination;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the relay knows of each destination it publishes to: its circuit ({@link BrokerCircuit}), its send window
 * ({@link SendWindow}) and whether the last call answered for it published all its events there, one of each per
 * destination, so that one destination's outage, throttling or failures never hold up another's events. Destinations
 * are learnt as events for them come; one not seen yet is healthy, and has no call answered yet.
 */
final class Destinations {

    private record Known(BrokerCircuit circuit, SendWindow window, AtomicBoolean tookAll) {
    }

    private final String ownerId;
    private final Duration pause;
    private final Duration maxPause;
    private final int maxWindow;
    private final Map<Destination, Known> known = new ConcurrentHashMap<>();

    Destinations(String ownerId, Duration pause, Duration maxPause, int maxWindow) {
        this.ownerId = ownerId;
        this.pause = pause;
        this.maxPause = maxPause;
        this.maxWindow = maxWindow;
    }

    private Known of(Destination destination) {
        return known.computeIfAbsent(destination, d -> new Known(
                new BrokerCircuit(ownerId + " to " + d.system() + " " + d.name(), pause, maxPause),
                new SendWindow(maxWindow), new AtomicBoolean()));
    }

    BrokerCircuit circuit(Destination destination) {
        return of(destination).circuit();
    }

    SendWindow window(Destination destination) {
        return of(destination).window();
    }

    /**
     * @return whether the last call answered for {@code destination}, by any batch of the relay, published every one
     *         of its events there; false while none was answered
     */
    boolean tookAll(Destination destination) {
        Known k = known.get(destination);
        return k != null && k.tookAll().get();
    }

    /** Notes how a call answered for {@code destination}: whether it published every one of its events there. */
    void answered(Destination destination, boolean tookAll) {
        of(destination).tookAll().set(tookAll);
    }

    /**
     * @return how many of {@code destination}'s events one call may take: its window while the broker throttles it,
     *         else no limit
     */
    int callLimit(Destination destination) {
        Known k = known.get(destination);
        if (k == null) {
            return Integer.MAX_VALUE;
        }
        int size = k.window().size();
        return size >= k.window().max() ? Integer.MAX_VALUE : size;
    }

    /**
     * @return true when the relay knows destinations and every one of them is paused, or probed by another batch: a
     *         claim now would only give its events back
     */
    boolean allPaused() {
        if (known.isEmpty()) {
            return false;
        }
        for (Known k : known.values()) {
            if (!k.circuit().paused()) {
                return false;
            }
        }
        return true;
    }

    /** @return the state of the destination that fares worst: open before half-open before closed */
    JdbcRelay.BrokerState worst() {
        JdbcRelay.BrokerState worst = JdbcRelay.BrokerState.CLOSED;
        for (Known k : known.values()) {
            JdbcRelay.BrokerState s = k.circuit().state();
            if (s.ordinal() > worst.ordinal()) {
                worst = s;
            }
        }
        return worst;
    }

    /** @return why the worst-faring destination is unavailable, naming it; null while every one is closed */
    String worstReason() {
        JdbcRelay.BrokerState worst = worst();
        if (worst == JdbcRelay.BrokerState.CLOSED) {
            return null;
        }
        for (Map.Entry<Destination, Known> e : known.entrySet()) {
            if (e.getValue().circuit().state() == worst) {
                return e.getKey().system() + " " + e.getKey().name() + ": " + e.getValue().circuit().reason();
            }
        }
        return null;
    }

    List<DestinationStatus> statuses() {
        List<DestinationStatus> statuses = new ArrayList<>();
        known.forEach((d, k) -> statuses.add(new DestinationStatus(d, k.circuit().state(), k.circuit().reason(),
                k.window().size(), k.window().max())));
        statuses.sort((a, b) -> (a.destination().system() + " " + a.destination().name())
                .compareTo(b.destination().system() + " " + b.destination().name()));
        return statuses;
    }
}
