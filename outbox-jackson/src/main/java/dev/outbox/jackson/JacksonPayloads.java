package dev.outbox.jackson;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.outbox.Event;
import dev.outbox.InvalidEventException;
import java.util.Objects;

/**
 * Typed payloads through the {@link ObjectMapper} your service already configures (naming strategy, modules, dates):
 * the producer appends a domain object in one line, and a consumer reads the message body back with the same mapper.
 *
 * <pre>{@code
 * JacksonPayloads payloads = JacksonPayloads.using(objectMapper);
 * outbox.append(connection, payloads.event(new OrderPlaced(id, total)).aggregate("order", id).type("order_placed").build());
 * ...
 * OrderPlaced placed = payloads.read(message.body(), OrderPlaced.class);   // the consumer's side
 * }</pre>
 *
 * <p>For Jackson 2 ({@code com.fasterxml.jackson}), which the core's jackson-core also is. The mapper is used as
 * given and never changed; it is thread-safe once configured, and so is this class. The JSON text the mapper writes
 * is stored and published byte for byte.
 */
public final class JacksonPayloads {

    private final ObjectMapper mapper;

    private JacksonPayloads(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /**
     * @param mapper the service's configured mapper
     * @return payloads written and read with {@code mapper}
     * @throws NullPointerException when {@code mapper} is null
     */
    public static JacksonPayloads using(ObjectMapper mapper) {
        return new JacksonPayloads(Objects.requireNonNull(mapper, "mapper"));
    }

    /**
     * @param payload the domain object
     * @return an event builder with the payload set to the object's JSON; set aggregate and type, then build
     * @throws InvalidEventException naming {@code payload} when the mapper cannot write the object
     */
    public Event.Builder event(Object payload) {
        return Event.builder().payload(write(payload));
    }

    /**
     * @param payload the domain object
     * @return its JSON text, as the mapper writes it
     * @throws InvalidEventException naming {@code payload} when the mapper cannot write the object
     */
    public String write(Object payload) {
        try {
            return mapper.writeValueAsString(payload);
        } catch (JsonProcessingException e) {
            throw new InvalidEventException("payload", "the ObjectMapper cannot write "
                    + (payload == null ? "null" : payload.getClass().getName()) + ": " + e.getOriginalMessage());
        }
    }

    /**
     * Reads a message body, or an event's payload, back into a domain object.
     *
     * @param json the body as received
     * @param type the domain type
     * @param <T> the domain type
     * @return the object
     * @throws IllegalArgumentException when the body does not map to {@code type}, naming the type
     */
    public <T> T read(String json, Class<T> type) {
        try {
            return mapper.readValue(json, type);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("the body is not a " + type.getName() + ": " + e.getOriginalMessage(), e);
        }
    }

    /**
     * @param event an event, such as one a {@code RecordingPublisher} received
     * @param type the domain type
     * @param <T> the domain type
     * @return its payload as a domain object
     * @throws IllegalArgumentException when the payload does not map to {@code type}
     */
    public <T> T read(Event event, Class<T> type) {
        return read(event.payload(), type);
    }
}
