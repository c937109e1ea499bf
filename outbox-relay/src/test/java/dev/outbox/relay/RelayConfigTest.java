package dev.outbox.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.InvalidConfigurationException;
import dev.outbox.jdbc.OutboxTable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Settings from variables: defaults, the publisher's own keys, and errors that name the variable. */
class RelayConfigTest {

    static Map<String, String> base() {
        Map<String, String> env = new HashMap<>();
        env.put("OUTBOX_JDBC_URL", "jdbc:postgresql://db:5432/app");
        return env;
    }

    @Test
    void defaultsWhereNothingIsSet() {
        RelayConfig c = RelayConfig.from(base());
        assertEquals(OutboxTable.DEFAULT, c.table());
        assertNull(c.publisher());
        assertEquals(500, c.batchSize());
        assertEquals(Duration.ofSeconds(30), c.lease());
        assertEquals(2, c.loops());
        assertEquals(5, c.poolSize());
        assertEquals(8080, c.httpPort());
        assertEquals(Duration.ofDays(7), c.purgeRetention());
    }

    @Test
    void thePublishersSettingsComeFromTheirOwnPrefixWithDoubleUnderscoresForDots() {
        Map<String, String> env = base();
        env.put("OUTBOX_PUBLISHER", "router");
        env.put("OUTBOX_PUBLISHER_routes", "orders");
        env.put("OUTBOX_PUBLISHER_routes__orders__match", "*");
        env.put("OUTBOX_PUBLISHER_routes__orders__queueUrl", "https://sqs.eu-west-1.amazonaws.com/1/orders");
        env.put("OUTBOX_TABLE", "app.outbox_event");
        RelayConfig c = RelayConfig.from(env);
        assertEquals("router", c.publisher());
        assertEquals(Map.of("routes", "orders", "routes.orders.match", "*", "routes.orders.queueUrl",
                "https://sqs.eu-west-1.amazonaws.com/1/orders"), c.publisherSettings());
        assertEquals(new OutboxTable("app", "outbox_event"), c.table());
    }

    @Test
    void eachErrorNamesItsVariable() {
        assertTrue(assertThrows(InvalidConfigurationException.class, () -> RelayConfig.from(Map.of()))
                .getMessage().startsWith("OUTBOX_JDBC_URL is required"));
        Map<String, String> env = base();
        env.put("OUTBOX_LEASE", "thirty seconds");
        assertTrue(assertThrows(InvalidConfigurationException.class, () -> RelayConfig.from(env)).getMessage()
                .startsWith("OUTBOX_LEASE = 'thirty seconds' is not a duration"));
        env.remove("OUTBOX_LEASE");
        env.put("OUTBOX_BATCH_SIZE", "0");
        assertTrue(assertThrows(InvalidConfigurationException.class, () -> RelayConfig.from(env)).getMessage()
                .startsWith("OUTBOX_BATCH_SIZE = '0' must be from 1 to 10000"));
        env.remove("OUTBOX_BATCH_SIZE");
        env.put("OUTBOX_JDBC_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:1:secret:db");
        env.put("OUTBOX_JDBC_PASSWORD", "hunter2");
        assertTrue(assertThrows(InvalidConfigurationException.class, () -> RelayConfig.from(env)).getMessage()
                .contains("exclude each other"));
    }

    @Test
    void aPropertiesFileHoldsTheSameKeysBeneathTheEnvironment(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("relay.properties");
        Files.writeString(file, "OUTBOX_JDBC_URL=jdbc:postgresql://file/app\nOUTBOX_LOOPS=4\nOUTBOX_PUBLISHER_queueUrl=q\n");
        RelayConfig c = RelayConfig.from(Map.of(RelayConfig.CONFIG_FILE, file.toString(), "OUTBOX_LOOPS", "3"));
        assertEquals("jdbc:postgresql://file/app", c.jdbcUrl());
        assertEquals(3, c.loops(), "the environment wins");
        assertEquals(Map.of("queueUrl", "q"), c.publisherSettings());
        Files.writeString(file, "OUTBOX_JDBC_URL=jdbc:postgresql://file/app\nOUTBOX_LOPS=4\n");
        assertTrue(assertThrows(InvalidConfigurationException.class, () -> RelayConfig.from(
                Map.of(RelayConfig.CONFIG_FILE, file.toString()))).getMessage().contains("unknown settings [OUTBOX_LOPS]"));
    }

    @Test
    void thePasswordNeverShowsInLogs() {
        Map<String, String> env = base();
        env.put("OUTBOX_JDBC_PASSWORD", "hunter2");
        assertTrue(!RelayConfig.from(env).toString().contains("hunter2"));
    }
}
