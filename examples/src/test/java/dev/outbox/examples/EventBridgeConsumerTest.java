package dev.outbox.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.outbox.inbox.Inbox;
import dev.outbox.inbox.InboxSchema;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.testing.TestDatabase;
import dev.outbox.testing.Transactions;
import java.sql.Connection;
import java.sql.Statement;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/** The EventBridge consumer example: an event delivered twice (a retry) is applied once. */
class EventBridgeConsumerTest {

    @Test
    void anEventDeliveredTwiceIsAppliedOnce() throws Exception {
        DataSource db = TestDatabase.dataSource();
        OutboxTable inboxTable = OutboxTable.named(TestDatabase.uniqueName("ebinbox"));
        InboxSchema.create(db, inboxTable);
        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS shipment_projection");
            s.execute("CREATE TABLE shipment_projection (event_id uuid PRIMARY KEY, aggregate_id text, payload text)");
        }
        UUID id = UUID.randomUUID();
        String event = """
                {"version":"0","id":"%s","detail-type":"shipment_sent","source":"shipping","account":"123456789012",
                 "time":"2026-12-02T10:00:00Z","region":"eu-west-1","resources":[],
                 "detail":{"eventId":"%s","eventType":"shipment_sent","aggregateType":"shipment","aggregateId":"ship-1",
                           "occurredAt":"2026-12-02T10:00:00Z","headers":{},"payload":{"carrier":"parcelco"}}}"""
                .formatted(UUID.randomUUID(), id);
        EventBridgeConsumer consumer = new EventBridgeConsumer(db, Inbox.create(inboxTable));
        assertEquals(Inbox.Result.PROCESSED, consumer.handleRequest(event));
        assertEquals(Inbox.Result.DUPLICATE, consumer.handleRequest(event.replace("\"id\":\"", "\"id\":\"1")));
        assertEquals(1, Transactions.queryLong(db, "SELECT count(*) FROM shipment_projection"));
        assertEquals(1, Transactions.queryLong(db, "SELECT count(*) FROM shipment_projection WHERE payload ="
                + " '{\"carrier\":\"parcelco\"}' AND aggregate_id = 'ship-1'"));
    }
}
