package dev.outbox.examples;

import dev.outbox.RelayLoop;
import dev.outbox.jdbc.JdbcRelay;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The relay as a poller inside a long-running service: the host owns the thread (here a one-thread executor
 * it names itself), starts the loop at boot and stops it at shutdown.
 */
final class EmbeddedPoller implements AutoCloseable {

    private final ExecutorService executor = Executors.newSingleThreadExecutor(r -> new Thread(r, "orders-outbox-relay"));
    private final RelayLoop loop;

    EmbeddedPoller(JdbcRelay relay) {
        loop = relay.start(executor);
    }

    /** After a commit in this JVM: publish now instead of at the next poll. */
    void wakeUp() {
        loop.wakeUp();
    }

    @Override
    public void close() throws InterruptedException {
        loop.stop(Duration.ofSeconds(10));
        executor.shutdown();
        executor.awaitTermination(10, TimeUnit.SECONDS);
    }
}
