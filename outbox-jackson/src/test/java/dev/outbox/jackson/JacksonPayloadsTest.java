package dev.outbox.jackson;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.outbox.Event;
import dev.outbox.InvalidEventException;
import java.math.BigDecimal;
import java.util.List;
import org.junit.jupiter.api.Test;

class JacksonPayloadsTest {

    record OrderPlaced(String orderId, BigDecimal total, List<String> skus) {
    }

    /** A service's mapper, configured its own way. */
    static ObjectMapper servicesMapper() {
        return new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .configure(SerializationFeature.FAIL_ON_EMPTY_BEANS, true);
    }

    @Test
    void aDomainObjectIsAppendedInOneLineWithTheServicesMapperAndReadBackWithIt() {
        JacksonPayloads payloads = JacksonPayloads.using(servicesMapper());
        OrderPlaced placed = new OrderPlaced("o-1", new BigDecimal("12.50"), List.of("book-1", "pen-7"));
        Event event = payloads.event(placed).aggregate("order", "o-1").type("order_placed").build();
        assertEquals("{\"order_id\":\"o-1\",\"total\":12.50,\"skus\":[\"book-1\",\"pen-7\"]}", event.payload(),
                "the service's naming strategy, and the number as written");
        assertEquals(placed, payloads.read(event, OrderPlaced.class));
        assertEquals(placed, payloads.read(event.payload(), OrderPlaced.class));
    }

    @Test
    void anObjectTheMapperCannotWriteIsAnInvalidEventNamingThePayload() {
        JacksonPayloads payloads = JacksonPayloads.using(servicesMapper());
        InvalidEventException e = assertThrows(InvalidEventException.class, () -> payloads.event(new Object()));
        assertEquals("payload", e.field());
        assertTrue(e.getMessage().contains("java.lang.Object"), e.getMessage());
    }

    @Test
    void aBodyOfAnotherShapeSaysWhichTypeItIsNot() {
        JacksonPayloads payloads = JacksonPayloads.using(servicesMapper());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> payloads.read("[1,2]", OrderPlaced.class));
        assertTrue(e.getMessage().contains("OrderPlaced"), e.getMessage());
    }
}
