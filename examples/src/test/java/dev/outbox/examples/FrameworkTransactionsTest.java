package dev.outbox.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.outbox.Event;
import dev.outbox.examples.hibernate.Shipment;
import dev.outbox.examples.hibernate.ShippingService;
import dev.outbox.examples.spring.OrderService;
import dev.outbox.examples.spring.SpringExample;
import dev.outbox.examples.spring.SpringOutbox;
import dev.outbox.jdbc.JdbcOutbox;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.testing.RecordingPublisher;
import dev.outbox.testing.TestDatabase;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.IllegalTransactionStateException;
import org.springframework.transaction.support.TransactionTemplate;

/** The outbox joins the transactions Spring and Hibernate manage: what they roll back is never published. */
class FrameworkTransactionsTest {

    static final DataSource db = TestDatabase.dataSource();
    OutboxTable table;
    JdbcOutbox outbox;
    RecordingPublisher publisher;

    @BeforeAll
    static void businessTables() {
        System.setProperty("org.jboss.logging.provider", "slf4j");
        TestDatabase.execute("""
                CREATE TABLE IF NOT EXISTS customer_order (id text PRIMARY KEY, customer text NOT NULL);
                CREATE TABLE IF NOT EXISTS shipment (id text PRIMARY KEY, order_id text NOT NULL, carrier text NOT NULL)""");
    }

    @BeforeEach
    void freshOutbox() {
        table = OutboxTable.named(TestDatabase.uniqueName("examples"));
        OutboxSchema.create(db, table);
        outbox = JdbcOutbox.create(table);
        publisher = new RecordingPublisher();
    }

    @Test
    void aRolledBackSpringTransactionPublishesNothing() {
        String kept = "order-" + UUID.randomUUID();
        String undone = "order-" + UUID.randomUUID();
        try (AnnotationConfigApplicationContext spring = SpringExample.start(db, outbox)) {
            OrderService orders = spring.getBean(OrderService.class);
            orders.placeOrder(kept, "ada", 1);
            assertThrows(IllegalArgumentException.class, () -> orders.placeOrder(undone, "ada", 0));
        }
        assertEquals(List.of(kept), publishedAggregates());
        assertEquals(0, TestDatabase.queryLong("SELECT count(*) FROM customer_order WHERE id = '" + undone + "'"));
    }

    @Test
    void aFailedAppendRollsBackTheSpringServicesBusinessRow() {
        // The same event id twice violates the outbox's unique key: the append throws an SQLException. Translated to
        // Spring's unchecked DataAccessException, it rolls the transaction back, business row included.
        UUID id = UUID.randomUUID();
        String first = "order-" + UUID.randomUUID();
        String second = "order-" + UUID.randomUUID();
        try (AnnotationConfigApplicationContext spring = SpringExample.start(db, outbox)) {
            SpringOutbox springOutbox = spring.getBean(SpringOutbox.class);
            JdbcTemplate jdbc = spring.getBean(JdbcTemplate.class);
            TransactionTemplate tx = new TransactionTemplate(
                    spring.getBean(org.springframework.transaction.PlatformTransactionManager.class));
            for (String order : List.of(first, second)) {
                Runnable work = () -> tx.executeWithoutResult(status -> {
                    jdbc.update("INSERT INTO customer_order (id, customer) VALUES (?, 'grace')", order);
                    springOutbox.append(Event.builder().id(id).aggregate("order", order).type("order_placed")
                            .payload("{}").build());
                });
                if (order.equals(first)) {
                    work.run();
                } else {
                    assertThrows(DataAccessException.class, work::run);
                }
            }
        }
        assertEquals(0, TestDatabase.queryLong("SELECT count(*) FROM customer_order WHERE id = '" + second + "'"));
        assertEquals(List.of(first), publishedAggregates());
    }

    @Test
    void appendingOutsideASpringTransactionIsRefused() {
        try (AnnotationConfigApplicationContext spring = SpringExample.start(db, outbox)) {
            SpringOutbox springOutbox = spring.getBean(SpringOutbox.class);
            assertThrows(IllegalTransactionStateException.class,
                    () -> springOutbox.append(Event.of("order", "o", "order_placed", "{}")));
        }
        assertEquals(List.of(), publishedAggregates());
    }

    @Test
    void aRolledBackHibernateTransactionPublishesNothing() {
        String kept = "order-" + UUID.randomUUID();
        String undone = "order-" + UUID.randomUUID();
        String undoneShipment = "ship-" + UUID.randomUUID();
        try (ShippingService shipping = new ShippingService(db, outbox)) {
            shipping.ship(new Shipment("ship-" + UUID.randomUUID(), kept, "parcelco"), false);
            assertThrows(IllegalStateException.class,
                    () -> shipping.ship(new Shipment(undoneShipment, undone, "parcelco"), true));
        }
        assertEquals(List.of(kept), publishedAggregates());
        assertEquals(0, TestDatabase.queryLong("SELECT count(*) FROM shipment WHERE id = '" + undoneShipment + "'"));
    }

    private List<String> publishedAggregates() {
        try (JdbcRelay relay = JdbcRelay.builder(db, publisher).table(table).build()) {
            relay.drain(java.time.Duration.ofSeconds(10));
        }
        return publisher.deliveries().stream().map(Event::aggregateId).toList();
    }
}
