package dev.outbox.jdbc;

import java.time.Duration;
import java.util.Objects;

/**
 * What holds back the database's horizon the longest: the oldest snapshot or transaction whose row versions the
 * database must keep, so that vacuum (PostgreSQL) or purge (InnoDB) cannot yet remove what the outbox's updates and
 * deletes left behind. The outbox keeps working meanwhile (on PostgreSQL its claims walk from a floor, so their cost
 * stays flat), but its table grows until the holder lets go. Read it with {@link OutboxOperations#horizon()}; find the
 * culprit by {@link #who()} and end it there (on PostgreSQL, {@code SELECT pg_terminate_backend(pid)} for a session).
 *
 * @param kind what holds it
 * @param age how long it has held it, as far as the database says: since the transaction began (a session, a prepared
 *        transaction, an InnoDB transaction); {@link Duration#ZERO} for a replication slot, whose age the database
 *        does not keep (see {@code transactionsBehind})
 * @param transactionsBehind how many transactions the horizon lags behind the newest (PostgreSQL: the age of the
 *        holder's xmin); on MySQL and MariaDB the InnoDB history list length, the undo records purge has yet to remove
 * @param who the holder, for an operator: a session's process id, user, application, client, state and the start of
 *        its current query; a slot's or a prepared transaction's name; an InnoDB transaction's thread id, state and
 *        query
 * @param pid the holder's server process (PostgreSQL) or thread (MySQL, MariaDB) id, or -1 when there is none
 */
public record HorizonHolder(Kind kind, Duration age, long transactionsBehind, String who, long pid) {

    /** What holds the horizon. */
    public enum Kind {
        /** A session's open transaction or running statement (PostgreSQL's {@code pg_stat_activity}). */
        SESSION,
        /** A replication slot, whose consumer has not confirmed past it. */
        REPLICATION_SLOT,
        /** A prepared (two-phase) transaction not yet committed or rolled back. */
        PREPARED_TRANSACTION,
        /** An InnoDB transaction (MySQL and MariaDB's {@code information_schema.innodb_trx}). */
        TRANSACTION
    }

    /**
     * Checks the parts that must be there.
     *
     * @param kind what holds it
     * @param age how long it has held it
     * @param transactionsBehind how many transactions the horizon lags behind
     * @param who the holder, for an operator
     * @param pid the holder's process or thread id, or -1
     * @throws NullPointerException when kind, age or who is null
     */
    public HorizonHolder {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(age, "age");
        Objects.requireNonNull(who, "who");
    }
}
