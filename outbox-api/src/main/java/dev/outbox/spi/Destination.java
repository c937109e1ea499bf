package dev.outbox.spi;

import dev.outbox.InvalidConfigurationException;

/**
 * Where a publisher sends an event, as traces and logs name it.
 *
 * @param system the messaging system, as OpenTelemetry's {@code messaging.system} attribute spells it: {@code aws_sqs}
 *        for SQS, {@code aws_eventbridge} for EventBridge (the conventions name no value for it), or your own
 * @param name the destination within it: a queue name, a bus name
 */
public record Destination(String system, String name) {

    /**
     * @param system the messaging system, not blank
     * @param name the destination's name, not blank
     * @throws InvalidConfigurationException when either is null or blank
     */
    public Destination {
        if (system == null || system.isBlank()) {
            throw new InvalidConfigurationException("destination system must not be blank, was " + system);
        }
        if (name == null || name.isBlank()) {
            throw new InvalidConfigurationException("destination name must not be blank, was " + name);
        }
    }
}
