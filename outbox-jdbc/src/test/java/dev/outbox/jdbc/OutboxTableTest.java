package dev.outbox.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.InvalidConfigurationException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class OutboxTableTest {

    @ParameterizedTest
    @ValueSource(strings = {"outbox; DROP TABLE users; --", "outbox\"", "Outbox", "1outbox", "", "out box",
        "outbox_event_with_a_name_far_too_long_to_fit", "public.outbox", "o'utbox", "outbox--"})
    void maliciousOrInvalidTableNamesAreRejected(String name) {
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class, () -> OutboxTable.named(name));
        assertTrue(e.getMessage().contains("table name"), e.getMessage());
    }

    @Test
    void maliciousSchemaIsRejectedAndNullNameToo() {
        assertTrue(assertThrows(InvalidConfigurationException.class, () -> new OutboxTable("x\"; --", "outbox"))
                .getMessage().contains("schema name"));
        assertThrows(InvalidConfigurationException.class, () -> OutboxTable.named(null));
    }

    @Test
    void namesAreAlwaysQuotedSoReservedWordsWork() {
        assertEquals("\"user\"", OutboxTable.named("user").qualifiedName());
        assertEquals("\"app\".\"outbox_event\"", new OutboxTable("app", "outbox_event").qualifiedName());
    }
}
