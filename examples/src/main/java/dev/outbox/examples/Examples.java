package dev.outbox.examples;

import dev.outbox.Event;
import dev.outbox.RelayListener;
import dev.outbox.RelayResult;
import dev.outbox.inbox.Inbox;
import dev.outbox.inbox.InboxMessage;
import dev.outbox.inbox.InboxSchema;
import dev.outbox.jdbc.DeadEvent;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxOperations;
import dev.outbox.jdbc.OutboxHealth;
import dev.outbox.micrometer.OutboxMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import dev.outbox.jdbc.OutboxStats;
import dev.outbox.spi.Publisher;
import dev.outbox.spi.Publishers;
import dev.outbox.examples.hibernate.Shipment;
import dev.outbox.examples.hibernate.ShippingService;
import dev.outbox.examples.spring.OrderService;
import dev.outbox.examples.spring.SpringExample;
import dev.outbox.examples.webhook.WebhookPublisher;
import dev.outbox.examples.webhook.WebhookReceiver;
import dev.outbox.RetryPolicy;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxTable;
import java.util.ArrayList;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import software.amazon.awssdk.services.sqs.model.Message;

/**
 * Runs every example in turn and prints what was committed, what the relay published, what a consumer received
 * from the queue, and the outbox's stats at the end.
 *
 * <pre>./mvnw -q -pl examples -am compile exec:java</pre>
 */
public final class Examples {

    private final ExampleEnvironment env;
    private final PrintStream out;
    private final JdbcOutbox outbox;

    private Examples(ExampleEnvironment env, PrintStream out) {
        this.env = env;
        this.out = out;
        this.outbox = JdbcOutbox.create(env.table);
    }

    public static void main(String[] args) throws Exception {
        run(System.out);
    }

    /** Runs everything, printing the account to {@code out}. */
    static void run(PrintStream out) throws Exception {
        // Hibernate logs through jboss-logging, which defaults to java.util.logging; send it to slf4j like the rest.
        System.setProperty("org.jboss.logging.provider", "slf4j");
        long started = System.nanoTime();
        try (ExampleEnvironment env = ExampleEnvironment.start()) {
            out.println("outbox examples on " + env.description);
            new Examples(env, out).all();
        }
        out.printf("done in %.1f s%n", (System.nanoTime() - started) / 1e9);
    }

    private void all() throws Exception {
        // The publisher is chosen by the jar on the classpath: outbox-publisher-sqs registers "sqs".
        try (Publisher publisher = Publishers.create(null, env.sqsSettings)) {
            registration();
            importJob();
            unitOfWork();
            oneShot(publisher);
            consume(6);
            poller(publisher);
            spring();
            hibernate();
            relayFrameworkEvents(publisher);
            webhooks();
            typedPayloads();
            operations();
            tracing();
        }
    }

    private void registration() throws SQLException {
        out.println("1. user registration: the user row and user_created commit together");
        UserRegistration registration = new UserRegistration(env.dataSource, outbox);
        registration.register("ada@example.com", "Ada");
        out.println("   committed   user ada@example.com + event user_created");
        registration.register("grace@example.com", "Grace");
        out.println("   committed   user grace@example.com + event user_created");
        try {
            registration.register("ada@example.com", "Ada again");
        } catch (SQLException duplicate) {
            out.println("   rolled back ada@example.com again (" + duplicate.getSQLState()
                    + " unique violation): no row, no event");
        }
    }

    private void importJob() throws SQLException {
        out.println("2. import job created by a web request handler, the job id as aggregate id");
        UUID job = new ImportJobHandler(env.dataSource, outbox)
                .handle(Map.of("source", "s3://imports/customers.csv", "request-id", "req-42"));
        out.println("   committed   import job " + job + " + event import_job_created");
    }

    private void unitOfWork() throws SQLException {
        out.println("3. unit of work: domain events collected, appended with the rows at commit");
        UnitOfWork work = new UnitOfWork(env.dataSource, outbox);
        String order = "order-1001";
        work.change(c -> {
            try (PreparedStatement s = c.prepareStatement("INSERT INTO customer_order (id, customer) VALUES (?, ?)")) {
                s.setString(1, order);
                s.setString(2, "ada@example.com");
                s.executeUpdate();
            }
        });
        work.raise(Event.builder().aggregate("order", order).type("order_placed")
                .payload("{\"order\":\"" + order + "\",\"customer\":\"ada@example.com\"}").build());
        for (String sku : List.of("book-1", "pen-7")) {
            work.change(c -> {
                try (PreparedStatement s = c.prepareStatement(
                        "INSERT INTO order_line (order_id, sku, quantity) VALUES (?, ?, 1)")) {
                    s.setString(1, order);
                    s.setString(2, sku);
                    s.executeUpdate();
                }
            });
            work.raise(Event.builder().aggregate("order", order).type("order_line_added")
                    .payload("{\"order\":\"" + order + "\",\"sku\":\"" + sku + "\"}").build());
        }
        List<Event> appended = work.commit();
        out.println("   committed   order " + order + " with 2 lines + events "
                + appended.stream().map(Event::type).toList());
    }

    private void oneShot(Publisher publisher) {
        out.println("4. relay as a one-shot handler (a scheduled function drains once and returns counts)");
        try (JdbcRelay relay = JdbcRelay.builder(env.dataSource, publisher).table(env.table)
                .listener(progress()).build()) {
            Map<String, Object> counts = new ScheduledFunctionHandler(relay, Duration.ofSeconds(30)).handleRequest();
            out.println("   published   " + new java.util.TreeMap<>(counts));
        }
    }

    private void consume(int expected) {
        out.println("5. a consumer reads the queue");
        List<Message> received = env.receive(expected);
        Map<String, Long> byType = received.stream().collect(Collectors.groupingBy(
                m -> m.messageAttributes().get("outbox-event-type").stringValue(), java.util.TreeMap::new,
                Collectors.counting()));
        out.println("   received    " + received.size() + " messages " + byType);
        for (Message m : received) {
            if (m.messageAttributes().get("outbox-aggregate-type").stringValue().equals("order")) {
                out.println("               order message: " + m.body());
            }
        }
        // Delivery is at least once: the consumer applies each message through an inbox, in its own transaction, so
        // that a message delivered again (here: every one of them, a second time) changes nothing.
        InboxSchema.create(env.dataSource, InboxSchema.DEFAULT_TABLE);
        try (Connection c = env.dataSource.getConnection(); PreparedStatement s = c.prepareStatement(
                "CREATE TABLE IF NOT EXISTS consumed_event (event_id uuid PRIMARY KEY, event_type text NOT NULL)")) {
            s.execute();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        Inbox inbox = Inbox.create();
        int applied = 0;
        int dropped = 0;
        for (int delivery = 0; delivery < 2; delivery++) {
            for (Message m : received) {
                Map<String, String> attributes = new HashMap<>();
                m.messageAttributes().forEach((name, value) -> attributes.put(name, value.stringValue()));
                try {
                    Inbox.Result result = inbox.process(env.dataSource, InboxMessage.fromSqs(m.body(), attributes),
                            Examples::recordConsumed);
                    if (result == Inbox.Result.PROCESSED) {
                        applied++;
                    } else {
                        dropped++;
                    }
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        out.println("   idempotent  each message delivered twice: applied " + applied + ", dropped " + dropped
                + " duplicates");
    }

    /** The consumer's own effect: a row per event it applied. */
    private static void recordConsumed(Connection connection, InboxMessage message) throws SQLException {
        try (PreparedStatement s = connection.prepareStatement(
                "INSERT INTO consumed_event (event_id, event_type) VALUES (?, ?)")) {
            s.setObject(1, message.eventId());
            s.setString(2, message.eventType());
            s.executeUpdate();
        }
    }

    private void poller(Publisher publisher) throws Exception {
        out.println("6. relay as an embedded poller on the host's executor");
        try (JdbcRelay relay = JdbcRelay.builder(env.dataSource, publisher).table(env.table)
                     .pollInterval(Duration.ofSeconds(5)).build();
             EmbeddedPoller poller = new EmbeddedPoller(relay)) {
            new UserRegistration(env.dataSource, outbox).register("linus@example.com", "Linus");
            long committed = System.nanoTime();
            poller.wakeUp();
            List<Message> received = env.receive(1);
            out.printf("   committed   user linus@example.com; received %d message %.0f ms later (woken, not"
                    + " polled)%n", received.size(), (System.nanoTime() - committed) / 1e6);
        }
    }

    private void operations() throws SQLException {
        out.println("12. operations: dead events, requeue, purge, stats");
        OutboxOperations ops = new OutboxOperations(env.dataSource, env.table);
        // A publisher configured with too small a message limit rejects a large event: it goes dead at once.
        Map<String, String> tooSmall = new HashMap<>(env.sqsSettings);
        tooSmall.put("maxMessageBytes", "1024");
        new UserRegistration(env.dataSource, outbox).register("big@example.com", "x".repeat(2000));
        try (Publisher small = Publishers.create("sqs", tooSmall);
             JdbcRelay relay = JdbcRelay.builder(env.dataSource, small).table(env.table).build()) {
            RelayResult result = relay.runOnce();
            out.println("   relay with a 1 KB limit: published " + result.published() + ", dead " + result.dead());
        }
        List<DeadEvent> dead = ops.listDead(10);
        for (DeadEvent d : dead) {
            out.println("   dead        " + d.event().type() + " " + d.event().aggregateId() + " after "
                    + d.attempts() + " attempt(s): " + d.lastError());
        }
        out.println("   requeued    " + ops.requeueDead(dead.stream().map(d -> d.event().id()).toList()));
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (Publisher publisher = Publishers.create("sqs", env.sqsSettings);
             OutboxMetrics metrics = OutboxMetrics.builder(registry, env.table).build();
             JdbcRelay relay = JdbcRelay.builder(env.dataSource, publisher).table(env.table).listener(metrics).build()) {
            out.println("   republished " + relay.runOnce().published() + " with the right limit");
            OutboxHealth.Report health = OutboxHealth.builder(relay, ops).build().check();
            out.println("   health      " + health.status() + " " + health.reasons());
            out.println("   metrics     outbox.events{outcome=published} "
                    + (long) registry.get("outbox.events").tag("outcome", "published").counter().count()
                    + ", outbox.relay.batch count " + registry.get("outbox.relay.batch").timer().count());
        }
        out.println("   received    " + env.receive(1).size() + " message");
        out.println("   purged      " + ops.purgePublished(Duration.ZERO, 1000) + " published events (retention 0)");
        OutboxStats stats = ops.stats();
        out.println("   stats       pending=" + stats.pending() + " inFlight=" + stats.inFlight() + " dead="
                + stats.dead() + " oldestPendingAge=" + stats.oldestPendingAge());
    }

    private void tracing() throws SQLException {
        out.println("13. tracing: one trace from the request through the outbox to the consumer");
        List<SpanData> finished = new java.util.concurrent.CopyOnWriteArrayList<>();
        SpanExporter collect = new SpanExporter() {
            @Override
            public CompletableResultCode export(java.util.Collection<SpanData> spans) {
                finished.addAll(spans);
                return CompletableResultCode.ofSuccess();
            }

            @Override
            public CompletableResultCode flush() {
                return CompletableResultCode.ofSuccess();
            }

            @Override
            public CompletableResultCode shutdown() {
                return CompletableResultCode.ofSuccess();
            }
        };
        try (OpenTelemetrySdk otel = OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(collect))
                        .build())
                .build();
             Publisher publisher = Publishers.create("sqs", env.sqsSettings)) {
            TracedOrders orders = new TracedOrders(env.dataSource, env.table, otel);
            orders.placeOrder("order-4001");
            try (JdbcRelay relay = orders.relay(publisher)) {
                relay.runOnce();
            }
            Message message = env.receive(1).get(0);
            String queueUrl = env.sqsSettings.get("queueUrl");
            String queue = queueUrl.substring(queueUrl.lastIndexOf('/') + 1);
            orders.consume(message, queue);
            out.println("   traces      " + finished.stream().map(SpanData::getTraceId).distinct().count() + ": "
                    + finished.stream().sorted(java.util.Comparator.comparingLong(SpanData::getStartEpochNanos))
                            .map(s -> s.getName() + " (" + s.getKind() + ")").collect(Collectors.joining(" > ")));
            out.println("   message     traceparent " + message.messageAttributes().get("traceparent").stringValue()
                    + ", AWSTraceHeader " + message.attributesAsStrings().get("AWSTraceHeader"));
        }
    }

    private void spring() {
        out.println("7. Spring @Transactional service: JdbcTemplate writes the order, the event joins Spring's"
                + " transaction");
        try (AnnotationConfigApplicationContext spring = SpringExample.start(env.dataSource, outbox)) {
            OrderService orders = spring.getBean(OrderService.class);
            orders.placeOrder("order-2001", "grace@example.com", 2);
            out.println("   committed   order order-2001 + event order_placed");
            try {
                orders.placeOrder("order-2002", "grace@example.com", 0);
            } catch (IllegalArgumentException e) {
                out.println("   rolled back order-2002 (" + e.getMessage() + "): "
                        + count("SELECT count(*) FROM customer_order WHERE id = ?", "order-2002") + " rows, "
                        + eventsOf("order-2002") + " events");
            }
        }
    }

    private void hibernate() {
        out.println("8. Hibernate without Spring: session.doWork appends on the session's connection");
        try (ShippingService shipping = new ShippingService(env.dataSource, outbox)) {
            shipping.ship(new Shipment("ship-1", "order-2001", "parcelco"), false);
            out.println("   committed   shipment ship-1 + event order_shipped");
            try {
                shipping.ship(new Shipment("ship-2", "order-2003", "parcelco"), true);
            } catch (IllegalStateException e) {
                out.println("   rolled back ship-2 (" + e.getMessage() + "): "
                        + count("SELECT count(*) FROM shipment WHERE id = ?", "ship-2") + " rows, "
                        + eventsOf("order-2003") + " events");
            }
            out.println("   shipments   " + shipping.count() + " stored");
        }
    }

    private void relayFrameworkEvents(Publisher publisher) {
        out.println("9. the relay publishes what the frameworks' transactions committed, nothing else");
        try (JdbcRelay relay = JdbcRelay.builder(env.dataSource, publisher).table(env.table).build()) {
            RelayResult result = relay.drain(Duration.ofSeconds(30));
            List<Message> received = env.receive(result.published());
            out.println("   published   " + result.published() + "; received " + received.size() + " messages "
                    + received.stream().map(m -> m.messageAttributes().get("outbox-event-type").stringValue()
                            + " " + m.messageAttributes().get("outbox-aggregate-id").stringValue()).sorted().toList());
        }
    }

    private void webhooks() throws Exception {
        out.println("10. your own publisher: webhooks over HTTP to a receiver that fails 30 % of requests");
        OutboxTable hooks = OutboxTable.named("webhook_outbox");
        OutboxSchema.create(env.dataSource, hooks);
        JdbcOutbox hookOutbox = JdbcOutbox.create(hooks);
        List<Event> appended = new ArrayList<>();
        for (int step = 0; step < 4; step++) {
            List<Event> tx = new ArrayList<>();
            for (int account = 1; account <= 5; account++) {
                tx.add(Event.builder().aggregate("account", "acc-" + account).type("balance_changed")
                        .payload("{\"account\":\"acc-" + account + "\",\"step\":" + step + "}").build());
            }
            try (Connection c = env.dataSource.getConnection()) {
                c.setAutoCommit(false);
                hookOutbox.appendAll(c, tx);
                c.commit();
            }
            appended.addAll(tx);
        }
        RetryPolicy quickRetries = RetryPolicy.builder().initialDelay(Duration.ofMillis(10))
                .maxDelay(Duration.ofMillis(100)).maxAttempts(50).build();
        try (WebhookReceiver receiver = new WebhookReceiver(0.3);
             JdbcRelay relay = JdbcRelay.builder(env.dataSource,
                             new WebhookPublisher(receiver.endpoint(), Duration.ofSeconds(2)))
                     .table(hooks).retryPolicy(quickRetries).build()) {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            int retried = 0;
            while (receiver.accepted().size() < appended.size() && System.nanoTime() < deadline) {
                retried += relay.drain(Duration.ofSeconds(5)).retried();
                Thread.sleep(20);
            }
            List<WebhookReceiver.Delivery> got = receiver.accepted();
            boolean inOrder = appended.stream().map(Event::aggregateId).distinct().allMatch(id ->
                    got.stream().filter(d -> d.aggregate().equals("account/" + id)).map(WebhookReceiver.Delivery::eventId)
                            .toList().equals(appended.stream().filter(e -> e.aggregateId().equals(id))
                                    .map(e -> e.id().toString()).toList()));
            out.println("   received    " + got.size() + " of " + appended.size() + " events after " + retried
                    + " retries; each account in append order: " + inOrder);
        }
    }

    private void typedPayloads() throws Exception {
        out.println("11. typed payloads: a domain object appended with the service's ObjectMapper, read back by a consumer");
        OutboxTable typed = OutboxTable.named("typed_outbox");
        OutboxSchema.create(env.dataSource, typed);
        TypedPayloads service = new TypedPayloads(env.dataSource, JdbcOutbox.create(typed));
        TypedPayloads.OrderPlaced placed = new TypedPayloads.OrderPlaced("order-3001", "ada@example.com",
                new java.math.BigDecimal("42.50"), List.of("book-1", "pen-7"));
        service.placeOrder(placed);
        try (Publisher publisher = Publishers.create("sqs", env.sqsSettings);
             JdbcRelay relay = JdbcRelay.builder(env.dataSource, publisher).table(typed).build()) {
            relay.runOnce();
        }
        Message message = env.receive(1).get(0);
        TypedPayloads.OrderPlaced received = service.consume(message.body());
        out.println("   body        " + message.body());
        out.println("   consumer    " + received + "; equal to what was placed: " + received.equals(placed));
    }

    private long count(String sql, String argument) {
        try (Connection c = env.dataSource.getConnection(); PreparedStatement s = c.prepareStatement(sql)) {
            s.setString(1, argument);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(sql, e);
        }
    }

    private long eventsOf(String aggregateId) {
        return count("SELECT count(*) FROM " + env.table.qualifiedName() + " WHERE aggregate_id = ?", aggregateId);
    }

    /** Prints a progress line at most once a second while a drain runs long. */
    private RelayListener progress() {
        return new RelayListener() {
            private long published;
            private long lastPrint = System.nanoTime();

            @Override
            public void batchCompleted(RelayResult result, Duration elapsed) {
                published += result.published();
                if (System.nanoTime() - lastPrint > 1_000_000_000L) {
                    lastPrint = System.nanoTime();
                    out.println("   ... " + published + " published so far");
                }
            }
        };
    }
}
