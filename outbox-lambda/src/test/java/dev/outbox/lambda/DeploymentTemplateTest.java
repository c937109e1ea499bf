package dev.outbox.lambda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.outbox.relay.RelayConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The SAM template in the examples deploys what this module builds: its handler, its jar, settings the handler
 * accepts, a timeout that leaves room for claims after the margin, the least privilege, and alarms on metrics the
 * handler writes.
 */
class DeploymentTemplateTest {

    static final Path TEMPLATE = Path.of("..", "examples", "lambda", "template.yaml");

    final JsonNode template;
    final JsonNode function;

    DeploymentTemplateTest() throws Exception {
        template = new ObjectMapper(new YAMLFactory()).readTree(Files.readString(TEMPLATE));
        function = template.path("Resources").path("RelayFunction").path("Properties");
    }

    @Test
    void theHandlerAndTheJarAreTheOnesThisModuleBuilds() throws Exception {
        String handler = function.path("Handler").asText();
        assertEquals(ScheduledRelayHandler.class.getName() + "::handleRequest", handler);
        Class.forName(handler.substring(0, handler.indexOf("::")));
        String codeUri = function.path("CodeUri").asText();
        assertTrue(codeUri.matches("\\.\\./\\.\\./outbox-lambda/target/outbox-lambda-[^/]+-all\\.jar"), codeUri);
    }

    @Test
    void itsSettingsAreOnesTheHandlerReadsAndItsTimeoutLeavesTimeToClaim() {
        Map<String, String> env = new HashMap<>();
        function.path("Environment").path("Variables").fields().forEachRemaining(e -> env.put(e.getKey(),
                e.getValue().isTextual() ? e.getValue().asText() : parameter(e.getKey(), e.getValue())));
        assertTrue(env.containsKey("OUTBOX_JDBC_URL") && env.containsKey("OUTBOX_JDBC_SECRET_ARN"), env.toString());
        assertEquals("eventbridge", env.get("OUTBOX_PUBLISHER"));
        RelayConfig config = RelayConfig.from(env); // throws, naming the variable, for a setting it refuses
        assertEquals(Set.of("source", "eventBusName"), config.publisherSettings().keySet());
        Duration timeout = Duration.ofSeconds(function.path("Timeout").asLong());
        Duration claiming = timeout.minus(config.lease()).minusSeconds(5);
        assertTrue(claiming.compareTo(Duration.ofSeconds(60)) >= 0, "a minute of claims per invocation: " + claiming);
    }

    /** A value the template takes from a parameter: its default, or something the setting accepts. */
    String parameter(String variable, JsonNode ref) {
        JsonNode defaultValue = template.path("Parameters").path(ref.path("Ref").asText()).path("Default");
        if (defaultValue.isTextual()) {
            return defaultValue.asText();
        }
        return variable.equals("OUTBOX_JDBC_URL") ? "jdbc:postgresql://db:5432/app" : "from-a-parameter";
    }

    @Test
    void itMayPutEventsOnOneBusAndReadOneSecretAndNothingElse() {
        Set<String> actions = new TreeSet<>();
        for (JsonNode policy : function.path("Policies")) {
            for (JsonNode statement : policy.path("Statement")) {
                assertEquals("Allow", statement.path("Effect").asText());
                actions.add(statement.path("Action").asText());
                JsonNode resource = statement.path("Resource");
                assertTrue(resource.isObject() && !resource.toString().contains("*"), "one resource: " + resource);
            }
        }
        assertEquals(Set.of("events:PutEvents", "secretsmanager:GetSecretValue"), actions);
    }

    @Test
    void itDrainsAndPurgesOnSchedulesAndAlarmsOnTheMetricTheHandlerWrites() throws Exception {
        JsonNode events = function.path("Events");
        ObjectMapper json = new ObjectMapper();
        @SuppressWarnings("unchecked")
        Map<String, Object> purge = json.readValue(events.path("Purge").path("Properties").path("Input").asText(),
                Map.class);
        @SuppressWarnings("unchecked")
        Map<String, Object> drain = json.readValue(events.path("Drain").path("Properties").path("Input").asText(),
                Map.class);
        assertTrue(ScheduledRelayHandler.purgeRequested(purge));
        assertTrue(!ScheduledRelayHandler.purgeRequested(drain));

        JsonNode alarm = template.path("Resources").path("DeadEventsAlarm").path("Properties");
        assertEquals(EmbeddedMetrics.NAMESPACE, alarm.path("Namespace").asText());
        String line = EmbeddedMetrics.line("outbox_event", null, 0, 1);
        JsonNode written = json.readTree(line);
        String metric = alarm.path("MetricName").asText();
        List<String> declared = written.path("_aws").path("CloudWatchMetrics").get(0).path("Metrics")
                .findValuesAsText("Name");
        assertTrue(declared.contains(metric), metric + " among " + declared);
        assertEquals("Table", alarm.path("Dimensions").get(0).path("Name").asText());
    }
}
