package dev.outbox.jdbc.torture;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outbox.Event;
import dev.outbox.RelayListener;
import dev.outbox.RetryPolicy;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxTable;
import dev.outbox.jdbc.SlowStatements;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.sql.DataSource;

/**
 * One relay process of the torture run: a relay with two loops on the database under test, publishing through
 * {@link FlakyRecordingPublisher}. It runs until it is killed.
 *
 * <p>Arguments: outbox JDBC URL, outbox table, sink JDBC URL, log prefix, incarnation, outage file,
 * self-kill chance, broker ({@link FlakyRecordingPublisher.Broker}), lease in milliseconds. Under lease pressure one
 * claim in ten answers 0.3 to 0.9 s after the database wrote its lease.
 */
public final class RelayProcess {

    private RelayProcess() {
    }

    public static void main(String[] args) throws Exception {
        String outboxUrl = args[0];
        OutboxTable table = OutboxTable.named(args[1]);
        String sinkUrl = args[2];
        DeliveryLog log = new DeliveryLog(args[3]);
        String incarnation = args[4];
        Path outageFile = Path.of(args[5]);
        double selfKillChance = Double.parseDouble(args[6]);
        FlakyRecordingPublisher.Broker broker = FlakyRecordingPublisher.Broker.valueOf(args[7]);
        long leaseMillis = Long.parseLong(args[8]);

        HikariDataSource outbox = pool(outboxUrl, 4, "relay-" + incarnation);
        HikariDataSource sink = pool(sinkUrl, 2, "sink-" + incarnation);
        DataSource claims = broker == FlakyRecordingPublisher.Broker.LEASE_PRESSURE
                ? SlowStatements.delayingSome(outbox, "SET claimed_by = ?", 0.1, 300, 900) : outbox;
        JdbcRelay relay = JdbcRelay.builder(claims,
                        new FlakyRecordingPublisher(sink, log, incarnation, outageFile, selfKillChance, broker))
                .table(table)
                .listener(new RelayListener() {
                    @Override
                    public void published(List<Event> events) {
                        try {
                            log.recordedPublished(sink, events, HistoryCheck.loop(incarnation));
                        } catch (SQLException e) {
                            throw new IllegalStateException("delivery log unreachable", e);
                        }
                    }
                })
                .ownerId(incarnation)
                .batchSize(50)
                .leaseDuration(Duration.ofMillis(leaseMillis))
                .statementTimeout(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(200))
                // Six attempts, about 1.5 s of backoff in all: outages and throttling must spend none of them. Under
                // lease pressure every call that outlives its lease, every kill and 5 % of failing events spend one
                // by design (a claim without an outcome counts), so an ordinary event may use more than six. So may
                // the slow broker's hot aggregate: its events are in flight in nearly every batch, so each kill of
                // the relay holding them spends one, on top of the 10 % of attempts that broker fails.
                .retryPolicy(RetryPolicy.builder().initialDelay(Duration.ofMillis(50)).maxDelay(Duration.ofSeconds(1))
                        .maxAttempts(broker == FlakyRecordingPublisher.Broker.FLAKY ? 6 : 12).build())
                .brokerPause(Duration.ofMillis(100), Duration.ofSeconds(1))
                .build();
        ExecutorService loops = Executors.newFixedThreadPool(2);
        relay.start(loops);
        relay.start(loops);
        System.out.println("relay " + incarnation + " started");
        Thread.sleep(Long.MAX_VALUE);
    }

    private static HikariDataSource pool(String url, int size, String name) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setMaximumPoolSize(size);
        config.setMinimumIdle(0);
        config.setConnectionTimeout(2_000);
        // Fail fast while the database is down; the pool keeps trying on each borrow.
        config.setInitializationFailTimeout(-1);
        config.setPoolName(name);
        return new HikariDataSource(config);
    }
}
