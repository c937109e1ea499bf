package dev.outbox.inbox;

import dev.outbox.jdbc.OutboxTable;
import dev.outbox.testing.TestDatabase;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * A consumer process of its own: delivers each of the event ids given (as a redelivering queue would hand them to
 * several consumers at once) through the inbox on {@code table}, each applied as one row in {@code effects}; prints
 * how many it processed and how many were duplicates. Arguments: JDBC URL, inbox table, effects table, {@code one}
 * (each through {@link Inbox#process}) or {@code batch} (batches of 10 through {@link Inbox#processAll}), the ids.
 */
public final class DeliveringProcess {

    private DeliveringProcess() {
    }

    /** @param args JDBC URL, inbox table, effects table, {@code one} or {@code batch}, event ids */
    public static void main(String[] args) throws Exception {
        try (var pool = TestDatabase.pool(args[0], 4)) {
            Inbox inbox = Inbox.create(OutboxTable.named(args[1]));
            InboxHandler apply = (connection, m) -> {
                try (PreparedStatement p = connection.prepareStatement("INSERT INTO " + args[2] + " VALUES (?, ?)")) {
                    p.setString(1, m.eventId().toString());
                    p.setString(2, ProcessHandle.current().pid() + "");
                    p.executeUpdate();
                }
            };
            boolean batches = args[3].equals("batch");
            List<InboxMessage> messages = new ArrayList<>();
            for (int i = 4; i < args.length; i++) {
                messages.add(InboxMessage.of(UUID.fromString(args[i]), "{}"));
            }
            List<Inbox.Result> results = new ArrayList<>();
            for (int from = 0; from < messages.size(); from += batches ? 10 : 1) {
                if (batches) {
                    for (Inbox.Outcome o : inbox.processAll(pool, messages.subList(from,
                            Math.min(messages.size(), from + 10)), apply)) {
                        if (o.failed()) {
                            throw new IllegalStateException("event " + o.message().eventId() + " failed", o.failure());
                        }
                        results.add(o.result());
                    }
                } else {
                    results.add(inbox.process(pool, messages.get(from), apply));
                }
            }
            long processed = results.stream().filter(r -> r == Inbox.Result.PROCESSED).count();
            System.out.println("processed " + processed + " duplicates " + (results.size() - processed));
        }
    }
}
