package dev.outbox.jdbc;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One named daemon thread holding one connection that LISTENs on an outbox table's channel and runs
 * {@code onNotification} for each batch of notifications, which {@link JdbcOutbox} sends at commit.
 *
 * <p>A lost connection is logged and replaced, with a growing pause (up to 30 s); after each (re)connect
 * {@code onNotification} runs once, since notifications sent while nobody listened are gone. Polling stays the
 * fallback for whatever this misses, for instance behind a pooler in transaction mode, which drops LISTEN.
 *
 * <p>Notifications are read with pgjdbc's {@code PGConnection.getNotifications(timeout)}, reached by
 * reflection so that this module needs no compile-time driver; with another driver the thread logs that
 * relays will poll, and ends.
 */
final class ChannelListener implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ChannelListener.class);
    /** Longest blocking read; also how long {@link #close()} may wait for the thread to notice. */
    private static final int READ_TIMEOUT_MILLIS = 500;
    private static final Duration MAX_RECONNECT_PAUSE = Duration.ofSeconds(30);

    private final DataSource dataSource;
    private final String channel;
    private final Runnable onNotification;
    private final Thread thread;
    private volatile boolean closed;
    private volatile boolean listening;
    /** When listening was lost, for the line that says it is back; 0 while listening. */
    private long lostAt;

    ChannelListener(DataSource dataSource, String channel, String threadName, Runnable onNotification) {
        this.dataSource = dataSource;
        this.channel = channel;
        this.onNotification = onNotification;
        this.thread = new Thread(this::run, threadName);
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** @return true while a LISTEN is in place on a live connection */
    boolean isListening() {
        return listening;
    }

    /** Stops the thread and closes its connection, waiting at most a few read timeouts. */
    @Override
    public void close() {
        closed = true;
        try {
            thread.join(4L * READ_TIMEOUT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            log.warn("listener thread {} did not stop within {} ms", thread.getName(), 4L * READ_TIMEOUT_MILLIS);
        }
    }

    private void run() {
        long pauseMillis = 250;
        while (!closed) {
            try (Connection connection = dataSource.getConnection()) {
                Method getNotifications = listen(connection);
                if (getNotifications == null) {
                    return;
                }
                Object driverConnection = connection.unwrap(getNotifications.getDeclaringClass());
                listening = true;
                if (lostAt != 0) {
                    log.info("{}: listening on channel {} again after {} ms; commits wake relays again",
                            thread.getName(), channel, (System.nanoTime() - lostAt) / 1_000_000);
                    lostAt = 0;
                }
                pauseMillis = 250;
                log.debug("{} listening on channel {}", thread.getName(), channel);
                onNotification.run();
                while (!closed) {
                    Object[] received = (Object[]) getNotifications.invoke(driverConnection, READ_TIMEOUT_MILLIS);
                    if (received != null && received.length > 0) {
                        onNotification.run();
                    }
                }
                unlisten(connection, getNotifications, driverConnection);
            } catch (SQLException | ReflectiveOperationException | RuntimeException e) {
                listening = false;
                if (closed) {
                    return;
                }
                if (lostAt == 0) {
                    lostAt = System.nanoTime();
                }
                Throwable cause = e instanceof InvocationTargetException ite ? ite.getCause() : e;
                log.warn("{}: listening on channel {} failed, relays poll until it reconnects in {} ms: {}",
                        thread.getName(), channel, pauseMillis, String.valueOf(cause));
                onNotification.run();
                sleep(pauseMillis);
                pauseMillis = Math.min(MAX_RECONNECT_PAUSE.toMillis(), pauseMillis * 2);
            } finally {
                listening = false;
            }
        }
    }

    /** Issues LISTEN; returns pgjdbc's getNotifications(int), or null when the driver is not pgjdbc. */
    private Method listen(Connection connection) throws SQLException {
        Class<?> pgConnection;
        try {
            pgConnection = Class.forName("org.postgresql.PGConnection", false, ChannelListener.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            pgConnection = null;
        }
        if (pgConnection == null || !connection.isWrapperFor(pgConnection)) {
            log.info("{}: the JDBC driver is not pgjdbc, so relays on channel {} wake only by polling"
                    + " or RelayLoop.wakeUp()", thread.getName(), channel);
            return null;
        }
        try (Statement statement = connection.createStatement()) {
            statement.execute("LISTEN \"" + channel + '"');
        }
        if (!connection.getAutoCommit()) {
            connection.commit(); // LISTEN takes effect at commit
        }
        try {
            return pgConnection.getMethod("getNotifications", int.class);
        } catch (NoSuchMethodException e) {
            log.info("{}: this pgjdbc has no getNotifications(int); relays on channel {} wake only by polling",
                    thread.getName(), channel);
            return null;
        }
    }

    /**
     * A pool reuses the connection: left listening, it would queue every later notification in the driver for
     * whoever borrows it next.
     */
    private void unlisten(Connection connection, Method getNotifications, Object driverConnection)
            throws SQLException, ReflectiveOperationException {
        try (Statement statement = connection.createStatement()) {
            statement.execute("UNLISTEN \"" + channel + '"');
        }
        if (!connection.getAutoCommit()) {
            connection.commit();
        }
        getNotifications.invoke(driverConnection, -1); // discard what arrived meanwhile, without waiting
    }

    private void sleep(long millis) {
        long deadline = System.currentTimeMillis() + millis;
        while (!closed && System.currentTimeMillis() < deadline) {
            try {
                Thread.sleep(Math.min(READ_TIMEOUT_MILLIS, Math.max(1, deadline - System.currentTimeMillis())));
            } catch (InterruptedException e) {
                return;
            }
        }
    }
}
