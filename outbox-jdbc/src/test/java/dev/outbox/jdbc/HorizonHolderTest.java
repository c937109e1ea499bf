package dev.outbox.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.testing.RecordingPublisher;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * An operator learns who holds the database's horizon, from {@link OutboxOperations#horizon()} and from health, on
 * every database.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("dev.outbox.jdbc.TestDb#all")
class HorizonHolderTest extends EachDatabase {

    HorizonHolderTest(TestDb tdb) {
        super(tdb);
    }

    @Test
    void aSnapshotHeldOpenIsNamedWithItsSessionAndAgeAndDegradesHealth() throws Exception {
        OutboxTable table = tdb.newTable();
        OutboxOperations operations = new OutboxOperations(db, table);
        try (Connection holder = db.getConnection()) {
            long pid;
            try (Statement s = holder.createStatement();
                 ResultSet rs = s.executeQuery(tdb.mysqlFamily() ? "SELECT CONNECTION_ID()" : "SELECT pg_backend_pid()")) {
                rs.next();
                pid = rs.getLong(1);
            }
            holder.setAutoCommit(false);
            holder.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try (Statement s = holder.createStatement()) {
                if (tdb.mysqlFamily()) {
                    s.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT");
                }
                s.executeQuery("SELECT count(*) FROM " + tdb.q(table)).close();
            }
            Thread.sleep(1_200);
            Optional<HorizonHolder> found = operations.horizon();
            assertTrue(found.isPresent(), "the open snapshot holds the horizon");
            HorizonHolder h = found.get();
            assertEquals(pid, h.pid(), "the oldest holder is the session holding its snapshot: " + h);
            assertEquals(tdb.mysqlFamily() ? HorizonHolder.Kind.TRANSACTION : HorizonHolder.Kind.SESSION, h.kind());
            assertTrue(h.age().compareTo(Duration.ofSeconds(1)) >= 0, "held for over a second: " + h);
            assertTrue(h.who().contains(Long.toString(pid)), h.who());

            try (JdbcRelay relay = JdbcRelay.builder(db, new RecordingPublisher()).table(table).build()) {
                OutboxHealth.Report report = OutboxHealth.builder(relay, operations)
                        .maxHorizonAge(Duration.ofSeconds(1)).build().check();
                assertEquals(OutboxHealth.Status.DEGRADED, report.status(), report.reasons().toString());
                assertTrue(report.reasons().stream().anyMatch(r -> r.contains("horizon") && r.contains(
                        Long.toString(pid))), report.reasons().toString());
                OutboxHealth.Report lenient = OutboxHealth.builder(relay, operations)
                        .maxHorizonAge(Duration.ofMinutes(10)).build().check();
                assertEquals(OutboxHealth.Status.UP, lenient.status(), lenient.reasons().toString());
            }
            holder.rollback();
        }
        Optional<HorizonHolder> after = operations.horizon();
        assertTrue(after.isEmpty() || after.get().age().compareTo(Duration.ofSeconds(1)) < 0,
                "once it ends, nothing old holds the horizon: " + after);
    }
}
