package dev.outbox;

/**
 * An {@link Event} broke a rule: a blank type, a payload that is not JSON, a header that is too long.
 *
 * <p>Thrown while the event is built, so nothing reaches the database and the caller's transaction stays
 * usable. {@link #field()} names the offending field (for example {@code payload} or {@code headers.trace-id}).
 */
public final class InvalidEventException extends OutboxException {

    /** The name of the field that broke the rule. */
    private final String field;

    /**
     * @param field the field that broke the rule
     * @param message the rule and the offending value or size
     */
    public InvalidEventException(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }

    /** @return the name of the field that broke the rule */
    public String field() {
        return field;
    }
}
