package dev.outbox.jdbc;

import dev.outbox.InvalidConfigurationException;

/**
 * The SQL text the outbox runs against one table, exactly as {@link JdbcOutbox} and {@link JdbcRelay} send it:
 * for a DBA to review or {@code EXPLAIN}, and for tools that must issue the very same statements.
 *
 * <p>Parameters are JDBC {@code ?} placeholders, in the order each method documents. Running these statements
 * yourself bypasses the library's checks; the relay and the outbox never need you to.
 */
public final class OutboxStatements {

    private final PostgresStatements sql;

    private OutboxStatements(OutboxTable table) {
        this.sql = new PostgresStatements(table);
    }

    /**
     * @param table the outbox table
     * @return the statements PostgreSQL runs for {@code table}
     * @throws InvalidConfigurationException when {@code table} is null
     */
    public static OutboxStatements postgres(OutboxTable table) {
        if (table == null) {
            throw new InvalidConfigurationException("table must not be null");
        }
        return new OutboxStatements(table);
    }

    /**
     * @param notifyOnCommit whether the statement also sends the commit notification
     * @return the single-event append; parameters: id, aggregate type, aggregate id, event type, payload, headers
     *         (JSON text), occurred at. With the notification, it is sent only while a relay loop waits for one (a
     *         live row in the table {@link OutboxTable#listenersQualifiedName()})
     */
    public String append(boolean notifyOnCommit) {
        return notifyOnCommit ? sql.insertNotifying : sql.insert;
    }

    /**
     * @param ordering the relay's ordering
     * @param batchSize most events per claim, written into the text as a literal
     * @param maxBatchBytes most payload bytes per claim (always at least one event), written in as a literal
     * @return the claim; parameters: owner id, lease token (uuid), lease in milliseconds; returns position, id,
     *         aggregate type, aggregate id, event type, payload, headers, occurred at, attempts, and the row's age in
     *         microseconds (the claim's time minus its creation time). The relay runs
     *         {@link #unparkDue()} just before it
     */
    public String claim(Ordering ordering, int batchSize, long maxBatchBytes) {
        return sql.claim(ordering, batchSize, maxBatchBytes, false);
    }

    /**
     * @return the statement the relay runs before each claim, making parked events whose time has come claimable
     *         again; no parameters
     */
    public String unparkDue() {
        return sql.unparkDue;
    }

    /**
     * @param ordering the relay's ordering
     * @param batchSize most events per claim, written into the text as a literal
     * @param maxBatchBytes most payload bytes per claim (always at least one event), written in as a literal
     * @return the claim that also parks what it walked past and could not take, which the relay sends instead of
     *         {@link #claim} once in every {@value RelayStore#PARK_EVERY} claims and after a claim that found nothing:
     *         two statements in one round trip, {@code set_config} turning JIT compilation off (the plan is estimated
     *         expensive enough for it, and compiling took a second), then the claim. Same parameters and columns as
     *         {@link #claim}; run it with {@code execute()} and read the rows after one {@code getMoreResults()}
     */
    public String claimAndPark(Ordering ordering, int batchSize, long maxBatchBytes) {
        return sql.parkingClaim(ordering, batchSize, maxBatchBytes);
    }

    /**
     * @return the statement marking a claimed batch published and releasing the events parked behind it;
     *         parameters: positions ({@code bigint[]}), lease token; returns the positions it wrote, each with the
     *         number of events released
     */
    public String markPublished() {
        return sql.recordPublished;
    }
}
