package dev.outbox.benchmarks;

import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxTable;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Benchmark 6: CPU an idle relay costs this process over {@code window}: the loop and listener threads' own
 * CPU time, and the whole process's CPU time beside the same window with no relay at all.
 */
final class IdleCpu {

    private final BenchDatabase db;
    private final Duration window;

    IdleCpu(BenchDatabase db, Duration window) {
        this.db = db;
        this.window = window;
    }

    List<Row> run() throws Exception {
        OutboxTable table = db.newOutboxTable();
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> new Thread(r, "bench-idle-relay"));
        long relayThreadsCpu;
        long processWith;
        try (JdbcRelay relay = JdbcRelay.builder(db.pool(), RelayThroughput.NO_OP).table(table).build()) {
            relay.start(executor);
            Thread.sleep(1000); // started and listening
            long[] ids = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().equals("bench-idle-relay") || t.getName().startsWith("outbox-listen-"))
                    .mapToLong(Thread::getId).toArray();
            long before = threadsCpu(threads, ids);
            processWith = processCpuOver(window);
            relayThreadsCpu = threadsCpu(threads, ids) - before;
        }
        executor.shutdown();
        db.drop(table);
        // Measured after, not before: the window before follows the previous benchmark's teardown and JIT work.
        Thread.sleep(1000);
        long processWithout = processCpuOver(window);
        double seconds = window.toMillis() / 1000.0;
        double share = relayThreadsCpu / 1e7 / seconds; // percent of one core
        return List.of(new Row("6. idle relay over " + (long) seconds + " s (listening, poll 1 s)",
                Format.millis(relayThreadsCpu / 1e6) + " CPU in the relay's threads",
                "whole process: " + Format.millis(processWith / 1e6) + " with the relay, "
                        + Format.millis(processWithout / 1e6) + " without",
                String.format(java.util.Locale.ROOT, "%.2f%% of a core", share), "near zero"));
    }

    private static long processCpuOver(Duration window) throws InterruptedException {
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long before = os.getProcessCpuTime();
        Thread.sleep(window.toMillis());
        return os.getProcessCpuTime() - before;
    }

    private static long threadsCpu(ThreadMXBean threads, long[] ids) {
        long total = 0;
        for (long id : ids) {
            long cpu = threads.getThreadCpuTime(id);
            if (cpu > 0) {
                total += cpu;
            }
        }
        return total;
    }
}
