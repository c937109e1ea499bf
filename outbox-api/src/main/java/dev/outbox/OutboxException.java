package dev.outbox;

/**
 * The root of the library's unchecked exceptions.
 *
 * <p>Thrown when the outbox cannot do what was asked: a misused connection, a missing table, a relay used
 * after {@code close()}. {@link java.sql.SQLException} is not wrapped where the caller handed us the
 * connection: it passes through {@link Outbox#append} unchanged.
 */
public class OutboxException extends RuntimeException {

    /**
     * @param message what went wrong, naming the setting, field or event concerned
     */
    public OutboxException(String message) {
        super(message);
    }

    /**
     * @param message what went wrong, naming the setting, field or event concerned
     * @param cause the underlying failure
     */
    public OutboxException(String message, Throwable cause) {
        super(message, cause);
    }
}
