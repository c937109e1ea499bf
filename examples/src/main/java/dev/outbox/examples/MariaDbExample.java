package dev.outbox.examples;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outbox.Event;
import dev.outbox.RelayLoop;
import dev.outbox.jdbc.Database;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxOperations;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxStats;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.spi.Publisher;
import dev.outbox.spi.Publishers;
import java.io.PrintStream;
import java.net.URI;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.elasticmq.rest.sqs.SQSRestServer;
import org.elasticmq.rest.sqs.SQSRestServerBuilder;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.Message;

/**
 * The outbox on MariaDB (or MySQL): the same code as on PostgreSQL, pointed at another database. Run with
 *
 * <pre>OUTBOX_EXAMPLES_MARIADB_URL=jdbc:mariadb://127.0.0.1:3306/test?user=root \
 *   ./mvnw -q -pl examples -am compile exec:java -Dexec.mainClass=dev.outbox.examples.MariaDbExample</pre>
 *
 * It creates a table of its own in that database, publishes to an embedded SQS-compatible server, and drops the table
 * at the end.
 */
public final class MariaDbExample {

    private MariaDbExample() {
    }

    public static void main(String[] args) throws Exception {
        String url = System.getenv("OUTBOX_EXAMPLES_MARIADB_URL");
        if (url == null || url.isBlank()) {
            System.err.println("set OUTBOX_EXAMPLES_MARIADB_URL, such as jdbc:mariadb://127.0.0.1:3306/test?user=root");
            System.exit(2);
        }
        run(url, System.out);
        System.exit(0); // the embedded SQS server leaves non-daemon threads behind
    }

    static void run(String url, PrintStream out) throws Exception {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setMaximumPoolSize(4);
        config.setPoolName("mariadb-example");
        SQSRestServer sqsServer = SQSRestServerBuilder.withInterface("127.0.0.1").withDynamicPort().start();
        URI endpoint = URI.create("http://127.0.0.1:" + sqsServer.waitUntilStarted().localAddress().getPort());
        System.setProperty("aws.accessKeyId", "examples");
        System.setProperty("aws.secretAccessKey", "examples");
        OutboxTable table = OutboxTable.named("outbox_example_" + Long.toString(System.currentTimeMillis(), 36));
        try (HikariDataSource dataSource = new HikariDataSource(config);
             SqsClient sqs = SqsClient.builder().endpointOverride(endpoint).region(Region.EU_WEST_1)
                     .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("x", "x")))
                     .build()) {
            String queueUrl = sqs.createQueue(b -> b.queueName("mariadb-example")).queueUrl();
            out.println("outbox on " + Database.of(dataSource) + " (" + url.replaceAll("password=[^&]*", "password=...")
                    + "), table " + table);

            OutboxSchema.create(dataSource, table);                          // mysql.sql, found from the connection
            try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE IF NOT EXISTS example_user (email VARCHAR(200) PRIMARY KEY, name TEXT NOT NULL)");
            }
            JdbcOutbox outbox = JdbcOutbox.create(table);
            String ada = "ada-" + table.name() + "@example.com";
            register(dataSource, outbox, ada, true);
            out.println("   committed   user " + ada + " + event user_created");
            register(dataSource, outbox, "ghost-" + table.name() + "@example.com", false);
            out.println("   rolled back a second user: no row, no event");

            Publisher publisher = Publishers.create("sqs", Map.of("queueUrl", queueUrl, "endpoint", endpoint.toString(),
                    "region", "eu-west-1"));
            ExecutorService executor = Executors.newSingleThreadExecutor();
            try (JdbcRelay relay = JdbcRelay.builder(dataSource, publisher).table(table)
                    .pollInterval(Duration.ofMillis(200)).build()) {
                RelayLoop loop = relay.start(executor);                      // polls: no notifications here
                List<Message> received = receive(sqs, queueUrl);
                out.println("   received    " + received.size() + " message: " + received.get(0).body()
                        + " (the payload byte for byte, published by a polling relay)");
                loop.stop(Duration.ofSeconds(5));
            } finally {
                executor.shutdown();
                publisher.close();
            }
            OutboxStats stats = new OutboxOperations(dataSource, table).stats();
            out.println("   stats       pending=" + stats.pending() + " inFlight=" + stats.inFlight() + " dead="
                    + stats.dead());
            try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
                s.execute("DROP TABLE " + table.qualifiedName(Database.MARIADB));
            }
        } finally {
            sqsServer.stopAndWait();
        }
    }

    private static void register(HikariDataSource dataSource, JdbcOutbox outbox, String email, boolean commit)
            throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement s = c.prepareStatement("INSERT INTO example_user (email, name) VALUES (?, 'x')")) {
                s.setString(1, email);
                s.executeUpdate();
            }
            outbox.append(c, Event.builder().aggregate("user", email).type("user_created")
                    .payload("{\"email\": \"" + email + "\",  \"spacing\": \"kept\"}").build());
            if (commit) {
                c.commit();
            } else {
                c.rollback();
            }
            c.setAutoCommit(true);
        }
    }

    private static List<Message> receive(SqsClient sqs, String queueUrl) {
        for (int i = 0; i < 10; i++) {
            List<Message> messages = sqs.receiveMessage(b -> b.queueUrl(queueUrl).waitTimeSeconds(1)
                    .maxNumberOfMessages(10)).messages();
            if (!messages.isEmpty()) {
                return messages;
            }
        }
        return List.of();
    }
}
