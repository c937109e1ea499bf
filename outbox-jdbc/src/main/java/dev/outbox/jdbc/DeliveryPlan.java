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
import java.util.function.ToIntFunction;

/**
 * Which events of a batch go to the publisher in which round and call, so that each aggregate's order is kept by the
 * relay whatever the publisher does within a call.
 *
 * <p>Round {@code k} holds the {@code k}-th group of each aggregate's events, a group being as many consecutive
 * events as one call may carry of one aggregate ({@code perCall}); a round is split into calls of at most
 * {@code maxEvents} events, never splitting a group. An aggregate takes at most {@code perBatch} events of the batch;
 * the rest are {@link #capped()}. An aggregate whose event failed, or whose lease was lost, is {@link #drop dropped}:
 * none of its remaining events is handed out again.
 *
 * <p>A destination the broker throttles has a window: a round takes at most that many of its events (whole groups,
 * one group at the least), and its aggregates take turns from round to round; the rest wait for later rounds. A
 * destination without a window (the usual case) takes one group of every aggregate each round.
 */
final class DeliveryPlan {

    private final Map<String, ArrayDeque<ClaimedBatch.Row>> waiting = new LinkedHashMap<>();
    private final Set<String> dropped = new HashSet<>();
    private final List<ClaimedBatch.Row> capped = new ArrayList<>();
    private final int perCall;
    private final int maxEvents;
    private final Function<ClaimedBatch.Row, String> key;
    private final Function<ClaimedBatch.Row, ?> destination;
    private final ToIntFunction<Object> window;

    /**
     * A plan for events that all go to one destination, sent without a window.
     *
     * @param rows the events to send, in position order
     * @param key the aggregate of a row, or the row itself when order is not kept
     */
    DeliveryPlan(List<ClaimedBatch.Row> rows, int perCall, int perBatch, int maxEvents,
                 Function<ClaimedBatch.Row, String> key) {
        this(rows, perCall, perBatch, maxEvents, key, row -> "", d -> Integer.MAX_VALUE);
    }

    /**
     * @param destination where a row goes
     * @param window how many of a destination's events a round may take now; {@link Integer#MAX_VALUE} for no limit
     */
    <D> DeliveryPlan(List<ClaimedBatch.Row> rows, int perCall, int perBatch, int maxEvents,
                     Function<ClaimedBatch.Row, String> key, Function<ClaimedBatch.Row, D> destination,
                     ToIntFunction<D> window) {
        this.destination = destination;
        @SuppressWarnings("unchecked")
        ToIntFunction<Object> any = d -> window.applyAsInt((D) d);
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

    boolean hasNextRound() {
        return !waiting.isEmpty();
    }

    /** @return the next round's calls, in position order; the round's events leave the plan */
    List<List<ClaimedBatch.Row>> nextRound() {
        List<ClaimedBatch.Row> round = new ArrayList<>();
        Map<Object, Integer> taken = new HashMap<>();
        List<String> turnTaken = new ArrayList<>();
        for (Map.Entry<String, ArrayDeque<ClaimedBatch.Row>> entry : waiting.entrySet()) {
            ArrayDeque<ClaimedBatch.Row> queue = entry.getValue();
            Object to = destination.apply(queue.peek());
            int limit = window.applyAsInt(to);
            int already = taken.getOrDefault(to, 0);
            if (already >= limit) {
                continue; // the destination's window is full this round: a later round takes this aggregate
            }
            int n = 0;
            for (; n < perCall && !queue.isEmpty(); n++) {
                round.add(queue.poll());
            }
            taken.put(to, already + n);
            if (limit != Integer.MAX_VALUE) {
                turnTaken.add(entry.getKey());
            }
        }
        for (String aggregate : turnTaken) {
            waiting.put(aggregate, waiting.remove(aggregate)); // to the back: the others' turn comes first
        }
        waiting.values().removeIf(ArrayDeque::isEmpty);
        round.sort(Comparator.comparingLong(ClaimedBatch.Row::position));
        return calls(round);
    }

    /** Splits a round into calls of at most maxEvents, never splitting one aggregate's group. */
    private List<List<ClaimedBatch.Row>> calls(List<ClaimedBatch.Row> round) {
        if (round.size() <= maxEvents) {
            return round.isEmpty() ? List.of() : List.of(round);
        }
        Map<String, List<ClaimedBatch.Row>> groups = new LinkedHashMap<>();
        for (ClaimedBatch.Row row : round) {
            groups.computeIfAbsent(key.apply(row), k -> new ArrayList<>()).add(row);
        }
        List<List<ClaimedBatch.Row>> calls = new ArrayList<>();
        List<ClaimedBatch.Row> current = new ArrayList<>();
        for (List<ClaimedBatch.Row> group : groups.values()) {
            if (!current.isEmpty() && current.size() + group.size() > maxEvents) {
                calls.add(current);
                current = new ArrayList<>();
            }
            current.addAll(group);
        }
        if (!current.isEmpty()) {
            calls.add(current);
        }
        return calls;
    }

    /** Hands out none of {@code aggregate}'s remaining events, in this round or later ones. */
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
