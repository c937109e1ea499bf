package dev.outbox.inbox;

import java.sql.Connection;

/**
 * What a consumer does with a message, in its own transaction: the connection is the one given to
 * {@link Inbox#receive}, inside the transaction that also records the message as processed, so the handler's writes
 * and that record commit or roll back together. The handler does not commit, roll back or close it.
 */
@FunctionalInterface
public interface InboxHandler {

    /**
     * @param connection the consumer's connection, in its transaction
     * @param message the message, seen for the first time
     * @throws Exception to fail the message: the caller rolls back, and the record of it with its effects; one other
     *         than {@link java.sql.SQLException} or a runtime exception reaches the caller wrapped in
     *         {@link InboxHandlerException}, and an {@link InterruptedException} sets the thread's interrupt flag
     *         again, so the loop that called sees it
     */
    void handle(Connection connection, InboxMessage message) throws Exception;
}
