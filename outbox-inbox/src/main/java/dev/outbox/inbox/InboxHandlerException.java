package dev.outbox.inbox;

import dev.outbox.OutboxException;

/** A checked exception an {@link InboxHandler} threw, other than an {@link java.sql.SQLException}; its cause. */
public final class InboxHandlerException extends OutboxException {

    private static final long serialVersionUID = 1L;

    /**
     * @param message what failed
     * @param cause the handler's exception
     */
    public InboxHandlerException(String message, Throwable cause) {
        super(message, cause);
    }
}
