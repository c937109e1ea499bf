package dev.outbox.jdbc;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;

/**
 * The base of a suite that runs on every database: annotate the subclass with
 * {@code @ParameterizedClass(name = "{0}") @MethodSource("dev.outbox.jdbc.TestDb#all")}. On a database that is not
 * available each test is skipped, with the reason and how to enable it; the subclass's {@code @AfterEach} methods
 * then find their fields null.
 */
public abstract class EachDatabase {

    protected final TestDb tdb;

    protected EachDatabase(TestDb tdb) {
        this.tdb = tdb;
    }

    @BeforeEach
    void databaseAvailable() {
        assumeTrue(tdb.unavailable() == null, tdb::unavailable);
    }

    protected DataSource db() {
        return tdb.dataSource();
    }
}
