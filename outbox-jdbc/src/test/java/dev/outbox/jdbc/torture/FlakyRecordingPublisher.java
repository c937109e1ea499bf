package dev.outbox.jdbc.torture;

import dev.outbox.Event;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;

/**
 * The torture run's broker: records each delivery durably in the {@link DeliveryLog}, wrapped in misbehaviour.
 * 30 % of calls are throttled before delivering; 5 % deliver and then time out (the caller sees the broker
 * unavailable, the broker has the events); while the outage file exists every call fails as unavailable; an event
 * whose payload says "poison" makes it throw a StackOverflowError every time; and with a small probability the
 * process SIGKILLs itself right after a delivery, before the relay can record the outcome. The other brokers
 * ({@link Broker}) are slower and fail differently.
 */
final class FlakyRecordingPublisher implements Publisher {

    /** How the broker misbehaves. */
    enum Broker {
        /** Throttles 30 % of calls, times out 5 % after delivering. */
        FLAKY,
        /** 20 to 100 ms a call, 10 % of single events failed, a call's events delivered in random order. */
        SLOW_UNORDERED,
        /**
         * 50 to 700 ms a call, against a 1 s lease of which the relay counts on a third; 5 % of calls throw (so that
         * culprit searches outlast the lease), 5 % of single events fail, a call's events in random order.
         */
        LEASE_PRESSURE
    }

    private final DataSource sink;
    private final DeliveryLog log;
    private final String incarnation;
    private final Path outageFile;
    private final double selfKillChance;
    private final Broker broker;
    private final AtomicLong calls = new AtomicLong();

    FlakyRecordingPublisher(DataSource sink, DeliveryLog log, String incarnation, Path outageFile, double selfKillChance,
                            Broker broker) {
        this.broker = broker;
        this.sink = sink;
        this.log = log;
        this.incarnation = incarnation;
        this.outageFile = outageFile;
        this.selfKillChance = selfKillChance;
    }

    @Override
    public List<PublishOutcome> publish(List<Event> events) {
        for (Event e : events) {
            if (e.payload().contains("poison")) {
                throw new StackOverflowError("the broker's client chokes on event " + e.id());
            }
        }
        return switch (broker) {
            case FLAKY -> publishFlakily(events);
            case SLOW_UNORDERED -> publishSlowly(events, 20, 100, 0, 0.10);
            case LEASE_PRESSURE -> publishSlowly(events, 50, 700, 0.05, 0.05);
        };
    }

    /**
     * A plain broker that takes {@code fromMillis} to {@code toMillis} a call, throws for a share of calls, delivers a
     * call's events in whatever order it likes, and fails a share of single events: it keeps no order of its own.
     */
    private List<PublishOutcome> publishSlowly(List<Event> events, int fromMillis, int toMillis, double throwing,
                                               double failing) {
        long call = calls.incrementAndGet();
        ThreadLocalRandom random = ThreadLocalRandom.current();
        sleep(random.nextInt(fromMillis, toMillis + 1));
        if (Files.exists(outageFile)) {
            return all(events, PublishOutcome.unavailable("broker outage"));
        }
        if (random.nextDouble() < throwing) {
            throw new IllegalStateException("connection reset while sending " + events.size() + " events");
        }
        List<Integer> order = new java.util.ArrayList<>();
        PublishOutcome[] outcomes = new PublishOutcome[events.size()];
        for (int i = 0; i < events.size(); i++) {
            if (random.nextDouble() < failing) {
                outcomes[i] = PublishOutcome.retry("broker refused the event");
            } else {
                order.add(i);
                outcomes[i] = PublishOutcome.published();
            }
        }
        Collections.shuffle(order, random);
        List<Event> delivered = order.stream().map(events::get).toList();
        if (!delivered.isEmpty()) {
            try {
                log.delivered(sink, delivered, HistoryCheck.loop(incarnation), call, true);
            } catch (SQLException e) {
                return all(events, PublishOutcome.retry("broker unreachable: " + e.getMessage()));
            }
            if (random.nextDouble() < selfKillChance) {
                killSelf();
            }
        }
        return List.of(outcomes);
    }

    private List<PublishOutcome> publishFlakily(List<Event> events) {
        long call = calls.incrementAndGet();
        ThreadLocalRandom random = ThreadLocalRandom.current();
        if (Files.exists(outageFile)) {
            return all(events, PublishOutcome.unavailable("broker outage"));
        }
        double roll = random.nextDouble();
        if (roll < 0.30) {
            return all(events, PublishOutcome.unavailable("broker throttled the call"));
        }
        boolean timesOut = roll < 0.35;
        try {
            log.delivered(sink, events, HistoryCheck.loop(incarnation), call, !timesOut);
        } catch (SQLException e) {
            return all(events, PublishOutcome.retry("broker unreachable: " + e.getMessage()));
        }
        if (random.nextDouble() < selfKillChance) {
            killSelf();
        }
        if (timesOut) {
            sleep(random.nextInt(50, 300));
            return all(events, PublishOutcome.unavailable("timed out waiting for the broker"));
        }
        return all(events, PublishOutcome.published());
    }

    private void killSelf() {
        try {
            log.killed(sink, incarnation, "self SIGKILL after delivery, before recording");
            new ProcessBuilder("kill", "-9", Long.toString(ProcessHandle.current().pid())).start();
            sleep(10_000);
        } catch (SQLException | IOException e) {
            throw new IllegalStateException("could not kill the relay process", e);
        }
    }

    private static List<PublishOutcome> all(List<Event> events, PublishOutcome outcome) {
        return Collections.nCopies(events.size(), outcome);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
    }
}
