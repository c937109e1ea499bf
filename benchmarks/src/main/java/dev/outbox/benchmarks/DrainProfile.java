package dev.outbox.benchmarks;

import dev.outbox.RelayListener;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Where a drain's time goes: the relay's claims, records and publisher calls (how many, how long each, as the relay's
 * listener hears them), the publisher calls in flight on average, and the CPU the database's processes and this JVM
 * spent per event. The database's CPU is read from {@code /proc} for the processes named {@code postgres} (the
 * server's own and what it reaped), so it is there only when the benchmark's PostgreSQL runs on this machine.
 */
final class DrainProfile implements RelayListener {

    private final AtomicLong claims = new AtomicLong();
    private final AtomicLong claimNanos = new AtomicLong();
    private final AtomicLong claimed = new AtomicLong();
    private final AtomicLong records = new AtomicLong();
    private final AtomicLong recordNanos = new AtomicLong();
    private final AtomicLong calls = new AtomicLong();
    private final AtomicLong callNanos = new AtomicLong();
    private long startNanos;
    private long dbTicksAtStart;
    private long jvmNanosAtStart;
    private String summary = "not measured";

    void start() {
        startNanos = System.nanoTime();
        dbTicksAtStart = postgresTicks();
        jvmNanosAtStart = jvmCpuNanos();
    }

    /** Ends the measurement; {@link #toString()} then tells it. */
    void stop(long events) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        long dbTicks = postgresTicks();
        String db = dbTicks < 0 || dbTicksAtStart < 0 ? "n/a"
                : String.format("%.0f µs", (dbTicks - dbTicksAtStart) * 10_000.0 / events); // 100 ticks a second
        String jvm = String.format("%.0f µs", (jvmCpuNanos() - jvmNanosAtStart) / 1e3 / events);
        summary = String.format("database CPU %s/event, relay JVM CPU %s/event; %d claims of %.0f events, %.1f ms each;"
                        + " %d records, %.1f ms each; %d publisher calls of %.1f events, %.1f ms each, %.1f in flight",
                db, jvm, claims.get(), claimed.get() / (double) Math.max(1, claims.get()), millis(claimNanos, claims),
                records.get(), millis(recordNanos, records), calls.get(), events / (double) Math.max(1, calls.get()),
                millis(callNanos, calls), callNanos.get() / 1e9 / seconds);
    }

    private static double millis(AtomicLong nanos, AtomicLong count) {
        return nanos.get() / 1e6 / Math.max(1, count.get());
    }

    @Override
    public void claimed(int events, Duration elapsed) {
        claims.incrementAndGet();
        claimed.addAndGet(events);
        claimNanos.addAndGet(elapsed.toNanos());
    }

    @Override
    public void recorded(int outcomes, Duration elapsed) {
        records.incrementAndGet();
        recordNanos.addAndGet(elapsed.toNanos());
    }

    @Override
    public void publisherCalled(int events, Duration elapsed) {
        calls.incrementAndGet();
        callNanos.addAndGet(elapsed.toNanos());
    }

    @Override
    public String toString() {
        return summary;
    }

    private static long jvmCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** @return user and system clock ticks of every postgres process, its reaped children's included; -1 if unknown */
    static long postgresTicks() {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            return procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
                    .mapToLong(DrainProfile::ticksIfPostgres).sum();
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static long ticksIfPostgres(Path proc) {
        try {
            String stat = Files.readString(proc.resolve("stat"));
            int open = stat.indexOf('(');
            int close = stat.lastIndexOf(')');
            if (!stat.substring(open + 1, close).startsWith("postgres")) {
                return 0;
            }
            String[] f = stat.substring(close + 2).split(" ");
            // After the name: state is field 3, so utime (14), stime (15), cutime (16), cstime (17) are 11 to 14 here.
            return Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]);
        } catch (IOException | RuntimeException e) {
            return 0; // it ended meanwhile
        }
    }
}
