package dev.outbox.examples;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxTable;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.URI;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.elasticmq.rest.sqs.SQSRestServer;
import org.elasticmq.rest.sqs.SQSRestServerBuilder;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.SqsClientBuilder;
import software.amazon.awssdk.services.sqs.model.DeleteMessageRequest;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageRequest;

/**
 * What the examples run on: PostgreSQL and an SQS queue, embedded unless the environment names real ones.
 * <ul>
 *   <li>{@code OUTBOX_EXAMPLES_JDBC_URL}: a PostgreSQL JDBC URL with credentials; the examples then work in a
 *       fresh schema of their own;</li>
 *   <li>{@code OUTBOX_EXAMPLES_SQS_QUEUE_URL}: a real queue (region and credentials from the AWS SDK's chain),
 *       with {@code OUTBOX_EXAMPLES_SQS_ENDPOINT} for a non-AWS endpoint.</li>
 * </ul>
 */
final class ExampleEnvironment implements AutoCloseable {

    final HikariDataSource dataSource;
    final OutboxTable table = OutboxTable.DEFAULT;
    final Map<String, String> sqsSettings;
    final String description;
    private final String queueUrl;
    private final SqsClient consumer;
    private final List<AutoCloseable> closeLast = new ArrayList<>();

    private ExampleEnvironment(HikariDataSource dataSource, Map<String, String> sqsSettings, String queueUrl,
                               SqsClient consumer, String description) {
        this.dataSource = dataSource;
        this.sqsSettings = sqsSettings;
        this.queueUrl = queueUrl;
        this.consumer = consumer;
        this.description = description;
    }

    static ExampleEnvironment start() throws IOException, SQLException {
        List<AutoCloseable> servers = new ArrayList<>();
        String database;
        HikariConfig pool = new HikariConfig();
        pool.setMaximumPoolSize(8);
        pool.setPoolName("examples");
        String url = System.getenv("OUTBOX_EXAMPLES_JDBC_URL");
        if (url != null && !url.isBlank()) {
            String schema = "outbox_examples_" + Long.toString(System.currentTimeMillis(), 36);
            try (Connection c = java.sql.DriverManager.getConnection(url); Statement s = c.createStatement()) {
                s.execute("CREATE SCHEMA " + schema);
            }
            pool.setJdbcUrl(url);
            pool.setSchema(schema);
            database = "PostgreSQL from OUTBOX_EXAMPLES_JDBC_URL, schema " + schema;
        } else {
            EmbeddedPostgres postgres = EmbeddedPostgres.builder().start();
            servers.add(postgres);
            pool.setJdbcUrl(postgres.getJdbcUrl("postgres", "postgres"));
            database = "embedded PostgreSQL on port " + postgres.getPort();
        }
        HikariDataSource dataSource = new HikariDataSource(pool);

        String queueUrl = System.getenv("OUTBOX_EXAMPLES_SQS_QUEUE_URL");
        String endpoint = System.getenv("OUTBOX_EXAMPLES_SQS_ENDPOINT");
        SqsClientBuilder consumer = SqsClient.builder();
        Map<String, String> settings = new HashMap<>();
        String queue;
        if (queueUrl != null && !queueUrl.isBlank()) {
            settings.put("queueUrl", queueUrl);
            if (endpoint != null && !endpoint.isBlank()) {
                settings.put("endpoint", endpoint);
                consumer.endpointOverride(URI.create(endpoint));
            }
            queue = "SQS queue " + queueUrl;
        } else {
            SQSRestServer sqs = SQSRestServerBuilder.withInterface("127.0.0.1").withDynamicPort().start();
            servers.add(sqs::stopAndWait);
            URI local = URI.create("http://127.0.0.1:" + sqs.waitUntilStarted().localAddress().getPort());
            // The embedded server accepts any credentials; the publisher reads these through the SDK's chain.
            System.setProperty("aws.accessKeyId", "examples");
            System.setProperty("aws.secretAccessKey", "examples");
            consumer.endpointOverride(local).region(Region.EU_WEST_1)
                    .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("examples", "examples")));
            SqsClient admin = consumer.build();
            queueUrl = admin.createQueue(b -> b.queueName("outbox-examples")).queueUrl();
            admin.close();
            settings.putAll(Map.of("queueUrl", queueUrl, "endpoint", local.toString(), "region", "eu-west-1"));
            queue = "embedded SQS-compatible server (ElasticMQ), queue " + queueUrl;
        }
        ExampleEnvironment env = new ExampleEnvironment(dataSource, Map.copyOf(settings), queueUrl, consumer.build(),
                database + "; " + queue);
        env.closeLast.addAll(servers);
        env.createTables();
        return env;
    }

    private void createTables() throws SQLException {
        OutboxSchema.create(dataSource, table);
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            s.execute("""
                    CREATE TABLE IF NOT EXISTS app_user (email text PRIMARY KEY, name text NOT NULL);
                    CREATE TABLE IF NOT EXISTS import_job (id uuid PRIMARY KEY, source text NOT NULL, status text NOT NULL);
                    CREATE TABLE IF NOT EXISTS customer_order (id text PRIMARY KEY, customer text NOT NULL);
                    CREATE TABLE IF NOT EXISTS order_line (order_id text NOT NULL, sku text NOT NULL, quantity int NOT NULL);
                    CREATE TABLE IF NOT EXISTS shipment (id text PRIMARY KEY, order_id text NOT NULL, carrier text NOT NULL);
                    """);
        }
    }

    /** Receives (and deletes) what has arrived on the queue, waiting up to about two seconds for the first. */
    List<Message> receive(int expected) {
        List<Message> received = new ArrayList<>();
        int emptyPolls = 0;
        while (received.size() < expected && emptyPolls < 2) {
            List<Message> batch = consumer.receiveMessage(ReceiveMessageRequest.builder().queueUrl(queueUrl)
                    .maxNumberOfMessages(10).waitTimeSeconds(1).messageAttributeNames("All")
                    .messageSystemAttributeNamesWithStrings("AWSTraceHeader").build()).messages();
            emptyPolls = batch.isEmpty() ? emptyPolls + 1 : 0;
            for (Message m : batch) {
                received.add(m);
                consumer.deleteMessage(DeleteMessageRequest.builder().queueUrl(queueUrl)
                        .receiptHandle(m.receiptHandle()).build());
            }
        }
        return received;
    }

    @Override
    public void close() throws Exception {
        consumer.close();
        dataSource.close();
        for (AutoCloseable server : closeLast) {
            server.close();
        }
    }
}
