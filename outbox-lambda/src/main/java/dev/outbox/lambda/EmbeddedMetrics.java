package dev.outbox.lambda;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.outbox.RelayResult;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;

/**
 * One invocation's counts as one line in CloudWatch's embedded metric format: Lambda sends the function's standard
 * output to CloudWatch Logs, which turns the line into metrics in namespace {@code Outbox} with the dimension
 * {@code Table}, at no extra call and no extra latency. Chosen over the {@code outbox-micrometer} CloudWatch registry,
 * which publishes on a timer of its own with {@code PutMetricData} calls a frozen function may never make.
 */
final class EmbeddedMetrics {

    /** The metrics' namespace. */
    static final String NAMESPACE = "Outbox";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] METRICS = {"Claimed", "Published", "Retried", "Dead", "Purged"};

    private EmbeddedMetrics() {
    }

    /**
     * @param table the outbox table, the {@code Table} dimension
     * @param result the drain's counts, or null for a purge
     * @param purged events purged, or 0
     * @param millis the invocation's time
     * @return the line
     */
    static String line(String table, RelayResult result, long purged, long millis) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode aws = root.putObject("_aws");
        aws.put("Timestamp", System.currentTimeMillis());
        ObjectNode directive = aws.putArray("CloudWatchMetrics").addObject();
        directive.put("Namespace", NAMESPACE);
        directive.putArray("Dimensions").addArray().add("Table");
        ArrayNode metrics = directive.putArray("Metrics");
        for (String name : METRICS) {
            metrics.addObject().put("Name", name).put("Unit", "Count");
        }
        metrics.addObject().put("Name", "DurationMs").put("Unit", "Milliseconds");
        root.put("Table", table);
        root.put("Claimed", result == null ? 0 : result.claimed());
        root.put("Published", result == null ? 0 : result.published());
        root.put("Retried", result == null ? 0 : result.retried());
        root.put("Dead", result == null ? 0 : result.dead());
        root.put("Purged", purged);
        root.put("DurationMs", millis);
        root.put("MoreWaiting", result != null && result.moreWaiting());
        try {
            return JSON.writeValueAsString(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes the line, whole, to {@code out}: Lambda's standard output in a function. */
    static void write(PrintStream out, String line) {
        synchronized (out) {
            out.println(line);
        }
    }
}
