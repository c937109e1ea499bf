package dev.outbox.jdbc;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Which events of a batch go to the publisher in which call, so that each aggregate's order is kept by the relay
 * whatever the publisher does within a call.
 *
 * <p>A call takes at most one group of each aggregate, a group being as many consecutive events as one call may carry
 * of one aggregate ({@code perCall}), and at most {@code maxEvents} events, never splitting a group. An aggregate's
 * next group goes in a call made after the call that carried its previous group was answered: an aggregate whose
 * group is in a call not answered yet ({@code busy}) has no group in another call. The
 * aggregates with the most groups waiting go first: they are the batch's longest chains of calls, and a
 * hot aggregate's next group rides in every call rather than waiting until every other aggregate has had its turn.
 * Among aggregates with as many groups waiting, those that have not had a turn yet go first, in position order. An
 * aggregate takes at most {@code perBatch} events of the batch; the rest are {@link #capped()}. An aggregate whose
 * event failed, or whose lease was lost, is {@link #drop dropped}: none of its remaining events is handed out again.
 *
 * <p>A destination the broker throttles has a window: a call takes at most that many of its events (whole groups,
 * one group at the least); the rest wait for later calls. A window of 0 takes none of its events now. A destination
 * without a window (the usual case) takes one group of as many aggregates as the call holds.
 */
final class DeliveryPlan {

    /**
     * How many of a destination's events a call may take now.
     *
     * @param <D> the destinations
     */
    @FunctionalInterface
    interface Window<D> {
        /**
         * @param beside whether the call would start beside calls in flight
         * @return the most events of {@code destination} the call may take; {@link Integer#MAX_VALUE} for no limit
         */
        int of(D destination, boolean beside);
    }

    private final Map<String, ArrayDeque<ClaimedBatch.Row>> waiting = new LinkedHashMap<>();
    private final Set<String> dropped = new HashSet<>();
    private final List<ClaimedBatch.Row> capped = new ArrayList<>();
    private final int perCall;
    private final int maxEvents;
    private final Function<ClaimedBatch.Row, String> key;
    private final Function<ClaimedBatch.Row, ?> destination;
    private final Window<Object> window;

    /**
     * A plan for events that all go to one destination, sent without a window.
     *
     * @param rows the events to send, in position order
     * @param key the aggregate of a row, or the row itself when order is not kept
     */
    DeliveryPlan(List<ClaimedBatch.Row> rows, int perCall, int perBatch, int maxEvents,
                 Function<ClaimedBatch.Row, String> key) {
        this(rows, perCall, perBatch, maxEvents, key, row -> "", (d, beside) -> Integer.MAX_VALUE);
    }

    /**
     * @param destination where a row goes
     * @param window how many of a destination's events a call may take now
     */
    <D> DeliveryPlan(List<ClaimedBatch.Row> rows, int perCall, int perBatch, int maxEvents,
                     Function<ClaimedBatch.Row, String> key, Function<ClaimedBatch.Row, D> destination,
                     Window<D> window) {
        this.destination = destination;
        @SuppressWarnings("unchecked")
        Window<Object> any = (d, beside) -> window.of((D) d, beside);
        this.window = any;
        this.perCall = perCall;
        this.maxEvents = maxEvents;
        this.key = key;
        for (ClaimedBatch.Row row : rows) {
            ArrayDeque<ClaimedBatch.Row> queue = waiting.computeIfAbsent(key.apply(row), k -> new ArrayDeque<>());
            if (queue.size() < perBatch) {
                queue.add(row);
            } else {
                capped.add(row);
            }
        }
    }

    /** @return a row's aggregate: type and id, or with {@link Ordering#NONE} the row alone */
    static Function<ClaimedBatch.Row, String> keys(Ordering ordering) {
        if (ordering == Ordering.NONE) {
            return row -> Long.toString(row.position());
        }
        return row -> row.aggregateType() + '\0' + row.aggregateId();
    }

    /** @return the events beyond an aggregate's share of the batch, for the next claim */
    List<ClaimedBatch.Row> capped() {
        return capped;
    }

    boolean hasNextCall() {
        return !waiting.isEmpty();
    }

    /**
     * @param share the most events left, as a share of the batch ({@code 10}: a tenth)
     * @return how many calls one after another the events still to be handed out need, when they are a tail: at most
     *         {@code 1/share} of {@code batchSize}, of more than one aggregate, needing more than one call; else 0
     */
    int tailRounds(int batchSize, int share) {
        long events = 0;
        int rounds = 0;
        for (ArrayDeque<ClaimedBatch.Row> queue : waiting.values()) {
            events += queue.size();
            rounds = Math.max(rounds, groups(queue.size()));
        }
        return waiting.size() > 1 && rounds > 1 && events * share <= batchSize ? rounds : 0;
    }

    /**
     * @return the aggregate whose events alone are left to hand out, when they need at least {@code calls} more calls
     *         one after another; else null
     */
    String loneChain(int calls) {
        if (waiting.size() != 1) {
            return null;
        }
        Map.Entry<String, ArrayDeque<ClaimedBatch.Row>> only = waiting.entrySet().iterator().next();
        return groups(only.getValue().size()) >= calls ? only.getKey() : null;
    }

    /**
     * @return whether an aggregate not in {@code busy} has events waiting for a destination whose window lets a call
     *         take some now
     */
    boolean hasNextCall(Set<String> busy, boolean beside) {
        for (Map.Entry<String, ArrayDeque<ClaimedBatch.Row>> turn : waiting.entrySet()) {
            if (mayTakeNow(turn, busy, beside)) {
                return true;
            }
        }
        return false;
    }

    /** @return whether a call may take the aggregate's next group now: not busy, and its destination's window open */
    private boolean mayTakeNow(Map.Entry<String, ArrayDeque<ClaimedBatch.Row>> turn, Set<String> busy,
                               boolean beside) {
        return !busy.contains(turn.getKey()) && window.of(destination.apply(turn.getValue().peek()), beside) > 0;
    }

    /** @return the next call's events, in position order; they leave the plan */
    List<ClaimedBatch.Row> nextCall() {
        return nextCall(Set.of(), false, false);
    }

    /**
     * @param busy aggregates whose group is in a call not answered yet: none of their events goes in this call, nor
     *        any of a destination whose window is 0 now
     * @param chainsApart when the calls may overlap: if one call cannot take a group of each aggregate, a call that
     *        takes an aggregate with more groups waiting takes no aggregate with a single group, so the calls of the
     *        batch's longest chains stay short, and the single groups go in calls of their own beside them
     * @param beside whether the call would start beside calls in flight, for the destinations' windows
     * @return the next call's events, in position order; they leave the plan
     */
    List<ClaimedBatch.Row> nextCall(Set<String> busy, boolean chainsApart, boolean beside) {
        List<Map.Entry<String, ArrayDeque<ClaimedBatch.Row>>> turns = new ArrayList<>(waiting.size());
        for (Map.Entry<String, ArrayDeque<ClaimedBatch.Row>> turn : waiting.entrySet()) {
            if (mayTakeNow(turn, busy, beside)) {
                turns.add(turn);
            }
        }
        // Stable: among aggregates with as many groups waiting, the turn order (position order at first) holds.
        turns.sort(Comparator.comparingInt(e -> -groups(e.getValue().size())));
        boolean chains = chainsApart && !turns.isEmpty() && groups(turns.get(0).getValue().size()) > 1
                && oneGroupEach(turns) > maxEvents;
        List<ClaimedBatch.Row> call = new ArrayList<>();
        Map<Object, Integer> taken = new HashMap<>();
        List<String> served = new ArrayList<>();
        for (Map.Entry<String, ArrayDeque<ClaimedBatch.Row>> turn : turns) {
            if (call.size() >= maxEvents) {
                break;
            }
            ArrayDeque<ClaimedBatch.Row> queue = turn.getValue();
            if (chains && groups(queue.size()) < 2) {
                break; // the turns are by groups waiting: the single groups go in another call
            }
            int group = Math.min(perCall, queue.size());
            if (call.size() + group > maxEvents) {
                continue; // a smaller group may still fit
            }
            Object to = destination.apply(queue.peek());
            int already = taken.getOrDefault(to, 0);
            if (already >= window.of(to, beside)) {
                continue; // the destination's window is full for this call: a later call takes this aggregate
            }
            for (int n = 0; n < group; n++) {
                call.add(queue.poll());
            }
            taken.put(to, already + group);
            served.add(turn.getKey());
        }
        for (String aggregate : served) {
            ArrayDeque<ClaimedBatch.Row> queue = waiting.remove(aggregate);
            if (!queue.isEmpty()) {
                waiting.put(aggregate, queue); // behind those that did not have a turn
            }
        }
        call.sort(Comparator.comparingLong(ClaimedBatch.Row::position));
        return call;
    }

    /** @return how many events a call would take with one group of each of {@code turns} */
    private long oneGroupEach(List<Map.Entry<String, ArrayDeque<ClaimedBatch.Row>>> turns) {
        long events = 0;
        for (Map.Entry<String, ArrayDeque<ClaimedBatch.Row>> turn : turns) {
            events += Math.min(perCall, turn.getValue().size());
        }
        return events;
    }

    private int groups(int events) {
        return (events + perCall - 1) / perCall;
    }

    /** Hands out none of {@code aggregate}'s remaining events, in this call or later ones. */
    void drop(String aggregate) {
        dropped.add(aggregate);
        waiting.remove(aggregate);
    }

    /** @return the rows of {@code call} whose aggregate is not dropped */
    List<ClaimedBatch.Row> without(List<ClaimedBatch.Row> call) {
        if (dropped.isEmpty()) {
            return call;
        }
        List<ClaimedBatch.Row> kept = new ArrayList<>(call.size());
        for (ClaimedBatch.Row row : call) {
            if (!dropped.contains(key.apply(row))) {
                kept.add(row);
            }
        }
        return kept;
    }

    String key(ClaimedBatch.Row row) {
        return key.apply(row);
    }
}
