package dev.outbox.jdbc;

import dev.outbox.InvalidConfigurationException;

/**
 * The SQL text the outbox runs against one table, exactly as {@link JdbcOutbox} and {@link JdbcRelay} send it:
 * for a DBA to review or {@code EXPLAIN}, and for tools that must issue the very same statements.
 *
 * <p>Parameters are JDBC {@code ?} placeholders, in the order each method documents. Running these statements
 * yourself bypasses the library's checks; the relay and the outbox never need you to.
 *
 * <p>On MySQL and MariaDB ({@link #mysql}) a claim is a short READ COMMITTED transaction of several statements:
 * {@link #claim} (a plain read of candidates), {@link #lockCandidates} (the locking read, by primary key),
 * {@link #aggregateCheck} for ordered relays, {@link #lease}; then, after publishing, {@link #lockClaimed} and
 * {@link #markPublished(int)} in another. Around them the relay parks and releases events as it does on PostgreSQL,
 * with statements of its own not listed here: at the start of each claim those whose retry or delay is due are made
 * ready again, now and then a claim sets aside what it passed over, and recording a publish releases what the
 * published events held back. A method that has no counterpart on the database
 * throws {@link InvalidConfigurationException}.
 */
public final class OutboxStatements {

    private final PostgresStatements sql;
    private final MySqlStatements mysql;

    private OutboxStatements(OutboxTable table, boolean onMySql) {
        this.sql = onMySql ? null : new PostgresStatements(table);
        this.mysql = onMySql ? new MySqlStatements(table, Database.MYSQL) : null;
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
        return new OutboxStatements(table, false);
    }

    /**
     * @param table the outbox table
     * @return the statements MySQL and MariaDB run for {@code table}
     * @throws InvalidConfigurationException when {@code table} is null
     */
    public static OutboxStatements mysql(OutboxTable table) {
        if (table == null) {
            throw new InvalidConfigurationException("table must not be null");
        }
        return new OutboxStatements(table, true);
    }

    private PostgresStatements postgresOnly(String what) {
        if (sql == null) {
            throw new InvalidConfigurationException(what + " exists on PostgreSQL only");
        }
        return sql;
    }

    private MySqlStatements mysqlOnly(String what) {
        if (mysql == null) {
            throw new InvalidConfigurationException(what + " exists on MySQL and MariaDB only");
        }
        return mysql;
    }

    /**
     * @param notifyOnCommit whether the statement also sends the commit notification
     * @return the single-event append; parameters: id, aggregate type, aggregate id, event type, payload, headers
     *         (JSON text), occurred at. With the notification, it is sent only by the first append after a relay
     *         loop began to wait (the one that draws 1 from {@link OutboxTable#wakeSequenceQualifiedName()}). On
     *         MySQL and MariaDB there is no notification, the id is text and occurred at a UTC {@code DATETIME}
     */
    public String append(boolean notifyOnCommit) {
        if (mysql != null) {
            return mysql.insert;
        }
        return notifyOnCommit ? sql.insertNotifying : sql.insert;
    }

    /**
     * @param ordering the relay's ordering
     * @param batchSize most events per claim, written into the text as a literal
     * @param maxBatchBytes most payload bytes per claim (always at least one event), written in as a literal
     * @return the claim; parameters: the re-entries not read yet ({@code bigint[]}: the highest draw from the
     *         table's re-entry sequence the relay has taken into account, then the draws whose rows it waits for) and
     *         the floor (the claim walks from the floor, or from the lowest position the re-entry log holds for those
     *         draws and the ones past the first element, when lower; from the first position when the sequence is
     *         more than 1,000 draws past the first element; {0} and 0 walk from the first position), owner id, lease
     *         token (uuid), lease in milliseconds; returns position, id,
     *         aggregate type, aggregate id, event type, payload, headers, occurred at, attempts, and the row's age in
     *         microseconds (the claim's time minus its creation time). The relay runs {@link #unparkDue()} just
     *         before it, and sends each of them after the settings {@link #claimAndPark} starts with (JIT off, generic
     *         plans), in the same round trip. On MySQL and MariaDB the plain read of candidate positions; its one
     *         parameter is how many (the relay asks for twice the batch size)
     */
    public String claim(Ordering ordering, int batchSize, long maxBatchBytes) {
        if (mysql != null) {
            return ordering == Ordering.PER_AGGREGATE ? mysql.claimOrdered : mysql.claimUnordered;
        }
        return sql.claim(ordering, batchSize, maxBatchBytes, false);
    }

    /**
     * MySQL and MariaDB: the unpublished events of some aggregates before a position, with which an ordered relay
     * drops a candidate whose earlier event is not a candidate too.
     *
     * @param aggregates how many aggregates it asks about, at least 1
     * @return the query; parameters: aggregate type, aggregate id, position, for each aggregate; returns position,
     *         aggregate type, aggregate id
     */
    public String aggregateCheck(int aggregates) {
        return mysqlOnly("aggregateCheck").earlier(aggregates);
    }

    /**
     * MySQL and MariaDB: locks and reads the candidates still claimable, by primary key, skipping those another relay
     * has locked. The relay keeps the longest prefix within its byte budget itself.
     *
     * @param positions how many candidates, at least 1
     * @return the query; parameters: the positions, then the batch size; returns the columns of {@link #claim} on
     *         PostgreSQL (attempts as before the claim)
     */
    public String lockCandidates(int positions) {
        return mysqlOnly("lockCandidates").lockCandidates(positions);
    }

    /**
     * MySQL and MariaDB: writes the lease on claimed candidates.
     *
     * @param positions how many, at least 1
     * @return the update; parameters: owner id, lease token (text), lease in microseconds, then the positions
     */
    public String lease(int positions) {
        return mysqlOnly("lease").lease(positions);
    }

    /**
     * MySQL and MariaDB: locks the claimed events still under a lease token, before their outcome is written.
     *
     * @param positions how many, at least 1
     * @return the query; parameters: lease token, then the positions; returns the positions still held
     */
    public String lockClaimed(int positions) {
        return mysqlOnly("lockClaimed").lockHeld(positions);
    }

    /**
     * MySQL and MariaDB: marks claimed events published where the lease token is still in place.
     *
     * @param positions how many, at least 1
     * @return the update; parameters: lease token, then the positions
     */
    public String markPublished(int positions) {
        return mysqlOnly("markPublished(int)").markPublished(positions);
    }

    /**
     * @return the statement the relay runs before each claim, making parked events whose time has come claimable
     *         again and sighting the table for the relay's floor; parameters: the time after which events parked
     *         until now are looked at ({@code timestamptz}; the relay passes a few seconds before its previous claim,
     *         and the earliest time once a minute), where the sighting's walk starts (the floor), the floor the
     *         claim walks from (the same), and the re-entry count the relay has taken into account; returns one row: the
     *         lowest position it made claimable and its draw from
     *         {@link OutboxTable#reentrySequenceQualifiedName()} (both null when none), the first ready position at or
     *         above the floor, the highest position, the transactions that drew positions and have not ended (virtual ids),
     *         the re-entry sequence's last value, the statement's time, how many events it made claimable,
     *         whether a ready event at or above the floor is under no live lease, and how many rows of
     *         {@link OutboxTable#reentriesQualifiedName()} lie past that count, with the lowest position among them
     */
    public String unparkDue() {
        return postgresOnly("unparkDue").unparkDue;
    }

    /**
     * @return one slice of the relay's walk below its floor, which begins once a minute and runs a slice before each
     *         claim until it reaches the floor, finding events made ready by statements that drew nothing from the
     *         re-entry sequence; parameters: the slice's first position and the position after its last; returns the
     *         first ready position among them, or no row
     */
    public String readyBelowFloor() {
        return postgresOnly("readyBelowFloor").readyBelowFloor;
    }

    /**
     * @param ordering the relay's ordering
     * @param batchSize most events per claim, written into the text as a literal
     * @param maxBatchBytes most payload bytes per claim (always at least one event), written in as a literal
     * @return the claim that also parks what it walked past and could not take, which the relay sends instead of
     *         {@link #claim} once in every {@value ParkingSchedule#PARK_EVERY} claims and after a claim that found nothing:
     *         two statements in one round trip, {@code set_config} turning JIT compilation off (the plan is estimated
     *         expensive enough for it, and compiling took a second) and choosing generic plans (once the statement is
     *         prepared on the server, it is not planned again at each execution), then the claim. Same parameters and
     *         columns as {@link #claim}; run it with {@code execute()} and read the rows after one
     *         {@code getMoreResults()}
     */
    public String claimAndPark(Ordering ordering, int batchSize, long maxBatchBytes) {
        return postgresOnly("claimAndPark").parkingClaim(ordering, batchSize, maxBatchBytes);
    }

    /**
     * @return the statements marking a claimed batch published and releasing the events parked behind it: two
     *         statements in one round trip, which PostgreSQL runs in one transaction (a statement sees the table as of
     *         its start, and the release must see what claims parked while the update waited for their locks);
     *         parameters: positions ({@code bigint[]}), lease token. Run it with {@code execute()}: the first result
     *         is the positions it wrote (a position missing had lost its lease); after {@code getMoreResults()}, one
     *         row: how many events were released, the lowest position released and the draw from the re-entry
     *         sequence (both null when none were)
     */
    public String markPublished() {
        return postgresOnly("markPublished()").recordPublished;
    }
}
