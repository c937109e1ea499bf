package dev.outbox.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import dev.outbox.Outbox;
import dev.outbox.jackson.JacksonPayloads;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import javax.sql.DataSource;

/**
 * Typed payloads at both ends: the service appends a domain object with the ObjectMapper it already configures, and
 * a consumer reads the message body back into the same type with the same mapper.
 */
final class TypedPayloads {

    /** The domain event, a plain record. */
    record OrderPlaced(String orderId, String customer, BigDecimal total, List<String> skus) {
    }

    /** The service's mapper, configured its own way (snake_case here). */
    static final ObjectMapper MAPPER = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

    private final DataSource dataSource;
    private final Outbox outbox;
    private final JacksonPayloads payloads = JacksonPayloads.using(MAPPER);

    TypedPayloads(DataSource dataSource, Outbox outbox) {
        this.dataSource = dataSource;
        this.outbox = outbox;
    }

    /** The producer's side: one line turns the domain object into the event. */
    void placeOrder(OrderPlaced placed) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            outbox.append(c, payloads.event(placed).aggregate("order", placed.orderId()).type("order_placed").build());
            c.commit();
        }
    }

    /** The consumer's side: the message body back into the domain type, with the same mapper. */
    OrderPlaced consume(String messageBody) {
        return payloads.read(messageBody, OrderPlaced.class);
    }
}
