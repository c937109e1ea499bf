package dev.outbox.jdbc.torture;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Checks a torture run's history: what the database says was committed against what the broker received.
 *
 * <ul>
 *   <li>lost: committed, not dead, never delivered, and not waiting behind a dead event of its aggregate;</li>
 *   <li>waiting behind a dead event: not delivered because an earlier event of its aggregate is dead, as promised;</li>
 *   <li>phantom: delivered, never committed;</li>
 *   <li>order violation: an event delivered before an earlier event of its aggregate had been delivered;</li>
 *   <li>duplicate: a delivery after the first. It is explained when an earlier delivery of the event was made
 *       by a process that was then killed, timed out at the broker, or was never recorded as published by the relay
 *       loop that delivered it (its lease or its outcome statement was lost). A redelivery after a delivery the relay
 *       did record as published is unexplained: the outbox itself published twice.</li>
 * </ul>
 *
 * <p>A recorded publish answers for the delivery it followed: the latest earlier delivery of the event by the same
 * loop. A loop whose outcome statement failed (the database restarting, say) claims the event again once its lease
 * expires, delivers it again and records that one; the first delivery stays unrecorded.
 */
final class HistoryCheck {

    /** A committed event, from the outbox table. */
    record Committed(UUID id, String aggregate, long position, boolean dead) {
    }

    /** One delivery, from the delivery log; {@code seq} orders it among deliveries and recorded publishes. */
    record Delivery(long seq, UUID eventId, String incarnation, boolean acknowledged) {
    }

    /** A loop's relay recorded the event as published (heard through its listener), at {@code seq}. */
    record Recorded(long seq, UUID eventId, String incarnation) {
    }

    /** The verdict. */
    record Report(int committed, int delivered, int deliveries, int lost, int phantom, int orderViolations,
                  int duplicates, int explainedByKill, int explainedByTimeout, int explainedByUnrecorded,
                  int unexplainedDuplicates, int dead, int waitingBehindDead, List<String> examples) {

        boolean clean() {
            return lost == 0 && phantom == 0 && orderViolations == 0 && unexplainedDuplicates == 0 && dead == 0;
        }

        @Override
        public String toString() {
            return String.format("committed %d, delivered %d distinct in %d deliveries; lost %d, phantom %d,"
                            + " order violations %d, dead %d, waiting behind a dead event %d; duplicates %d (explained:"
                            + " %d by a killed relay, %d by a broker timeout, %d by an unrecorded outcome; unexplained"
                            + " %d)%s",
                    committed, delivered, deliveries, lost, phantom, orderViolations, dead, waitingBehindDead, duplicates,
                    explainedByKill, explainedByTimeout, explainedByUnrecorded, unexplainedDuplicates,
                    examples.isEmpty() ? "" : "; first problems: " + examples);
        }
    }

    private HistoryCheck() {
    }

    /**
     * @param deliveries in any order
     * @param killed incarnations that were SIGKILLed
     * @param recorded the publishes relays recorded, in any order
     */
    static Report check(List<Committed> committed, List<Delivery> deliveries, Set<String> killed,
                        List<Recorded> recorded) {
        deliveries = deliveries.stream().sorted(Comparator.comparingLong(Delivery::seq)).toList();
        Set<Delivery> answered = answeredByARecord(deliveries, recorded);
        List<String> examples = new ArrayList<>();
        Map<UUID, Committed> byId = new HashMap<>();
        Map<String, List<Committed>> byAggregate = new HashMap<>();
        for (Committed c : committed) {
            byId.put(c.id(), c);
            byAggregate.computeIfAbsent(c.aggregate(), a -> new ArrayList<>()).add(c);
        }
        Map<UUID, Integer> indexInAggregate = new HashMap<>();
        for (List<Committed> events : byAggregate.values()) {
            events.sort((a, b) -> Long.compare(a.position(), b.position()));
            for (int i = 0; i < events.size(); i++) {
                indexInAggregate.put(events.get(i).id(), i);
            }
        }

        Map<String, Integer> deliveredPrefix = new HashMap<>();
        Map<UUID, List<Delivery>> earlier = new HashMap<>();
        Set<UUID> delivered = new HashSet<>();
        int phantom = 0;
        int order = 0;
        int duplicates = 0;
        int byKill = 0;
        int byTimeout = 0;
        int byUnrecorded = 0;
        int unexplained = 0;
        for (Delivery d : deliveries) {
            Committed c = byId.get(d.eventId());
            if (c == null) {
                phantom++;
                note(examples, "phantom " + d.eventId());
                continue;
            }
            List<Delivery> before = earlier.computeIfAbsent(d.eventId(), id -> new ArrayList<>());
            if (!before.isEmpty()) {
                duplicates++;
                if (before.stream().anyMatch(b -> killed.contains(incarnationOf(b.incarnation())))) {
                    byKill++;
                } else if (before.stream().anyMatch(b -> !b.acknowledged())) {
                    byTimeout++;
                } else if (before.stream().anyMatch(b -> !answered.contains(b))) {
                    byUnrecorded++;
                } else {
                    unexplained++;
                    note(examples, "unexplained duplicate " + d.eventId() + " by " + d.incarnation());
                }
            }
            before.add(d);
            int index = indexInAggregate.get(d.eventId());
            int prefix = deliveredPrefix.getOrDefault(c.aggregate(), 0);
            if (index > prefix) {
                order++;
                note(examples, "order: " + c.aggregate() + " event #" + index + " delivered before #" + prefix);
            }
            delivered.add(d.eventId());
            List<Committed> events = byAggregate.get(c.aggregate());
            while (prefix < events.size() && delivered.contains(events.get(prefix).id())) {
                prefix++;
            }
            deliveredPrefix.put(c.aggregate(), prefix);
        }
        int lost = 0;
        int dead = 0;
        int waiting = 0;
        Map<String, Long> firstDead = new HashMap<>();
        for (Committed c : committed) {
            if (c.dead()) {
                firstDead.merge(c.aggregate(), c.position(), Math::min);
            }
        }
        for (Committed c : committed) {
            if (c.dead()) {
                dead++;
                note(examples, "dead " + c.id());
            } else if (!delivered.contains(c.id()) && c.position() > firstDead.getOrDefault(c.aggregate(), Long.MAX_VALUE)) {
                waiting++;
            } else if (!delivered.contains(c.id())) {
                lost++;
                note(examples, "lost " + c.id() + " of " + c.aggregate());
            }
        }
        return new Report(committed.size(), delivered.size(), deliveries.size(), lost, phantom, order, duplicates,
                byKill, byTimeout, byUnrecorded, unexplained, dead, waiting, examples);
    }

    /** The deliveries a recorded publish answers for: each record's latest earlier delivery by its loop. */
    private static Set<Delivery> answeredByARecord(List<Delivery> deliveries, List<Recorded> recorded) {
        Map<String, List<Delivery>> byEventAndLoop = new HashMap<>();
        for (Delivery d : deliveries) {
            byEventAndLoop.computeIfAbsent(d.eventId() + " " + d.incarnation(), k -> new ArrayList<>()).add(d);
        }
        Set<Delivery> answered = new HashSet<>();
        for (Recorded r : recorded) {
            Delivery latest = null;
            for (Delivery d : byEventAndLoop.getOrDefault(r.eventId() + " " + r.incarnation(), List.of())) {
                if (d.seq() < r.seq()) {
                    latest = d;
                }
            }
            if (latest != null) {
                answered.add(latest);
            }
        }
        return answered;
    }

    /**
     * Who delivered or recorded, as the log keeps it: the relay process's incarnation and the loop's thread. Each loop
     * of a relay claims under leases of its own, so one loop's unrecorded delivery is not made good by another loop of
     * the same process recording the event later; keying by process alone would call that redelivery unexplained.
     * Called on the loop's thread, which both the publisher and the listener run on.
     */
    static String loop(String incarnation) {
        return incarnation + "/" + Thread.currentThread().getName();
    }

    /** @return the process part of a {@link #loop} name */
    static String incarnationOf(String loop) {
        int slash = loop.indexOf('/');
        return slash < 0 ? loop : loop.substring(0, slash);
    }

    private static void note(List<String> examples, String problem) {
        if (examples.size() < 10) {
            examples.add(problem);
        }
    }
}
