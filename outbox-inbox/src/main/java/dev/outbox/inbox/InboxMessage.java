package dev.outbox.inbox;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.outbox.InvalidConfigurationException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * One delivery of an outbox event, as a consumer received it: the event's id, by which the {@link Inbox} knows a
 * delivery it processed before, and what the handler needs. Read from where the bundled publishers put them with
 * {@link #fromSqs} and {@link #fromEventBridge}, or built by a consumer of another source with {@link #of}.
 *
 * @param eventId the event's id, the same in every delivery of the event
 * @param eventType the event's type, or null when the source does not carry it
 * @param aggregateType the aggregate's type, or null
 * @param aggregateId the aggregate's id, or null
 * @param payload the payload text
 * @param headers the event's headers (the trace context among them), never null
 */
public record InboxMessage(UUID eventId, String eventType, String aggregateType, String aggregateId, String payload,
                           Map<String, String> headers) {

    /** The SQS message attribute holding the event's id, as the SQS publisher writes it. */
    public static final String SQS_EVENT_ID = "outbox-event-id";
    /** The SQS message attribute holding the event's type. */
    public static final String SQS_EVENT_TYPE = "outbox-event-type";
    /** The SQS message attribute holding the aggregate's type. */
    public static final String SQS_AGGREGATE_TYPE = "outbox-aggregate-type";
    /** The SQS message attribute holding the aggregate's id. */
    public static final String SQS_AGGREGATE_ID = "outbox-aggregate-id";
    /** The SQS message attribute holding the headers as one JSON object, when they are many. */
    public static final String SQS_HEADERS = "outbox-headers";

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param eventId the event's id
     * @param eventType the event's type, or null
     * @param aggregateType the aggregate's type, or null
     * @param aggregateId the aggregate's id, or null
     * @param payload the payload text
     * @param headers the headers, or null for none
     * @throws InvalidConfigurationException when the event id or the payload is null
     */
    public InboxMessage {
        if (eventId == null) {
            throw new InvalidConfigurationException("eventId must not be null: the inbox knows deliveries by it");
        }
        if (payload == null) {
            throw new InvalidConfigurationException("payload must not be null");
        }
        headers = headers == null ? Map.of() : Map.copyOf(headers);
    }

    /**
     * @param eventId the event's id
     * @param payload the payload text
     * @return a message with no type, aggregate or headers
     */
    public static InboxMessage of(UUID eventId, String payload) {
        return new InboxMessage(eventId, null, null, null, payload, Map.of());
    }

    /**
     * Reads an SQS message as the SQS publisher sent it: the body is the payload, the message attributes
     * {@value #SQS_EVENT_ID}, {@value #SQS_EVENT_TYPE}, {@value #SQS_AGGREGATE_TYPE} and {@value #SQS_AGGREGATE_ID}
     * the event's, and the other attributes its headers (or {@value #SQS_HEADERS}, a JSON object of them, beside
     * {@code traceparent} and {@code tracestate}).
     *
     * @param body the message body
     * @param attributes the message's string attributes, by name (receive them with
     *        {@code messageAttributeNames("All")})
     * @return the message
     * @throws InvalidConfigurationException naming what is missing or malformed: a message the SQS publisher did not
     *         send
     */
    public static InboxMessage fromSqs(String body, Map<String, String> attributes) {
        String id = attributes.get(SQS_EVENT_ID);
        if (id == null) {
            throw new InvalidConfigurationException("the SQS message has no " + SQS_EVENT_ID
                    + " attribute (was it sent by the outbox's SQS publisher, and received with its attributes?)");
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (Map.Entry<String, String> a : attributes.entrySet()) {
            if (!a.getKey().startsWith("outbox-") && a.getValue() != null) {
                headers.put(a.getKey(), a.getValue());
            }
        }
        String packed = attributes.get(SQS_HEADERS);
        if (packed != null) {
            headers.putAll(stringObject(SQS_HEADERS, packed));
        }
        return new InboxMessage(uuid(SQS_EVENT_ID, id), attributes.get(SQS_EVENT_TYPE),
                attributes.get(SQS_AGGREGATE_TYPE), attributes.get(SQS_AGGREGATE_ID), body == null ? "" : body, headers);
    }

    /**
     * Reads an EventBridge event sent by the EventBridge publisher with {@code envelope=true}: the whole event as a
     * rule's target receives it (the envelope in its {@code detail}), or the envelope alone. Without the envelope an
     * EventBridge event carries no outbox event id; build the message with {@link #of} from an id of your payload's.
     * The payload is the envelope's {@code payload} written back as compact JSON.
     *
     * @param json the event or its detail
     * @return the message
     * @throws InvalidConfigurationException naming what is missing or malformed
     */
    public static InboxMessage fromEventBridge(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new InvalidConfigurationException("the EventBridge event is not JSON: " + e.getOriginalMessage());
        }
        JsonNode envelope = root != null && root.path("detail").isObject() ? root.get("detail") : root;
        if (envelope == null || !envelope.path("eventId").isTextual() || !envelope.has("payload")) {
            throw new InvalidConfigurationException("the EventBridge event has no envelope with eventId and payload"
                    + " (publish with the EventBridge publisher's envelope=true)");
        }
        Map<String, String> headers = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> fields = envelope.path("headers").fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> h = fields.next();
            headers.put(h.getKey(), h.getValue().asText());
        }
        return new InboxMessage(uuid("eventId", envelope.get("eventId").asText()), text(envelope, "eventType"),
                text(envelope, "aggregateType"), text(envelope, "aggregateId"), envelope.get("payload").toString(),
                headers);
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    private static UUID uuid(String field, String value) {
        try {
            return UUID.fromString(value);
        } catch (IllegalArgumentException e) {
            throw new InvalidConfigurationException(field + " '" + value + "' is not an event id (a UUID)");
        }
    }

    private static Map<String, String> stringObject(String field, String json) {
        try {
            JsonNode node = JSON.readTree(json);
            Map<String, String> values = new LinkedHashMap<>();
            if (node != null && node.isObject()) {
                node.fields().forEachRemaining(e -> values.put(e.getKey(), e.getValue().asText()));
                return values;
            }
        } catch (JsonProcessingException e) {
            // reported below
        }
        throw new InvalidConfigurationException(field + " is not a JSON object of strings: " + json);
    }
}
