package dev.outbox.benchmarks;

import com.gruelbox.transactionoutbox.Dialect;
import com.gruelbox.transactionoutbox.Instantiator;
import com.gruelbox.transactionoutbox.Persistor;
import com.gruelbox.transactionoutbox.TransactionManager;
import com.gruelbox.transactionoutbox.TransactionOutbox;
import com.zaxxer.hikari.HikariDataSource;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Benchmark 3: the peer, gruelbox transaction-outbox, on the same database: the same number of events, written
 * beforehand, drained by one instance calling {@code flush()} with a no-op handler, against one of our relays
 * draining the same backlog into a no-op publisher (measured by {@link RelayThroughput}).
 */
final class PeerComparison {

    /** The peer's unit of work: a method call it records, then replays. This one does nothing. */
    public static class NoOpHandler {
        static final AtomicLong CALLS = new AtomicLong();

        public void handle(String payload) {
            CALLS.incrementAndGet();
        }
    }

    private final BenchDatabase db;
    private final int events;

    PeerComparison(BenchDatabase db, int events) {
        this.db = db;
        this.events = events;
    }

    List<Row> run(double oursPerSecond) throws Exception {
        double peer = drain();
        return List.of(new Row("3. peer: gruelbox transaction-outbox 4.2.268 flush(), 1 instance, " + events + " events",
                Format.rate(oursPerSecond, "events/s") + " (ours, 1 relay)", Format.rate(peer, "events/s") + " peer",
                Format.ratio(oursPerSecond / peer) + " faster", ">= 5x"));
    }

    private double drain() throws Exception {
        NoOpHandler handler = new NoOpHandler();
        try (HikariDataSource pool = db.newPool(8)) {
            TransactionManager transactions = TransactionManager.fromDataSource(pool);
            // Written by an instance whose submitter leaves every entry in the table, so the drain starts from
            // a backlog, as ours does.
            TransactionOutbox writer = TransactionOutbox.builder()
                    .transactionManager(transactions)
                    .persistor(Persistor.forDialect(Dialect.POSTGRESQL_9))
                    .instantiator(Instantiator.using(type -> handler))
                    .submitter((entry, localExecutor) -> { })
                    .build();
            for (int done = 0; done < events; done += 1000) {
                int n = Math.min(1000, events - done);
                transactions.inTransaction(() -> {
                    for (int i = 0; i < n; i++) {
                        writer.schedule(NoOpHandler.class).handle(BenchDatabase.event(i % RelayThroughput.AGGREGATES).payload());
                    }
                });
            }
            BenchDatabase.execute(pool, "UPDATE txno_outbox SET nextattempttime = now() - interval '1 minute'");
            BenchDatabase.execute(pool, "ANALYZE txno_outbox");
            TransactionOutbox drainer = TransactionOutbox.builder()
                    .transactionManager(transactions)
                    .persistor(Persistor.forDialect(Dialect.POSTGRESQL_9))
                    .instantiator(Instantiator.using(type -> handler))
                    .submitter((entry, localExecutor) -> localExecutor.accept(entry))
                    .attemptFrequency(Duration.ofSeconds(30))
                    .build();
            NoOpHandler.CALLS.set(0);
            long start = System.nanoTime();
            while (NoOpHandler.CALLS.get() < events) {
                if (!drainer.flush()) {
                    Thread.onSpinWait();
                }
            }
            long nanos = System.nanoTime() - start;
            BenchDatabase.execute(pool, "DROP TABLE txno_outbox, txno_version");
            return events * 1e9 / nanos;
        }
    }
}
