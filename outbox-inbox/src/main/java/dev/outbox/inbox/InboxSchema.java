package dev.outbox.inbox;

import dev.outbox.OutboxException;
import dev.outbox.jdbc.Database;
import dev.outbox.jdbc.OutboxTable;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;

/**
 * The inbox table: the id of every event processed, and when, kept for the retention the consumer purges with
 * ({@link Inbox#purge}). One row per event, a primary key on its id, an index on the time for the purge (on
 * PostgreSQL a BRIN index: records arrive in time order, so it is a few pages that appends hardly touch).
 */
public final class InboxSchema {

    /** The inbox table when none is named. */
    public static final OutboxTable DEFAULT_TABLE = OutboxTable.named("inbox_event");

    private InboxSchema() {
    }

    /**
     * @param table the inbox table
     * @return the PostgreSQL DDL, ready to run
     */
    public static String postgres(OutboxTable table) {
        return """
                CREATE TABLE IF NOT EXISTS %1$s (
                    event_id     uuid        PRIMARY KEY,
                    processed_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX IF NOT EXISTS %2$s_processed_at ON %1$s USING brin (processed_at);
                """.formatted(table.qualifiedName(), table.name());
    }

    /**
     * @param table the inbox table
     * @return the MySQL 8 and MariaDB 10.6+ DDL, ready to run (one statement)
     */
    public static String mysql(OutboxTable table) {
        return """
                CREATE TABLE IF NOT EXISTS %1$s (
                    event_id     CHAR(36) CHARACTER SET ascii NOT NULL PRIMARY KEY,
                    processed_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
                    INDEX %2$s_processed_at (processed_at)
                ) ENGINE = InnoDB
                """.formatted(table.qualifiedName(Database.MYSQL), table.name());
    }

    /**
     * @param database the database
     * @param table the inbox table
     * @return its DDL for {@code database}
     */
    public static String ddl(Database database, OutboxTable table) {
        return database == Database.POSTGRESQL ? postgres(table) : mysql(table);
    }

    /**
     * Creates the table and its index unless they exist, with the DDL of the database behind {@code dataSource}.
     *
     * @param dataSource where to create it
     * @param table the inbox table
     * @throws OutboxException wrapping the database's error
     */
    public static void create(DataSource dataSource, OutboxTable table) {
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
            statement.execute(ddl(Database.of(connection), table));
        } catch (SQLException e) {
            throw new OutboxException("could not create inbox table " + table + ": " + e.getMessage(), e);
        }
    }
}
