package dev.outbox.benchmarks;

import dev.outbox.Event;
import dev.outbox.RelayResult;
import dev.outbox.RetryPolicy;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.time.Duration;
import java.util.Arrays;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * What benchmarks 8 and 10 share: the shapes are made by a relay with a failing publisher ({@link #drain}), and a
 * shape's cost is the median relay pass once the claims have parked what they cannot take ({@link #measure}).
 */
final class ClaimPasses {

    static final int MEASURED = 21;

    /** The median pass and the events it claimed, and the first pass, which parks. */
    record Pass(double millis, int claimed, double firstMillis) {
    }

    private final BiFunction<Publisher, RetryPolicy, JdbcRelay> relays;
    private final LongSupplier parked;

    /**
     * @param relays a relay on the benchmark's table for a publisher and a retry policy
     * @param parked how many events are parked now
     */
    ClaimPasses(BiFunction<Publisher, RetryPolicy, JdbcRelay> relays, LongSupplier parked) {
        this.relays = relays;
        this.parked = parked;
    }

    /** Passes of a relay whose publisher takes everything, until parking settles, then {@value #MEASURED} timed. */
    Pass measure() {
        Publisher takesAll = events -> events.stream().map(e -> PublishOutcome.published()).toList();
        try (JdbcRelay relay = relays.apply(takesAll, RetryPolicy.DEFAULT)) {
            long start = System.nanoTime();
            relay.runOnce();
            double first = (System.nanoTime() - start) / 1e6;
            long before = -1;
            for (int i = 0; i < 100; i++) { // until the claims park nothing more
                long now = parked.getAsLong();
                if (now == before) {
                    break;
                }
                before = now;
                for (int k = 0; k < 8; k++) { // one parking claim in eight
                    relay.runOnce();
                }
            }
            double[] millis = new double[MEASURED];
            int[] claimed = new int[MEASURED];
            for (int i = 0; i < MEASURED; i++) {
                long t = System.nanoTime();
                RelayResult result = relay.runOnce();
                millis[i] = (System.nanoTime() - t) / 1e6;
                claimed[i] = result.claimed();
            }
            Arrays.sort(millis);
            Arrays.sort(claimed);
            return new Pass(millis[MEASURED / 2], claimed[MEASURED / 2], first);
        }
    }

    /** Runs a relay with {@code outcome} until it claims nothing: every event then backs off or is dead. */
    void drain(Function<Event, PublishOutcome> outcome) {
        Publisher failing = events -> events.stream().map(outcome).toList();
        RetryPolicy hourLong = RetryPolicy.builder().initialDelay(Duration.ofHours(1)).maxDelay(Duration.ofHours(2))
                .build();
        try (JdbcRelay relay = relays.apply(failing, hourLong)) {
            while (relay.runOnce().claimed() > 0) {
                // keep draining
            }
        }
    }

    /** The row's "ours" column for a pass. */
    static String describe(Pass pass) {
        return Format.millis(pass.millis()) + ", " + pass.claimed() + " claimed (first pass "
                + Format.millis(pass.firstMillis()) + ")";
    }

    /** @return 100000 as 100k */
    static String count(long n) {
        return n >= 1000 && n % 1000 == 0 ? n / 1000 + "k" : Long.toString(n);
    }
}
