package dev.outbox.relay;

import dev.outbox.InvalidConfigurationException;
import dev.outbox.jdbc.OutboxTable;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * How a relay that runs on its own (the service, the command line, the Lambda handler) is configured: from
 * environment variables, or a properties file with the same keys, checked all at once when read. A missing or
 * malformed setting is an {@link InvalidConfigurationException} whose message names the variable and what is wrong.
 *
 * <table>
 * <caption>Settings</caption>
 * <tr><th>variable</th><th>default</th><th>meaning</th></tr>
 * <tr><td>{@code OUTBOX_JDBC_URL}</td><td>required</td><td>the outbox's database, PostgreSQL, MySQL or MariaDB</td></tr>
 * <tr><td>{@code OUTBOX_JDBC_USER}, {@code OUTBOX_JDBC_PASSWORD}</td><td>none</td><td>credentials, unless in the URL
 * or the secret</td></tr>
 * <tr><td>{@code OUTBOX_JDBC_SECRET_ARN}</td><td>none</td><td>a Secrets Manager secret whose JSON holds
 * {@code username} and {@code password} (as RDS writes them); read once at start</td></tr>
 * <tr><td>{@code OUTBOX_TABLE}</td><td>{@code outbox_event}</td><td>{@code [schema.]table}</td></tr>
 * <tr><td>{@code OUTBOX_PUBLISHER}</td><td>the only one on the classpath</td><td>{@code sqs}, {@code eventbridge},
 * or {@code router} for {@link dev.outbox.spi.RoutingPublisher#fromSettings}</td></tr>
 * <tr><td>{@code OUTBOX_PUBLISHER_<key>}</td><td></td><td>the publisher's setting {@code <key>}, such as
 * {@code OUTBOX_PUBLISHER_queueUrl}; {@code __} stands for a dot ({@code OUTBOX_PUBLISHER_routes__orders__match})</td></tr>
 * <tr><td>{@code OUTBOX_BATCH_SIZE}</td><td>500</td><td>events per claim</td></tr>
 * <tr><td>{@code OUTBOX_LEASE}</td><td>{@code PT30S}</td><td>how long a claim is exclusive</td></tr>
 * <tr><td>{@code OUTBOX_POLL_INTERVAL}</td><td>{@code PT1S}</td><td>longest idle wait of a loop</td></tr>
 * <tr><td>{@code OUTBOX_LOOPS}</td><td>2</td><td>the service's relay loops</td></tr>
 * <tr><td>{@code OUTBOX_POOL_SIZE}</td><td>loops + 3</td><td>database connections</td></tr>
 * <tr><td>{@code OUTBOX_HTTP_PORT}</td><td>8080</td><td>the service's {@code /health} and {@code /metrics}; 0 for any
 * free port</td></tr>
 * <tr><td>{@code OUTBOX_PURGE_RETENTION}</td><td>{@code P7D}</td><td>how long published events are kept</td></tr>
 * <tr><td>{@code OUTBOX_PURGE_INTERVAL}</td><td>{@code PT1H}</td><td>how often the service purges; {@code PT0S}
 * never</td></tr>
 * </table>
 * Durations are ISO-8601 ({@code PT30S}) or milliseconds.
 *
 * @param jdbcUrl the outbox's database
 * @param user the database user, or null
 * @param password the database password, or null
 * @param secretArn the secret holding user and password, or null
 * @param table the outbox table
 * @param publisher the publisher's name, or null for the only one on the classpath
 * @param publisherSettings the publisher's settings
 * @param batchSize events per claim
 * @param lease how long a claim is exclusive
 * @param pollInterval longest idle wait of a loop
 * @param loops the service's relay loops
 * @param poolSize database connections
 * @param httpPort the service's HTTP port, 0 for any
 * @param purgeRetention how long published events are kept
 * @param purgeInterval how often the service purges, zero for never
 */
public record RelayConfig(String jdbcUrl, String user, String password, String secretArn, OutboxTable table,
                          String publisher, Map<String, String> publisherSettings, int batchSize, Duration lease,
                          Duration pollInterval, int loops, int poolSize, int httpPort, Duration purgeRetention,
                          Duration purgeInterval) {

    /** The prefix of every setting. */
    public static final String PREFIX = "OUTBOX_";
    /** The prefix of the publisher's settings. */
    public static final String PUBLISHER_PREFIX = "OUTBOX_PUBLISHER_";
    /** The variable naming a properties file to read settings from, beneath the environment's. */
    public static final String CONFIG_FILE = "OUTBOX_CONFIG";

    private static final Set<String> KEYS = Set.of("OUTBOX_JDBC_URL", "OUTBOX_JDBC_USER", "OUTBOX_JDBC_PASSWORD",
            "OUTBOX_JDBC_SECRET_ARN", "OUTBOX_TABLE", "OUTBOX_PUBLISHER", "OUTBOX_BATCH_SIZE", "OUTBOX_LEASE",
            "OUTBOX_POLL_INTERVAL", "OUTBOX_LOOPS", "OUTBOX_POOL_SIZE", "OUTBOX_HTTP_PORT", "OUTBOX_PURGE_RETENTION",
            "OUTBOX_PURGE_INTERVAL", CONFIG_FILE);

    /**
     * Checks the settings as a whole.
     *
     * @param jdbcUrl the outbox's database
     * @param user the database user, or null
     * @param password the database password, or null
     * @param secretArn the secret holding user and password, or null
     * @param table the outbox table
     * @param publisher the publisher's name, or null
     * @param publisherSettings the publisher's settings
     * @param batchSize events per claim
     * @param lease how long a claim is exclusive
     * @param pollInterval longest idle wait of a loop
     * @param loops the service's relay loops
     * @param poolSize database connections
     * @param httpPort the service's HTTP port
     * @param purgeRetention how long published events are kept
     * @param purgeInterval how often the service purges
     */
    public RelayConfig {
        if (jdbcUrl == null || !jdbcUrl.startsWith("jdbc:")) {
            throw new InvalidConfigurationException("OUTBOX_JDBC_URL is required, a JDBC URL such as"
                    + " jdbc:postgresql://host:5432/app; was " + (jdbcUrl == null ? "not set" : "'" + jdbcUrl + "'"));
        }
        if (secretArn != null && (user != null || password != null)) {
            throw new InvalidConfigurationException("OUTBOX_JDBC_SECRET_ARN and OUTBOX_JDBC_USER or"
                    + " OUTBOX_JDBC_PASSWORD exclude each other: the secret holds both");
        }
        publisherSettings = Map.copyOf(publisherSettings);
    }

    /**
     * Reads the settings from the process's environment and, when {@value #CONFIG_FILE} names one, a properties file
     * beneath it.
     *
     * @return the settings
     * @throws InvalidConfigurationException naming the first variable that is missing or malformed
     */
    public static RelayConfig fromEnvironment() {
        return from(System.getenv());
    }

    /**
     * @param environment variables, {@value #CONFIG_FILE} among them to read a properties file beneath them
     * @return the settings
     * @throws InvalidConfigurationException naming the first variable that is missing or malformed, or a file that
     *         cannot be read
     */
    public static RelayConfig from(Map<String, String> environment) {
        Map<String, String> all = new HashMap<>();
        String file = environment.get(CONFIG_FILE);
        if (file != null && !file.isBlank()) {
            all.putAll(properties(Path.of(file)));
        }
        all.putAll(environment);
        return of(all);
    }

    /** Reads a properties file's settings; every key must be a setting this class knows. */
    static Map<String, String> properties(Path file) {
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(file)) {
            p.load(in);
        } catch (IOException e) {
            throw new InvalidConfigurationException(CONFIG_FILE + " = '" + file + "' cannot be read: " + e.getMessage());
        }
        Map<String, String> values = new TreeMap<>();
        Set<String> unknown = new TreeSet<>();
        for (String key : p.stringPropertyNames()) {
            if (!KEYS.contains(key) && !key.startsWith(PUBLISHER_PREFIX)) {
                unknown.add(key);
            }
            values.put(key, p.getProperty(key));
        }
        if (!unknown.isEmpty()) {
            throw new InvalidConfigurationException(CONFIG_FILE + " = '" + file + "' has unknown settings " + unknown
                    + "; known are " + new TreeSet<>(KEYS) + " and " + PUBLISHER_PREFIX + "<key>");
        }
        return values;
    }

    private static RelayConfig of(Map<String, String> v) {
        Map<String, String> publisherSettings = new TreeMap<>();
        for (Map.Entry<String, String> e : v.entrySet()) {
            if (e.getKey().startsWith(PUBLISHER_PREFIX) && e.getValue() != null && !e.getValue().isBlank()) {
                publisherSettings.put(e.getKey().substring(PUBLISHER_PREFIX.length()).replace("__", "."),
                        e.getValue().trim());
            }
        }
        int loops = integer(v, "OUTBOX_LOOPS", 2, 1, 64);
        return new RelayConfig(text(v, "OUTBOX_JDBC_URL"), text(v, "OUTBOX_JDBC_USER"),
                v.get("OUTBOX_JDBC_PASSWORD") == null || v.get("OUTBOX_JDBC_PASSWORD").isEmpty() ? null
                        : v.get("OUTBOX_JDBC_PASSWORD"),
                text(v, "OUTBOX_JDBC_SECRET_ARN"), table(v), text(v, "OUTBOX_PUBLISHER"), publisherSettings,
                integer(v, "OUTBOX_BATCH_SIZE", 500, 1, 10_000),
                duration(v, "OUTBOX_LEASE", Duration.ofSeconds(30), Duration.ofSeconds(1), Duration.ofHours(1)),
                duration(v, "OUTBOX_POLL_INTERVAL", Duration.ofSeconds(1), Duration.ofMillis(1), Duration.ofHours(1)),
                loops, integer(v, "OUTBOX_POOL_SIZE", loops + 3, 1, 1_000), integer(v, "OUTBOX_HTTP_PORT", 8080, 0, 65535),
                duration(v, "OUTBOX_PURGE_RETENTION", Duration.ofDays(7), Duration.ZERO, Duration.ofDays(3650)),
                duration(v, "OUTBOX_PURGE_INTERVAL", Duration.ofHours(1), Duration.ZERO, Duration.ofDays(1)));
    }

    private static String text(Map<String, String> v, String key) {
        String value = v.get(key);
        return value == null || value.isBlank() ? null : value.trim();
    }

    private static OutboxTable table(Map<String, String> v) {
        String value = text(v, "OUTBOX_TABLE");
        if (value == null) {
            return OutboxTable.DEFAULT;
        }
        try {
            int dot = value.indexOf('.');
            return dot < 0 ? OutboxTable.named(value)
                    : new OutboxTable(value.substring(0, dot), value.substring(dot + 1));
        } catch (InvalidConfigurationException e) {
            throw new InvalidConfigurationException("OUTBOX_TABLE = '" + value + "': " + e.getMessage());
        }
    }

    private static int integer(Map<String, String> v, String key, int defaultValue, int min, int max) {
        String value = text(v, key);
        if (value == null) {
            return defaultValue;
        }
        int n;
        try {
            n = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new InvalidConfigurationException(key + " = '" + value + "' is not a whole number");
        }
        if (n < min || n > max) {
            throw new InvalidConfigurationException(key + " = '" + value + "' must be from " + min + " to " + max);
        }
        return n;
    }

    private static Duration duration(Map<String, String> v, String key, Duration defaultValue, Duration min,
                                     Duration max) {
        String value = text(v, key);
        if (value == null) {
            return defaultValue;
        }
        Duration d;
        try {
            d = parseDuration(value);
        } catch (DateTimeParseException | NumberFormatException e) {
            throw new InvalidConfigurationException(key + " = '" + value + "' is not a duration (PT30S, P7D) or a"
                    + " number of milliseconds");
        }
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw new InvalidConfigurationException(key + " = '" + value + "' must be from " + min + " to " + max);
        }
        return d;
    }

    /**
     * @param value ISO-8601 ({@code PT30S}, {@code P7D}) or a number of milliseconds
     * @return the duration
     * @throws DateTimeParseException or NumberFormatException when it is neither
     */
    static Duration parseDuration(String value) {
        return value.chars().allMatch(Character::isDigit) ? Duration.ofMillis(Long.parseLong(value))
                : Duration.parse(value);
    }

    /** @return these settings with the password hidden, for logs */
    @Override
    public String toString() {
        return "RelayConfig[jdbcUrl=" + jdbcUrl + ", user=" + user + ", password=" + (password == null ? null : "***")
                + ", secretArn=" + secretArn + ", table=" + table + ", publisher=" + publisher + ", publisherSettings="
                + publisherSettings.keySet() + ", batchSize=" + batchSize + ", lease=" + lease + ", pollInterval="
                + pollInterval + ", loops=" + loops + ", poolSize=" + poolSize + ", httpPort=" + httpPort
                + ", purgeRetention=" + purgeRetention + ", purgeInterval=" + purgeInterval + "]";
    }
}
