package dev.outbox.jdbc;

import dev.outbox.spi.PublishOutcome;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the events that make a publisher call throw. When a call of several aggregates' events throws, nothing is
 * known about them: the call is split in two (never splitting one aggregate's events) and each half sent again,
 * until the events that make it throw stand alone; only they are charged an attempt. Every further call passes the
 * {@link Gate} first, which renews the lease when due and lets through only what may be sent now; what it holds back
 * comes back {@linkplain PublishOutcome#notSent not sent}.
 *
 * <p>When the call spanned several aggregates and no call of the search was answered, every event throwing, the
 * publisher is failing as a whole (an outage, a bug of its own): nothing is charged, the events that threw come back
 * unavailable.
 */
final class CulpritSearch {

    /** Lets through the events of a call that may be sent now; empty when none may. */
    interface Gate {
        List<ClaimedBatch.Row> admit(List<ClaimedBatch.Row> call);
    }

    private static final Logger log = LoggerFactory.getLogger(CulpritSearch.class);

    private final PublisherCall publisher;
    private final Function<ClaimedBatch.Row, String> key;
    private final String ownerId;

    CulpritSearch(PublisherCall publisher, Function<ClaimedBatch.Row, String> key, String ownerId) {
        this.publisher = publisher;
        this.key = key;
        this.ownerId = ownerId;
    }

    /**
     * Calls the publisher with {@code call}, which the gate already let through, and searches for the culprits if the
     * call throws.
     *
     * @return one outcome per event of {@code call}, in its order
     */
    List<PublishOutcome> publish(List<ClaimedBatch.Row> call, Gate gate) {
        Search search = new Search(gate);
        List<PublishOutcome> outcomes = search.publishOrSplit(call, true);
        if (!search.answered && !search.threw.isEmpty() && aggregates(call) > 1) {
            List<PublishOutcome> unavailable = new ArrayList<>(outcomes.size());
            for (int i = 0; i < call.size(); i++) {
                PublishOutcome o = outcomes.get(i);
                unavailable.add(search.threw.contains(call.get(i).position())
                        ? PublishOutcome.unavailable("every event threw alone: " + o.reason()) : o);
            }
            return unavailable;
        }
        return outcomes;
    }

    private final class Search {
        private final Gate gate;
        /** Positions of events whose call threw with nothing left to split. */
        final Set<Long> threw = new HashSet<>();
        /** Whether any call of the search was answered. */
        boolean answered;

        Search(Gate gate) {
            this.gate = gate;
        }

        List<PublishOutcome> publishOrSplit(List<ClaimedBatch.Row> call, boolean admitted) {
            List<ClaimedBatch.Row> sent = admitted ? call : gate.admit(call);
            if (sent.size() < call.size()) {
                Map<Long, PublishOutcome> byPosition = new HashMap<>();
                if (!sent.isEmpty()) {
                    List<PublishOutcome> outcomes = publishOrSplit(sent, true);
                    for (int i = 0; i < sent.size(); i++) {
                        byPosition.put(sent.get(i).position(), outcomes.get(i));
                    }
                }
                PublishOutcome notSent = PublishOutcome.notSent("not sent: its lease had no time left for another"
                        + " call, or its aggregate left the batch");
                List<PublishOutcome> merged = new ArrayList<>(call.size());
                for (ClaimedBatch.Row row : call) {
                    merged.add(byPosition.getOrDefault(row.position(), notSent));
                }
                return merged;
            }
            PublisherCall.Answer answer = publisher.call(call);
            if (answer.outcomes() != null) {
                answered = true;
                return answer.outcomes();
            }
            Throwable thrown = answer.thrown();
            ClaimedBatch.Row first = call.get(0);
            if (aggregates(call) == 1) {
                call.forEach(r -> threw.add(r.position()));
                log.warn("relay {}: publisher threw for event {} ({}/{}): {}", ownerId, first.eventId(),
                        first.aggregateType(), first.aggregateId(), thrown.toString(), thrown);
                PublishOutcome retry = PublishOutcome.retry("publisher threw " + thrown);
                List<PublishOutcome> outcomes = new ArrayList<>(call.size());
                call.forEach(r -> outcomes.add(retry));
                return outcomes;
            }
            log.info("relay {}: publisher threw for a call of {} events ({}); sending them again in halves to find the"
                    + " event responsible", ownerId, call.size(), thrown.toString());
            Map<Long, PublishOutcome> byPosition = new HashMap<>();
            for (List<ClaimedBatch.Row> half : halves(call)) {
                List<PublishOutcome> outcomes = publishOrSplit(half, false);
                for (int i = 0; i < half.size(); i++) {
                    byPosition.put(half.get(i).position(), outcomes.get(i));
                }
            }
            List<PublishOutcome> merged = new ArrayList<>(call.size());
            for (ClaimedBatch.Row row : call) {
                merged.add(byPosition.get(row.position())); // back in the call's order
            }
            return merged;
        }
    }

    /** Splits a call in two by aggregate, so that one aggregate's events stay together and in order. */
    private List<List<ClaimedBatch.Row>> halves(List<ClaimedBatch.Row> call) {
        List<String> aggregates = call.stream().map(key).distinct().toList();
        Set<String> firstHalf = new HashSet<>(aggregates.subList(0, aggregates.size() / 2));
        List<ClaimedBatch.Row> first = new ArrayList<>();
        List<ClaimedBatch.Row> second = new ArrayList<>();
        for (ClaimedBatch.Row row : call) {
            (firstHalf.contains(key.apply(row)) ? first : second).add(row);
        }
        return List.of(first, second);
    }

    private long aggregates(List<ClaimedBatch.Row> call) {
        return call.stream().map(key).distinct().count();
    }
}
