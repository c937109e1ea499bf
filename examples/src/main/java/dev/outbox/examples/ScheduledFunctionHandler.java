package dev.outbox.examples;

import dev.outbox.Relay;
import dev.outbox.RelayResult;
import java.time.Duration;
import java.util.Map;

/**
 * The relay as a scheduled cloud function would run it: each invocation drains what is due, within a time
 * budget shorter than the function's timeout, and returns counts. Nothing keeps running between invocations.
 */
final class ScheduledFunctionHandler {

    private final Relay relay;
    private final Duration budget;

    ScheduledFunctionHandler(Relay relay, Duration budget) {
        this.relay = relay;
        this.budget = budget;
    }

    /** One invocation. */
    Map<String, Object> handleRequest() {
        RelayResult result = relay.drain(budget);
        return Map.of("claimed", result.claimed(), "published", result.published(), "retried", result.retried(),
                "dead", result.dead(), "moreWaiting", result.moreWaiting());
    }
}
