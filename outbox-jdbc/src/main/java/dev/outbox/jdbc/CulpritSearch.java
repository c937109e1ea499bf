package dev.outbox.jdbc;

import dev.outbox.spi.PublishOutcome;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the events that make a publisher call fail without an answer: a call that throws, or events it answers
 * {@linkplain PublishOutcome#unknown unknown} (a router whose route threw). Events that were answered keep their
 * answer and are never sent again; the rest are sent again alone, split first by destination and then in halves by
 * aggregate (never splitting one aggregate's events), until the events that fail stand alone; only they are charged
 * an attempt. Every further call passes the {@link Gate} first, which renews the lease when due and lets through only
 * what may be sent now; what it holds back comes back {@linkplain PublishOutcome#notSent not sent}.
 *
 * <p>When no event of a destination was ever answered, and its events that failed alone span several aggregates,
 * that destination is failing as a whole (an outage, a bug of its own): nothing is charged, its events come back
 * unavailable.
 */
final class CulpritSearch {

    /** Lets through the events of a call that may be sent now; empty when none may. */
    interface Gate {
        List<ClaimedBatch.Row> admit(List<ClaimedBatch.Row> call);
    }

    private static final Logger log = LoggerFactory.getLogger(CulpritSearch.class);
    private static final PublishOutcome NOT_SENT = PublishOutcome.notSent("not sent: its lease had no time left for"
            + " another call, its destination was paused, or its aggregate left the batch");

    private final PublisherCall publisher;
    private final Function<ClaimedBatch.Row, String> key;
    private final String ownerId;

    CulpritSearch(PublisherCall publisher, Function<ClaimedBatch.Row, String> key, String ownerId) {
        this.publisher = publisher;
        this.key = key;
        this.ownerId = ownerId;
    }

    /**
     * Calls the publisher with {@code call}, which the gate already let through, and searches for the culprits if
     * the call fails without an answer for some of its events.
     *
     * @param destination where each event goes
     * @return one outcome per event of {@code call}, in its order
     */
    List<PublishOutcome> publish(List<ClaimedBatch.Row> call, Gate gate,
                                 Function<ClaimedBatch.Row, ?> destination) {
        Search search = new Search(gate, destination);
        search.send(call, true);
        Map<Object, List<ClaimedBatch.Row>> threwBy = new LinkedHashMap<>();
        for (ClaimedBatch.Row row : call) {
            if (search.threw.contains(row.position()) && !search.answered.contains(destination.apply(row))) {
                threwBy.computeIfAbsent(destination.apply(row), d -> new ArrayList<>()).add(row);
            }
        }
        for (List<ClaimedBatch.Row> rows : threwBy.values()) {
            if (aggregates(rows) > 1) {
                for (ClaimedBatch.Row row : rows) {
                    search.outcomes.put(row.position(), PublishOutcome.unavailable("every event threw alone: "
                            + search.outcomes.get(row.position()).reason()));
                }
            }
        }
        List<PublishOutcome> outcomes = new ArrayList<>(call.size());
        for (ClaimedBatch.Row row : call) {
            outcomes.add(search.outcomes.get(row.position()));
        }
        return outcomes;
    }

    private final class Search {
        private final Gate gate;
        private final Function<ClaimedBatch.Row, ?> destination;
        final Map<Long, PublishOutcome> outcomes = new HashMap<>();
        /** Positions of events that failed with nothing left to split. */
        final Set<Long> threw = new HashSet<>();
        /** Destinations with an event that was answered. */
        final Set<Object> answered = new HashSet<>();

        Search(Gate gate, Function<ClaimedBatch.Row, ?> destination) {
            this.gate = gate;
            this.destination = destination;
        }

        void send(List<ClaimedBatch.Row> call, boolean admitted) {
            List<ClaimedBatch.Row> sent = admitted ? call : gate.admit(call);
            if (sent.size() < call.size()) {
                Set<Long> going = new HashSet<>();
                sent.forEach(r -> going.add(r.position()));
                call.stream().filter(r -> !going.contains(r.position())).forEach(r -> outcomes.put(r.position(),
                        NOT_SENT));
            }
            if (sent.isEmpty()) {
                return;
            }
            PublisherCall.Answer answer = publisher.call(sent);
            List<ClaimedBatch.Row> unknown = new ArrayList<>();
            String cause;
            if (answer.outcomes() == null) {
                unknown.addAll(sent);
                cause = "publisher threw " + answer.thrown();
            } else {
                cause = null;
                for (int i = 0; i < sent.size(); i++) {
                    PublishOutcome o = answer.outcomes().get(i);
                    if (o.status() == PublishOutcome.Status.UNKNOWN) {
                        unknown.add(sent.get(i));
                        cause = cause == null ? o.reason() : cause;
                    } else {
                        outcomes.put(sent.get(i).position(), o);
                        answered.add(destination.apply(sent.get(i)));
                    }
                }
                if (unknown.isEmpty()) {
                    return;
                }
                if (unknown.size() < sent.size()) {
                    // The rest of the call was answered: only these are sent again, alone.
                    log.info("relay {}: {} of {} events of a call came back unknown ({}); sending them again alone",
                            ownerId, unknown.size(), sent.size(), cause);
                    send(unknown, false);
                    return;
                }
            }
            ClaimedBatch.Row first = unknown.get(0);
            if (aggregates(unknown) == 1) {
                unknown.forEach(r -> threw.add(r.position()));
                log.warn("relay {}: publisher failed for event {} ({}/{}): {}", ownerId, first.eventId(),
                        first.aggregateType(), first.aggregateId(), cause, answer.thrown());
                PublishOutcome retry = PublishOutcome.retry(cause);
                unknown.forEach(r -> outcomes.put(r.position(), retry));
                return;
            }
            log.info("relay {}: publisher failed for a call of {} events ({}); sending them again in parts to find the"
                    + " event responsible", ownerId, unknown.size(), cause);
            for (List<ClaimedBatch.Row> part : parts(unknown)) {
                send(part, false);
            }
        }

        /** One part per destination when the call spans several; else two halves by aggregate. */
        private List<List<ClaimedBatch.Row>> parts(List<ClaimedBatch.Row> call) {
            Map<Object, List<ClaimedBatch.Row>> byDestination = new LinkedHashMap<>();
            for (ClaimedBatch.Row row : call) {
                byDestination.computeIfAbsent(destination.apply(row), d -> new ArrayList<>()).add(row);
            }
            if (byDestination.size() > 1) {
                return new ArrayList<>(byDestination.values());
            }
            List<String> aggregates = call.stream().map(key).distinct().toList();
            Set<String> firstHalf = new HashSet<>(aggregates.subList(0, aggregates.size() / 2));
            List<ClaimedBatch.Row> first = new ArrayList<>();
            List<ClaimedBatch.Row> second = new ArrayList<>();
            for (ClaimedBatch.Row row : call) {
                (firstHalf.contains(key.apply(row)) ? first : second).add(row);
            }
            return List.of(first, second);
        }
    }

    private long aggregates(List<ClaimedBatch.Row> call) {
        return call.stream().map(key).distinct().count();
    }
}
