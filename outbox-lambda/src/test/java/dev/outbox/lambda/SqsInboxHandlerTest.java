package dev.outbox.lambda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import dev.outbox.inbox.Inbox;
import dev.outbox.inbox.InboxHandler;
import dev.outbox.inbox.InboxSchema;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.testing.TestDatabase;
import dev.outbox.testing.Transactions;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * The SQS consumer function: a batch with a duplicate, a record whose handler fails and a record the SQS publisher
 * did not send; the answer names exactly the failed records, the effects of the others commit once.
 */
class SqsInboxHandlerTest {

    static final DataSource db = TestDatabase.dataSource();

    final OutboxTable inboxTable = OutboxTable.named(TestDatabase.uniqueName("ib"));
    final String effects = TestDatabase.uniqueName("effects");

    SqsInboxHandlerTest() throws Exception {
        InboxSchema.create(db, inboxTable);
        try (var c = db.getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE " + effects + " (event_id uuid NOT NULL, payload text)");
        }
    }

    static SQSEvent.SQSMessage record(String messageId, UUID eventId, String body) {
        SQSEvent.SQSMessage m = new SQSEvent.SQSMessage();
        m.setMessageId(messageId);
        m.setBody(body);
        Map<String, SQSEvent.MessageAttribute> attributes = new HashMap<>();
        if (eventId != null) {
            SQSEvent.MessageAttribute id = new SQSEvent.MessageAttribute();
            id.setDataType("String");
            id.setStringValue(eventId.toString());
            attributes.put("outbox-event-id", id);
        }
        m.setMessageAttributes(attributes);
        return m;
    }

    final class OrderEvents extends SqsInboxHandler {
        OrderEvents(InboxHandler handler) {
            super(db, Inbox.create(inboxTable), handler);
        }
    }

    @Test
    void theAnswerNamesTheFailedRecordsAndTheOthersTakeEffectOnce() {
        InboxHandler apply = (connection, message) -> {
            if (message.payload().contains("fail")) {
                throw new IllegalStateException("cannot apply " + message.payload());
            }
            try (PreparedStatement p = connection.prepareStatement("INSERT INTO " + effects + " VALUES (?, ?)")) {
                p.setObject(1, message.eventId());
                p.setString(2, message.payload());
                p.executeUpdate();
            }
        };
        UUID a = UUID.randomUUID();
        UUID b = UUID.randomUUID();
        SQSEvent event = new SQSEvent();
        List<SQSEvent.SQSMessage> records = new ArrayList<>();
        records.add(record("m1", a, "{\"n\":1}"));
        records.add(record("m2", b, "{\"n\":\"fail\"}"));
        records.add(record("m3", a, "{\"n\":1}")); // the same event again
        records.add(record("m4", null, "{}")); // not from the SQS publisher
        event.setRecords(records);

        SQSBatchResponse response = new OrderEvents(apply).handleRequest(event, ColdStart.context(60_000));
        List<String> failed = response.getBatchItemFailures().stream()
                .map(SQSBatchResponse.BatchItemFailure::getItemIdentifier).toList();
        assertEquals(List.of("m2", "m4"), failed);
        assertEquals(1, Transactions.queryLong(db, "SELECT count(*) FROM " + effects));

        // SQS delivers the failed ones again; this time the handler takes m2.
        SQSEvent again = new SQSEvent();
        again.setRecords(List.of(record("m2", b, "{\"n\":2}"), record("m1", a, "{\"n\":1}")));
        SQSBatchResponse second = new OrderEvents(apply).handleRequest(again, ColdStart.context(60_000));
        assertEquals(0, second.getBatchItemFailures().size());
        assertEquals(2, Transactions.queryLong(db, "SELECT count(*) FROM " + effects));
        assertEquals(2, Transactions.queryLong(db, "SELECT count(*) FROM " + inboxTable.qualifiedName()));
    }
}
