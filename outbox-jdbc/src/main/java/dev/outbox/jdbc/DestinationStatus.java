package dev.outbox.jdbc;

import dev.outbox.spi.Destination;

/**
 * What a relay knows of one destination it publishes to, for health checks and metrics: whether its events go
 * through, and how many of them the relay hands over at a time while the broker throttles.
 *
 * @param destination the destination, as {@link dev.outbox.spi.Publisher#destination} names it
 * @param state {@link JdbcRelay.BrokerState#CLOSED} while calls go through; open (its events wait, the other
 *        destinations' flow) after a call it took nothing of; half-open while one batch probes it
 * @param unavailableReason why it took nothing, while not closed; else null
 * @param eventsPerCall how many of its events the relay hands over per call now
 * @param maxEventsPerCall how many it hands over when nothing is throttled
 */
public record DestinationStatus(Destination destination, JdbcRelay.BrokerState state, String unavailableReason,
                                int eventsPerCall, int maxEventsPerCall) {

    /** @return true while the broker throttles this destination enough that the relay sends a quarter or less */
    public boolean throttled() {
        return eventsPerCall * 4 <= maxEventsPerCall && maxEventsPerCall >= 4;
    }
}
