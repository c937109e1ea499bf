package dev.outbox.inbox;

import static dev.outbox.inbox.InboxTest.count;
import static dev.outbox.inbox.InboxTest.recording;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.zaxxer.hikari.HikariDataSource;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.inbox.Inbox.Outcome;
import dev.outbox.inbox.Inbox.Result;
import dev.outbox.inbox.InboxTest.Setup;
import dev.outbox.jdbc.Database;
import dev.outbox.testing.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Inbox#processAll}: a batch's new events processed once each, its duplicates (recorded before, or twice in
 * the batch) dropped without running their handler, a failed message alone rolled back, batches of the same events
 * at the same moment from several threads applying each once with none failing; on PostgreSQL, where the record goes
 * with the commit, a unique violation of the handler's own at the commit is a failure and not a duplicate, a message
 * that kills its connection fails alone, and a driver that wraps statements in savepoints changes nothing.
 */
class InboxBatchTest {

    static List<String> databases() {
        return InboxTest.databases().toList();
    }

    private static InboxMessage message() {
        return InboxMessage.of(UUID.randomUUID(), "{}");
    }

    private static String table(Setup s, String database) {
        return s.inbox().table().qualifiedName(database.equals("postgresql") ? Database.POSTGRESQL : Database.MARIADB);
    }

    @ParameterizedTest
    @MethodSource("databases")
    void newEventsAreProcessedDuplicatesDroppedAndAFailureRollsBackAlone(String database) throws Exception {
        Setup s = setup(database);
        InboxMessage before = message();
        InboxMessage first = message();
        InboxMessage failing = message();
        InboxMessage last = message();
        assertEquals(Result.PROCESSED, s.inbox().process(s.db(), before, recording(s.effects())));
        Map<UUID, AtomicInteger> runs = new ConcurrentHashMap<>();
        InboxHandler handler = (connection, m) -> {
            runs.computeIfAbsent(m.eventId(), id -> new AtomicInteger()).incrementAndGet();
            recording(s.effects()).handle(connection, m);
            if (m.eventId().equals(failing.eventId())) {
                throw new java.io.IOException("the downstream service is away");
            }
        };

        List<Outcome> outcomes = s.inbox().processAll(s.db(), List.of(first, before, failing, first, last), handler);

        assertEquals(5, outcomes.size());
        assertEquals(List.of(first, before, failing, first, last), outcomes.stream().map(Outcome::message).toList());
        assertEquals(Result.PROCESSED, outcomes.get(0).result());
        assertEquals(Result.DUPLICATE, outcomes.get(1).result(), "recorded before the batch");
        assertTrue(outcomes.get(2).failed());
        assertNull(outcomes.get(2).result());
        assertInstanceOf(InboxHandlerException.class, outcomes.get(2).failure());
        assertTrue(outcomes.get(2).failure().getMessage().contains("the downstream service is away"));
        assertEquals(Result.DUPLICATE, outcomes.get(3).result(), "twice in the batch");
        assertEquals(Result.PROCESSED, outcomes.get(4).result(), "after a failure, the batch goes on");
        assertEquals(1, runs.get(first.eventId()).get(), "the handler ran once for an event twice in the batch");
        assertFalse(runs.containsKey(before.eventId()), "and never for one recorded before");
        assertEquals(3, count(s.db(), "SELECT count(*) FROM " + s.effects()), "before's (from its run before the"
                + " batch), first's and last's");
        assertEquals(0, count(s.db(), "SELECT count(*) FROM " + s.effects() + " WHERE event_id = '"
                + failing.eventId() + "'"), "the failed message's effect rolled back");
        assertEquals(3, count(s.db(), "SELECT count(*) FROM " + table(s, database)), "and it has no record");

        List<Outcome> again = s.inbox().processAll(s.db(), List.of(failing, last), recording(s.effects()));
        assertEquals(Result.PROCESSED, again.get(0).result(), "its next delivery runs it");
        assertEquals(Result.DUPLICATE, again.get(1).result());
        assertEquals(4, count(s.db(), "SELECT count(*) FROM " + s.effects()));
        assertEquals(List.of(), s.inbox().processAll(s.db(), List.of(), handler));
    }

    @ParameterizedTest
    @MethodSource("databases")
    void batchesOfTheSameEventsAtTheSameMomentApplyEachOnceAndNoneFails(String database) throws Exception {
        Setup s = setup(database);
        int threads = 6;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int round = 0; round < 3; round++) {
                List<InboxMessage> events = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    events.add(message());
                }
                CyclicBarrier together = new CyclicBarrier(threads);
                InboxHandler slow = (connection, m) -> {
                    recording(s.effects()).handle(connection, m);
                    Thread.sleep(3); // the others' looks and records meet this one's open transaction
                };
                List<Future<List<Outcome>>> batches = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    List<InboxMessage> order = new ArrayList<>(events);
                    Collections.shuffle(order);
                    batches.add(pool.submit(() -> {
                        together.await(10, TimeUnit.SECONDS);
                        return s.inbox().processAll(s.db(), order, slow);
                    }));
                }
                Map<UUID, Integer> processed = new ConcurrentHashMap<>();
                for (Future<List<Outcome>> batch : batches) {
                    for (Outcome o : batch.get(60, TimeUnit.SECONDS)) {
                        assertFalse(o.failed(), () -> "no delivery fails: " + o.failure());
                        if (o.result() == Result.PROCESSED) {
                            processed.merge(o.message().eventId(), 1, Integer::sum);
                        }
                    }
                }
                assertEquals(20, processed.size(), "every event processed");
                assertTrue(processed.values().stream().allMatch(n -> n == 1), "each by exactly one batch: "
                        + processed);
                assertEquals(20L * (round + 1), count(s.db(), "SELECT count(*) FROM " + s.effects()));
                assertEquals(20L * (round + 1), count(s.db(), "SELECT count(DISTINCT event_id) FROM " + s.effects()));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aUniqueViolationOfTheHandlersOwnAtTheCommitIsAFailureNotADuplicate() throws Exception {
        Setup s = setup("postgresql");
        String names = TestDatabase.uniqueName("names");
        try (Connection c = s.db().getConnection(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE " + names + " (name text, CONSTRAINT " + names + "_unique UNIQUE (name)"
                    + " DEFERRABLE INITIALLY DEFERRED)");
        }
        InboxHandler naming = (connection, m) -> {
            try (PreparedStatement p = connection.prepareStatement("INSERT INTO " + names + " VALUES ('taken')")) {
                p.executeUpdate();
            }
        };
        InboxMessage one = message();
        InboxMessage two = message();
        List<Outcome> outcomes = s.inbox().processAll(s.db(), List.of(one, two), naming);
        assertEquals(Result.PROCESSED, outcomes.get(0).result());
        assertTrue(outcomes.get(1).failed(), "the second name collides at the commit: " + outcomes.get(1));
        assertEquals("23505", ((SQLException) outcomes.get(1).failure()).getSQLState());
        assertEquals(1, count(s.db(), "SELECT count(*) FROM " + table(s, "postgresql")), "no record of the second");
        assertEquals(1, count(s.db(), "SELECT count(*) FROM " + names));
    }

    @Test
    void aMessageThatBreaksItsConnectionFailsAloneAndTheRestGoOnANewOne() throws Exception {
        Setup s = setup("postgresql");
        List<InboxMessage> batch = List.of(message(), message(), message(), message());
        InboxHandler handler = (connection, m) -> {
            recording(s.effects()).handle(connection, m);
            if (m == batch.get(1)) {
                try (Statement st = connection.createStatement()) {
                    st.execute("SELECT pg_terminate_backend(pg_backend_pid())");
                }
            }
        };
        List<Outcome> outcomes = s.inbox().processAll(s.db(), batch, handler);
        assertEquals(Result.PROCESSED, outcomes.get(0).result());
        assertTrue(outcomes.get(1).failed(), String.valueOf(outcomes.get(1)));
        assertEquals(Result.PROCESSED, outcomes.get(2).result());
        assertEquals(Result.PROCESSED, outcomes.get(3).result());
        assertEquals(3, count(s.db(), "SELECT count(*) FROM " + s.effects()));
        assertEquals(0, count(s.db(), "SELECT count(*) FROM " + s.effects() + " WHERE event_id = '"
                + batch.get(1).eventId() + "'"));
    }

    @Test
    void aDriverThatWrapsEachStatementInASavepointChangesNothing() throws Exception {
        Setup plain = setup("postgresql");
        String separator = TestDatabase.jdbcUrl().contains("?") ? "&" : "?";
        try (HikariDataSource autosave = TestDatabase.pool(TestDatabase.jdbcUrl() + separator + "autosave=always", 2)) {
            Setup s = new Setup(autosave, plain.inbox(), plain.effects());
            InboxMessage before = message();
            InboxMessage failing = message();
            InboxMessage after = message();
            assertEquals(Result.PROCESSED, s.inbox().process(s.db(), before, recording(s.effects())));
            InboxHandler handler = (connection, m) -> {
                recording(s.effects()).handle(connection, m);
                if (m == failing) {
                    throw new IllegalStateException("refused");
                }
            };
            List<Outcome> outcomes = s.inbox().processAll(s.db(), List.of(before, failing, after), handler);
            assertEquals(Result.DUPLICATE, outcomes.get(0).result());
            assertInstanceOf(IllegalStateException.class, outcomes.get(1).failure());
            assertEquals(Result.PROCESSED, outcomes.get(2).result(), String.valueOf(outcomes.get(2)));
            assertEquals(2, count(s.db(), "SELECT count(*) FROM " + s.effects()));
            assertEquals(2, count(s.db(), "SELECT count(*) FROM " + table(s, "postgresql")));
        }
    }

    @Test
    void nullsAreRefusedBeforeAnySql() throws Exception {
        Setup s = setup("postgresql");
        InboxHandler handler = recording(s.effects());
        assertThrows(InvalidConfigurationException.class, () -> s.inbox().processAll(null, List.of(message()),
                handler));
        assertThrows(InvalidConfigurationException.class, () -> s.inbox().processAll(s.db(), null, handler));
        assertThrows(InvalidConfigurationException.class, () -> s.inbox().processAll(s.db(), List.of(message()),
                null));
        assertThrows(InvalidConfigurationException.class, () -> s.inbox().processAll(s.db(),
                Arrays.asList(message(), null), handler));
        assertEquals(0, count(s.db(), "SELECT count(*) FROM " + s.effects()));
        InboxMessage m = message();
        assertThrows(InvalidConfigurationException.class, () -> new Outcome(m, null, null));
        assertThrows(InvalidConfigurationException.class, () -> new Outcome(m, Result.PROCESSED,
                new SQLException("both")));
        assertThrows(InvalidConfigurationException.class, () -> new Outcome(null, Result.PROCESSED, null));
    }

    private static Setup setup(String database) throws SQLException {
        return InboxTest.setup(database);
    }
}
