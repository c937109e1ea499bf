package dev.outbox;

/**
 * A setting is missing or out of range, or a publisher cannot be found.
 *
 * <p>Thrown at construction, never later: a relay or publisher that was built is configured correctly. The
 * message names the setting, the value given and the range allowed.
 */
public final class InvalidConfigurationException extends OutboxException {

    /**
     * @param message the setting, the value given and what is allowed
     */
    public InvalidConfigurationException(String message) {
        super(message);
    }

    /**
     * @param message the setting, the value given and what is allowed
     * @param cause the underlying failure
     */
    public InvalidConfigurationException(String message, Throwable cause) {
        super(message, cause);
    }
}
