package dev.outbox.jdbc;

import dev.outbox.spi.Destination;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one batch's destinations let it do, from what the relay knows of each ({@link Destinations}): where each event
 * goes (asked of the publisher once per event), whether a call may carry a destination's events now (its circuit:
 * granted, a probe this batch holds, or refused while paused), whether they may go beside calls in flight, and what
 * each answered call tells each destination's circuit, window and last answer. Not thread-safe: the batch calls it
 * under its own lock.
 */
final class BatchDestinations {

    private static final Logger log = LoggerFactory.getLogger(BatchDestinations.class);
    /** Where an event goes whose destination the publisher could not say. */
    static final Destination UNKNOWN = new Destination("unknown", "destination() threw");

    private final Destinations destinations;
    private final Map<Long, Destination> destinationOf = new HashMap<>();
    private final Set<Destination> batchDestinations;
    /** Destinations whose probe this batch holds: {@link #probesEnded} ends each on every path. */
    private final Set<Destination> probing = new HashSet<>();

    BatchDestinations(Publisher publisher, Destinations destinations, List<ClaimedBatch.Row> rows, String ownerId) {
        this.destinations = destinations;
        for (ClaimedBatch.Row row : rows) {
            destinationOf.put(row.position(), row.readable() ? ask(publisher, row, ownerId) : UNKNOWN);
        }
        this.batchDestinations = new HashSet<>(destinationOf.values());
    }

    private static Destination ask(Publisher publisher, ClaimedBatch.Row row, String ownerId) {
        try {
            Destination d = publisher.destination(row.event());
            return d == null ? UNKNOWN : d;
        } catch (RuntimeException e) {
            log.warn("relay {}: publisher.destination threw for event {}: {}", ownerId, row.eventId(), e.toString());
            return UNKNOWN;
        }
    }

    /** @return where a row of the batch goes */
    Destination of(ClaimedBatch.Row row) {
        return destinationOf.get(row.position());
    }

    /**
     * @return whether a call may carry {@code d}'s events now: its circuit grants it, or lets this batch probe it
     *         (held until {@link #probesEnded} or an answer)
     */
    boolean mayCall(Destination d) {
        if (probing.contains(d)) {
            return true;
        }
        return switch (destinations.circuit(d).admit()) {
            case GRANTED -> true;
            case PROBE -> probing.add(d);
            case REFUSED -> false;
        };
    }

    /** @return how long {@code d} stays paused, in milliseconds; 0 when it is not */
    long pauseLeftMillis(Destination d) {
        return destinations.circuit(d).pauseLeftMillis();
    }

    /**
     * @param beside whether the call would start beside calls in flight
     * @return how many of {@code d}'s events the call may take: none beside calls in flight unless {@code d}'s calls
     *         may overlap, else its window ({@link Destinations#callLimit})
     */
    int window(Destination d, boolean beside) {
        return beside && !mayOverlap(d) ? 0 : destinations.callLimit(d);
    }

    /**
     * A destination's calls overlap only while nothing can go wrong that a call in flight would repeat: the last call
     * answered for it, by any batch of the relay, published all its events there, it is not being probed, and it is
     * not throttled (a window counts the events of one call). One destination's failures so keep its own calls one at
     * a time and no other destination's.
     */
    boolean mayOverlap(Destination d) {
        return destinations.tookAll(d) && overlapAllowed(d);
    }

    private boolean overlapAllowed(Destination d) {
        return !probing.contains(d) && destinations.callLimit(d) == Integer.MAX_VALUE;
    }

    /**
     * @param called whether the batch made a call already
     * @return whether later calls may overlap, for every destination of the batch: none probed or throttled, and
     *         each one's last call published everything (before the batch's first call, which may show it)
     */
    boolean chainsApart(boolean called) {
        for (Destination d : batchDestinations) {
            if (!overlapAllowed(d) || (called && !destinations.tookAll(d))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Tells each destination of an answered call how it answered: an outage (none of its events taken) pauses its
     * circuit, any answer closes it; its window hears how many were answered and how many strained; and whether all
     * were published decides if its next calls may overlap.
     */
    void answered(List<ClaimedBatch.Row> call, List<PublishOutcome> answers) {
        Map<Destination, Answer> byDestination = new HashMap<>();
        for (int i = 0; i < call.size(); i++) {
            byDestination.computeIfAbsent(of(call.get(i)), d -> new Answer()).add(answers.get(i));
        }
        byDestination.forEach((d, answer) -> {
            destinations.answered(d, answer.published == answer.sent);
            BrokerCircuit circuit = destinations.circuit(d);
            if (answer.tookNothing()) {
                circuit.unavailable(answer.unavailableReason);
                probing.remove(d);
            } else if (answer.answered > 0) {
                circuit.wentThrough();
                probing.remove(d);
            }
            // Some unavailable while others went through is the destination straining, as throttling is.
            int strained = answer.throttled + (answer.tookNothing() ? 0 : answer.unavailable);
            destinations.window(d).answered(answer.answered + strained - answer.throttled, strained);
        });
    }

    /**
     * @return how long an event its destination gave back waits, in milliseconds: the rest of the destination's
     *         pause when it is paused, else the destination's throttling pause
     */
    long deferral(ClaimedBatch.Row row) {
        Destination d = of(row);
        long paused = destinations.circuit(d).pauseLeftMillis();
        return paused > 0 ? paused : destinations.window(d).pauseMillis();
    }

    /** Ends the probes no call answered: the next batch probes those destinations. */
    void probesEnded() {
        for (Destination d : probing) {
            destinations.circuit(d).probeEnded();
        }
        probing.clear();
    }

    /** How one destination answered one call. */
    private static final class Answer {
        int sent;
        int published;
        /** Events the broker answered for: published, retried, rejected or throttled. */
        int answered;
        int throttled;
        int unavailable;
        String unavailableReason;

        void add(PublishOutcome outcome) {
            sent++;
            if (outcome.isPublished()) {
                published++;
            }
            switch (outcome.status()) {
                case PUBLISHED, RETRY, REJECTED -> answered++;
                case THROTTLED -> {
                    answered++;
                    throttled++;
                }
                case UNAVAILABLE -> {
                    unavailable++;
                    unavailableReason = unavailableReason == null ? outcome.reason() : unavailableReason;
                }
                case NOT_SENT, UNKNOWN -> { }
            }
        }

        /** An outage: every event of the call for this destination came back unavailable. */
        boolean tookNothing() {
            return sent > 0 && unavailable == sent;
        }
    }
}
