package dev.outbox.examples;

import dev.outbox.inbox.Inbox;
import dev.outbox.inbox.InboxMessage;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * A consumer of events an EventBridge rule delivers to a function (publish them with the EventBridge publisher's
 * {@code envelope=true}, which carries the outbox event's id): each event applied once through the inbox, whatever
 * EventBridge's retries and the relay's redeliveries send again. In a Lambda function, a {@code RequestStreamHandler}
 * reads the event's JSON and calls {@link #handleRequest}; a failure thrown from it makes EventBridge retry the
 * event (and send it to the rule's dead-letter queue after its retries).
 */
final class EventBridgeConsumer {

    private final DataSource dataSource;
    private final Inbox inbox;

    EventBridgeConsumer(DataSource dataSource, Inbox inbox) {
        this.dataSource = dataSource;
        this.inbox = inbox;
    }

    /**
     * One delivery.
     *
     * @param eventJson the EventBridge event as the function receives it
     * @return what the inbox did: PROCESSED the first time, DUPLICATE after
     * @throws SQLException when the event could not be applied: EventBridge delivers it again
     */
    Inbox.Result handleRequest(String eventJson) throws SQLException {
        InboxMessage message = InboxMessage.fromEventBridge(eventJson);
        return inbox.process(dataSource, message, (connection, m) -> {
            try (PreparedStatement s = connection.prepareStatement(
                    "INSERT INTO shipment_projection (event_id, aggregate_id, payload) VALUES (?, ?, ?)")) {
                s.setObject(1, m.eventId());
                s.setString(2, m.aggregateId());
                s.setString(3, m.payload());
                s.executeUpdate();
            }
        });
    }
}
