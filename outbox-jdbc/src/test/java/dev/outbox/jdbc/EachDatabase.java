package dev.outbox.jdbc;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;

/**
 * The base of a suite that runs on every database: annotate the subclass with
 * {@code @ParameterizedClass(name = "{0}") @MethodSource("dev.outbox.jdbc.TestDb#all")}. On a database that is not
 * available each test is skipped, with the reason and how to enable it; the subclass's {@code @AfterEach} methods
 * then find their fields null. Its own {@code @BeforeEach} methods run after {@link #db} is set.
 */
public abstract class EachDatabase {

    protected final TestDb tdb;
    /** The database's shared pool, set before each test. */
    protected DataSource db;

    protected EachDatabase(TestDb tdb) {
        this.tdb = tdb;
    }

    @BeforeEach
    void databaseAvailable() {
        assumeTrue(tdb.unavailable() == null, tdb::unavailable);
        db = tdb.dataSource();
    }
}
