package dev.outbox.jdbc;

import com.zaxxer.hikari.HikariDataSource;
import dev.outbox.testing.TestDatabase;
import dev.outbox.testing.Transactions;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.testcontainers.containers.MySQLContainer;

/**
 * A database the shared suites run on: PostgreSQL always ({@link TestDatabase}); MariaDB where
 * {@code OUTBOX_TEST_MARIADB_URL} points; MySQL 8 in a Testcontainers container where Docker runs. A test class takes
 * one as its parameter ({@code @ParameterizedClass @MethodSource("dev.outbox.jdbc.TestDb#all")}) and skips, saying how
 * to enable it, where that database is not available.
 */
public final class TestDb {

    /** The MySQL image started where Docker runs. */
    public static final String MYSQL_IMAGE = "mysql:8.4";

    public static final TestDb POSTGRESQL = new TestDb(Database.POSTGRESQL);
    public static final TestDb MARIADB = new TestDb(Database.MARIADB);
    public static final TestDb MYSQL = new TestDb(Database.MYSQL);
    /** PostgreSQL again, with {@linkplain OutboxSchema#createRotated rotated} tables. */
    public static final TestDb POSTGRESQL_ROTATED = new TestDb(Database.POSTGRESQL, true);

    private final Database database;
    private final boolean rotated;
    private DataSource dataSource;
    private String unavailable;
    private boolean resolved;

    private TestDb(Database database) {
        this(database, false);
    }

    private TestDb(Database database, boolean rotated) {
        this.database = database;
        this.rotated = rotated;
    }

    /** @return every database, available or not: each test skips where its database is not */
    public static Stream<TestDb> all() {
        return Stream.of(POSTGRESQL, MARIADB, MYSQL);
    }

    /** @return {@link #all()} and PostgreSQL with rotated tables */
    public static Stream<TestDb> allWithRotated() {
        return Stream.of(POSTGRESQL, POSTGRESQL_ROTATED, MARIADB, MYSQL);
    }

    /** @return whether {@link #newTable()} makes rotated tables */
    public boolean rotated() {
        return rotated;
    }

    public Database database() {
        return database;
    }

    public boolean mysqlFamily() {
        return database.mysqlFamily();
    }

    /** @return null when available, else why not and how to enable it */
    public synchronized String unavailable() {
        if (rotated) {
            return POSTGRESQL.unavailable();
        }
        resolve();
        return unavailable;
    }

    /** @return a pool of up to 20 connections, shared by the JVM */
    public synchronized DataSource dataSource() {
        if (rotated) {
            return POSTGRESQL.dataSource();
        }
        resolve();
        if (dataSource == null) {
            throw new IllegalStateException(database + " is not available: " + unavailable);
        }
        return dataSource;
    }

    /** @return a new pool the caller owns and closes */
    public HikariDataSource pool(int size) {
        return TestDatabase.pool(jdbcUrl(), size);
    }

    private String url;

    public synchronized String jdbcUrl() {
        resolve();
        if (url == null) {
            throw new IllegalStateException(database + " is not available: " + unavailable);
        }
        return url;
    }

    private void resolve() {
        if (resolved) {
            return;
        }
        resolved = true;
        switch (database) {
            case POSTGRESQL -> url = TestDatabase.jdbcUrl();
            case MARIADB -> {
                String env = System.getenv("OUTBOX_TEST_MARIADB_URL");
                if (env == null || env.isBlank()) {
                    env = System.getProperty("outbox.test.mariadbUrl");
                }
                if (env == null || env.isBlank()) {
                    unavailable = "MariaDB tests are off: set OUTBOX_TEST_MARIADB_URL to a database they may use, such"
                            + " as jdbc:mariadb://127.0.0.1:3306/test?user=root";
                } else {
                    url = env;
                }
            }
            case MYSQL -> {
                String env = System.getenv("OUTBOX_TEST_MYSQL_URL");
                if (env != null && !env.isBlank()) {
                    url = env;
                } else if (TestDatabase.dockerAvailable()) {
                    MySQLContainer<?> container = new MySQLContainer<>(MYSQL_IMAGE);
                    container.start();
                    Runtime.getRuntime().addShutdownHook(new Thread(container::stop, "mysql-stop"));
                    url = container.getJdbcUrl() + "?user=" + container.getUsername() + "&password="
                            + container.getPassword();
                } else {
                    unavailable = "MySQL tests are off: they start " + MYSQL_IMAGE + " where Docker runs, or set"
                            + " OUTBOX_TEST_MYSQL_URL to a MySQL 8 database they may use";
                }
            }
        }
        if (url != null) {
            dataSource = TestDatabase.pool(url, 20);
        }
    }

    /** @return {@code table}'s name as this database's SQL quotes it */
    public String q(OutboxTable table) {
        return table.qualifiedName(database);
    }

    /**
     * @return a fresh outbox table with a unique name: a rotated one for {@link #POSTGRESQL_ROTATED}, and for
     *         {@link #POSTGRESQL} too when the environment variable {@code OUTBOX_TEST_ROTATED} is 1 (to run every
     *         suite on rotated tables)
     */
    public OutboxTable newTable() {
        OutboxTable table = OutboxTable.named(TestDatabase.uniqueName("t"));
        if (rotated || database == Database.POSTGRESQL && "1".equals(System.getenv("OUTBOX_TEST_ROTATED"))) {
            OutboxSchema.createRotated(dataSource(), table);
        } else {
            OutboxSchema.create(dataSource(), table);
        }
        return table;
    }

    public long queryLong(String sql) {
        return Transactions.queryLong(dataSource(), sql);
    }

    /** @return the first column of the first row {@code sql} returns, as text */
    public String queryString(String sql) {
        try (Connection c = dataSource().getConnection(); Statement s = c.createStatement();
             java.sql.ResultSet rs = s.executeQuery(sql)) {
            if (!rs.next()) {
                throw new IllegalStateException("query returned no row: " + sql);
            }
            return rs.getString(1);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    public void execute(String sql) {
        try (Connection c = dataSource().getConnection(); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    /** @return the database's clock, as SQL: {@code now()} or {@code UTC_TIMESTAMP(6)} */
    public String now() {
        return mysqlFamily() ? "UTC_TIMESTAMP(6)" : "now()";
    }

    /** @return SQL for {@link #now()} plus {@code seconds} */
    public String nowPlusSeconds(long seconds) {
        return mysqlFamily() ? "UTC_TIMESTAMP(6) + INTERVAL " + seconds + " SECOND"
                : "now() + interval '" + seconds + " seconds'";
    }

    /** @return SQL for the milliseconds from the database's clock to the time in {@code column} */
    public String millisUntil(String column) {
        return mysqlFamily() ? "TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), " + column + ") DIV 1000"
                : "round(extract(epoch FROM " + column + " - now()) * 1000)";
    }

    @Override
    public String toString() {
        return rotated ? database + " (rotated)" : database.toString();
    }
}
