package dev.outbox.relay;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outbox.RelayListener;
import dev.outbox.jdbc.JdbcRelay;
import dev.outbox.jdbc.OutboxOperations;
import dev.outbox.spi.Publisher;
import dev.outbox.spi.Publishers;
import dev.outbox.spi.RoutingPublisher;
import java.time.Duration;

/**
 * What a relay that runs on its own is made of, built from a {@link RelayConfig}: a connection pool, the publisher,
 * the relay and the table's operations. Closed in the right order: the relay, then the publisher, then the pool.
 */
public final class RelayResources implements AutoCloseable {

    private final RelayConfig config;
    private final HikariDataSource dataSource;
    private final Publisher publisher;
    private final JdbcRelay relay;
    private final OutboxOperations operations;

    private RelayResources(RelayConfig config, HikariDataSource dataSource, Publisher publisher, JdbcRelay relay) {
        this.config = config;
        this.dataSource = dataSource;
        this.publisher = publisher;
        this.relay = relay;
        this.operations = new OutboxOperations(dataSource, config.table());
    }

    /**
     * Builds the pool and, when {@code withRelay}, the publisher and the relay. The pool connects lazily: a database
     * that is down now fails the first statement, not this.
     *
     * @param config the settings
     * @param withRelay whether to build the publisher and the relay too (the command line needs neither)
     * @param listener hears the relay
     * @return the resources, which the caller closes
     * @throws dev.outbox.InvalidConfigurationException naming what is wrong: a setting, the publisher's settings
     */
    public static RelayResources open(RelayConfig config, boolean withRelay, RelayListener listener) {
        HikariDataSource dataSource = dataSource(config);
        Publisher publisher = null;
        try {
            if (!withRelay) {
                return new RelayResources(config, dataSource, null, null);
            }
            publisher = publisher(config);
            JdbcRelay relay = JdbcRelay.builder(dataSource, publisher).table(config.table())
                    .batchSize(config.batchSize()).leaseDuration(config.lease()).pollInterval(config.pollInterval())
                    .listener(listener).build();
            return new RelayResources(config, dataSource, publisher, relay);
        } catch (RuntimeException e) {
            if (publisher != null) {
                publisher.close();
            }
            dataSource.close();
            throw e;
        }
    }

    private static HikariDataSource dataSource(RelayConfig config) {
        HikariConfig hikari = new HikariConfig();
        hikari.setJdbcUrl(config.jdbcUrl());
        if (config.secretArn() != null) {
            DatabaseSecret secret = DatabaseSecret.read(config.secretArn());
            hikari.setUsername(secret.user());
            hikari.setPassword(secret.password());
        } else {
            hikari.setUsername(config.user());
            hikari.setPassword(config.password());
        }
        hikari.setMaximumPoolSize(config.poolSize());
        hikari.setMinimumIdle(0);
        // A database that does not answer fails a statement, and /health, within 3 s: the loops retry anyway.
        hikari.setConnectionTimeout(Duration.ofSeconds(3).toMillis());
        hikari.setInitializationFailTimeout(-1); // a database that is down at start is retried, not fatal
        hikari.setPoolName("outbox-relay");
        return new HikariDataSource(hikari);
    }

    private static Publisher publisher(RelayConfig config) {
        if ("router".equals(config.publisher())) {
            return RoutingPublisher.fromSettings(config.publisherSettings());
        }
        return Publishers.create(config.publisher(), config.publisherSettings());
    }

    /** @return the settings these were built from */
    public RelayConfig config() {
        return config;
    }

    /** @return the pool */
    public HikariDataSource dataSource() {
        return dataSource;
    }

    /** @return the relay; null when opened without it */
    public JdbcRelay relay() {
        return relay;
    }

    /** @return the table's operations */
    public OutboxOperations operations() {
        return operations;
    }

    /** @return how long a stop waits for the batches in flight: the lease, within which each ends, and 5 s */
    public Duration stopTimeout() {
        return config.lease().plusSeconds(5);
    }

    /**
     * Closes the relay (waiting up to {@link #stopTimeout()} for the batches in flight), then the publisher, then the
     * pool. A relay closed before is not waited for again.
     *
     * @return true when every batch in flight ended within the wait
     */
    public boolean closeAll() {
        boolean stopped = true;
        if (relay != null) {
            stopped = relay.close(stopTimeout());
        }
        if (publisher != null) {
            publisher.close();
        }
        dataSource.close();
        return stopped;
    }

    /** Closes everything; see {@link #closeAll()}. */
    @Override
    public void close() {
        closeAll();
    }
}
