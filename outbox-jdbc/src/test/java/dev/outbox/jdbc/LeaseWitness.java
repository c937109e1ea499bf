package dev.outbox.jdbc;

import dev.outbox.Event;
import dev.outbox.spi.CallLimits;
import dev.outbox.spi.Destination;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.slf4j.MDC;

/**
 * A publisher that reads its events' rows when it is called and notes every broken promise of the relay:
 * <ul>
 * <li>a call on a row the calling relay does not hold under a live lease (by the database's clock);</li>
 * <li>a call on an event while an earlier event of its aggregate, not in the same call, is unpublished and not both
 *     held by the same relay and already confirmed to it by this publisher.</li>
 * </ul>
 * The calling relay is the {@link JdbcRelay#MDC_RELAY} of the call. What the publisher does with the events is the
 * behaviour's: it may sleep, throw or answer as it likes; every event it answers published is a delivery.
 */
final class LeaseWitness implements Publisher {

    /** What the witnessed publisher does with one call. */
    interface Behaviour {
        List<PublishOutcome> publish(String relay, List<Event> events) throws Exception;
    }

    /** One delivery: the event, the relay that handed it over, and when (nanoTime) the call returned. */
    record Delivery(Event event, String relay, long atNanos) {
    }

    private final DataSource db;
    private final TestDb tdb;
    private final OutboxTable table;
    private final Behaviour behaviour;
    private final CallLimits limits;
    private Function<Event, Destination> router;
    final List<String> violations = Collections.synchronizedList(new ArrayList<>());
    final List<Delivery> deliveries = Collections.synchronizedList(new ArrayList<>());
    final List<String> calls = Collections.synchronizedList(new ArrayList<>());
    /** Per relay, the events this publisher answered published to it. */
    private final Map<String, Set<UUID>> confirmed = new ConcurrentHashMap<>();

    LeaseWitness(TestDb tdb, OutboxTable table, CallLimits limits, Behaviour behaviour) {
        this.tdb = tdb;
        this.db = tdb.dataSource();
        this.table = table;
        this.limits = limits;
        this.behaviour = behaviour;
    }

    @Override
    public CallLimits callLimits() {
        return limits;
    }

    /** Names each event's destination with {@code router}, instead of one destination for all. */
    LeaseWitness routed(Function<Event, Destination> router) {
        this.router = router;
        return this;
    }

    @Override
    public Destination destination(Event event) {
        return router == null ? Publisher.super.destination(event) : router.apply(event);
    }

    @Override
    public List<PublishOutcome> publish(List<Event> events) {
        String relay = MDC.get(JdbcRelay.MDC_RELAY);
        check(relay, events);
        calls.add(relay + " " + events.stream().map(e -> e.aggregateId() + ":" + e.payload())
                .collect(Collectors.joining(",")));
        List<PublishOutcome> outcomes;
        try {
            outcomes = behaviour.publish(relay, events);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        long now = System.nanoTime();
        for (int i = 0; i < events.size(); i++) {
            if (outcomes.get(i).isPublished()) {
                deliveries.add(new Delivery(events.get(i), relay, now));
                confirmed.computeIfAbsent(relay, r -> ConcurrentHashMap.newKeySet()).add(events.get(i).id());
            }
        }
        return outcomes;
    }

    private void check(String relay, List<Event> events) {
        String ids = events.stream().map(e -> "'" + e.id() + "'").collect(Collectors.joining(","));
        String t = tdb.q(table);
        String live = "CASE WHEN %s.lease_until > " + tdb.now() + " THEN 1 ELSE 0 END";
        Set<UUID> mine = confirmed.getOrDefault(relay, Set.of());
        Set<UUID> inCall = events.stream().map(Event::id).collect(Collectors.toSet());
        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT e.id, e.claimed_by, " + live.formatted("e") + " FROM " + t
                    + " e WHERE e.id IN (" + ids + ")")) {
                Set<String> seen = new HashSet<>();
                while (rs.next()) {
                    seen.add(rs.getString(1));
                    if (!relay.equals(rs.getString(2)) || rs.getInt(3) != 1) {
                        violations.add("relay " + relay + " called with event " + rs.getString(1) + " held by "
                                + rs.getString(2) + (rs.getInt(3) == 1 ? " under a live lease" : ", lease ended"));
                    }
                }
                for (Event e : events) {
                    if (!seen.contains(e.id().toString())) {
                        violations.add("relay " + relay + " called with event " + e.id() + " whose row is gone");
                    }
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT e.id, b.id, b.claimed_by, " + live.formatted("b") + " FROM " + t
                    + " e JOIN " + t + " b ON b.aggregate_type = e.aggregate_type AND b.aggregate_id = e.aggregate_id"
                    + " AND b.position < e.position WHERE e.id IN (" + ids + ") AND b.published_at IS NULL")) {
                while (rs.next()) {
                    UUID earlier = UUID.fromString(rs.getString(2));
                    if (inCall.contains(earlier)) {
                        continue; // a call may carry several events of an aggregate, in order (eventsPerAggregate)
                    }
                    boolean held = relay.equals(rs.getString(3)) && rs.getInt(4) == 1;
                    if (!held || !mine.contains(earlier)) {
                        violations.add("relay " + relay + " called with event " + rs.getString(1)
                                + " while the earlier event " + earlier + " of its aggregate is unpublished and "
                                + (held ? "not yet confirmed" : "held by " + rs.getString(3)));
                    }
                }
            }
        } catch (SQLException e) {
            violations.add("could not read rows: " + e);
        }
    }

    /** @return per aggregate, the order in which its events were first delivered, as their payloads */
    Map<String, List<String>> firstDeliveries() {
        Map<String, List<String>> order = new HashMap<>();
        Set<UUID> seen = new HashSet<>();
        synchronized (deliveries) {
            for (Delivery d : deliveries) {
                if (seen.add(d.event().id())) {
                    order.computeIfAbsent(d.event().aggregateId(), a -> new ArrayList<>()).add(d.event().payload());
                }
            }
        }
        return order;
    }

    /** @return distinct events delivered */
    long distinctDelivered() {
        synchronized (deliveries) {
            return deliveries.stream().map(d -> d.event().id()).distinct().count();
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static List<PublishOutcome> allPublished(List<Event> events) {
        return new ArrayList<>(Collections.nCopies(events.size(), PublishOutcome.published()));
    }
}
