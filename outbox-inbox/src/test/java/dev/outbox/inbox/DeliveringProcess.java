package dev.outbox.inbox;

import dev.outbox.jdbc.OutboxTable;
import dev.outbox.testing.TestDatabase;
import java.sql.PreparedStatement;
import java.util.UUID;

/**
 * A consumer process of its own: delivers each of the event ids given (as a redelivering queue would hand them to
 * several consumers at once) through the inbox on {@code table}, each applied as one row in {@code effects}; prints
 * how many it processed and how many were duplicates. Arguments: JDBC URL, inbox table, effects table, the ids.
 */
public final class DeliveringProcess {

    private DeliveringProcess() {
    }

    /** @param args JDBC URL, inbox table, effects table, event ids */
    public static void main(String[] args) throws Exception {
        try (var pool = TestDatabase.pool(args[0], 4)) {
            Inbox inbox = Inbox.create(OutboxTable.named(args[1]));
            int processed = 0;
            int duplicates = 0;
            for (int i = 3; i < args.length; i++) {
                InboxMessage message = InboxMessage.of(UUID.fromString(args[i]), "{}");
                Inbox.Result result = inbox.process(pool, message, (connection, m) -> {
                    try (PreparedStatement p = connection.prepareStatement("INSERT INTO " + args[2]
                            + " VALUES (?, ?)")) {
                        p.setString(1, m.eventId().toString());
                        p.setString(2, ProcessHandle.current().pid() + "");
                        p.executeUpdate();
                    }
                });
                if (result == Inbox.Result.PROCESSED) {
                    processed++;
                } else {
                    duplicates++;
                }
            }
            System.out.println("processed " + processed + " duplicates " + duplicates);
        }
    }
}
