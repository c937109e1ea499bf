package dev.outbox.jdbc;

import dev.outbox.InvalidConfigurationException;
import dev.outbox.OutboxException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import javax.sql.DataSource;

/**
 * The DDL the outbox assumes, shipped as the resources {@code dev/outbox/jdbc/postgresql.sql} and
 * {@code dev/outbox/jdbc/mysql.sql} (MySQL and MariaDB).
 *
 * <p>Run it with {@link #create(DataSource, OutboxTable)}, print it with
 * {@code java -cp outbox-api.jar:outbox-jdbc.jar dev.outbox.jdbc.OutboxSchema [--mysql] [schema.]table}, or copy the
 * resource into a Flyway or Liquibase migration: its {@code ${outbox_table}} and {@code ${outbox_name}} placeholders
 * are theirs too. Every statement is {@code IF NOT EXISTS}, so running it twice is harmless.
 */
public final class OutboxSchema {

    /** Classpath location of the PostgreSQL DDL template. */
    public static final String POSTGRES_RESOURCE = "dev/outbox/jdbc/postgresql.sql";

    /**
     * Classpath location of the DDL template for a rotated PostgreSQL table: the plain table's columns and indexes in
     * four partitions that take appends in turn, which purge empties with {@code TRUNCATE}; see
     * {@link #postgresRotated(OutboxTable)}.
     */
    public static final String POSTGRES_ROTATED_RESOURCE = "dev/outbox/jdbc/postgresql-rotated.sql";

    /** Classpath location of the MySQL and MariaDB DDL template: one {@code CREATE TABLE IF NOT EXISTS}. */
    public static final String MYSQL_RESOURCE = "dev/outbox/jdbc/mysql.sql";

    /**
     * Classpath location of the migration that turns a {@code jsonb} payload column of an older table into
     * {@code json}, so that payloads are published byte for byte; same placeholders as {@link #POSTGRES_RESOURCE}.
     */
    public static final String POSTGRES_PAYLOAD_JSON_MIGRATION = "dev/outbox/jdbc/postgresql-payload-json.sql";

    /**
     * Classpath location of the migration for tables created before claims parked the events they cannot take yet
     * and appends notified only waiting relays: a column, five indexes built concurrently, the wake sequence, and
     * the old pending index dropped; same placeholders as {@link #POSTGRES_RESOURCE}. Run each statement on its own,
     * outside a transaction block.
     */
    public static final String POSTGRES_PARKING_MIGRATION = "dev/outbox/jdbc/postgresql-parking.sql";

    /**
     * Classpath location of the migration for tables created before claims walked from a floor: the set-aside index
     * built concurrently, the re-entry sequence and the re-entry log, then the index an earlier form of it built
     * dropped; same placeholders as {@link #POSTGRES_RESOURCE}. Run each statement on its own, outside a transaction
     * block, after {@link #POSTGRES_PARKING_MIGRATION}.
     */
    public static final String POSTGRES_HORIZON_MIGRATION = "dev/outbox/jdbc/postgresql-horizon.sql";

    /** The resource adding the pending-since index to MySQL and MariaDB tables created by an earlier version. */
    public static final String MYSQL_PENDING_SINCE_MIGRATION = "dev/outbox/jdbc/mysql-pending-since.sql";

    /**
     * The resource bringing MySQL and MariaDB tables created before claims parked what they cannot take up to date:
     * the parked_until column, the ready and parked indexes built online, and the old pending index dropped. Each
     * statement once, in order.
     */
    public static final String MYSQL_PARKING_MIGRATION = "dev/outbox/jdbc/mysql-parking.sql";

    private OutboxSchema() {
    }

    /**
     * @param table the outbox table
     * @return the PostgreSQL DDL for {@code table}, ready to run
     */
    public static String postgres(OutboxTable table) {
        return render(POSTGRES_RESOURCE, table);
    }

    /**
     * The DDL of a rotated table, for PostgreSQL: the plain table's columns (plus {@code slot}) and indexes in four
     * partitions, {@code <table>_p0} to {@code <table>_p3}, of which one takes appends at a time. Each
     * {@link OutboxOperations#purgePublished(Duration, int)} empties with {@code TRUNCATE} every other partition
     * whose events have all been published for longer than the retention, and sends appends to an empty partition,
     * so the table's size stays bounded by the retention even while a long transaction keeps vacuum from reclaiming
     * anything. The relay, the outbox and the operations work on it unchanged. What differs from the plain table: an
     * event id is refused again only within the partition it is in; the sequence and function
     * {@link OutboxTable#slotSequenceQualifiedName()} say where appends go.
     *
     * @param table the outbox table
     * @return the DDL for {@code table}, ready to run
     */
    public static String postgresRotated(OutboxTable table) {
        return render(POSTGRES_ROTATED_RESOURCE, table);
    }

    /**
     * @param table the outbox table
     * @return the MySQL and MariaDB DDL for {@code table}, ready to run
     */
    public static String mysql(OutboxTable table) {
        return template(MYSQL_RESOURCE)
                .replace("${outbox_table}", table.qualifiedName(Database.MYSQL))
                .replace("${outbox_name}", table.name());
    }

    /**
     * @param database the database
     * @param table the outbox table
     * @return the DDL for {@code table} on {@code database}, ready to run
     */
    public static String ddl(Database database, OutboxTable table) {
        return database.mysqlFamily() ? mysql(table) : postgres(table);
    }

    /**
     * @param table an outbox table created with a {@code jsonb} payload column
     * @return the statement that makes its payload column {@code json}, ready to run
     */
    public static String postgresPayloadJsonMigration(OutboxTable table) {
        return render(POSTGRES_PAYLOAD_JSON_MIGRATION, table);
    }

    /**
     * @param table an outbox table created by an earlier version
     * @return the statements that bring it up to date (see {@link #POSTGRES_PARKING_MIGRATION}), in order, each
     *         to be run on its own outside a transaction block
     */
    public static List<String> postgresParkingMigration(OutboxTable table) {
        return statements(render(POSTGRES_PARKING_MIGRATION, table));
    }

    /**
     * @param table the outbox table
     * @return the statements of {@value #POSTGRES_HORIZON_MIGRATION} for {@code table}, each to run on its own
     */
    public static List<String> postgresHorizonMigration(OutboxTable table) {
        return statements(render(POSTGRES_HORIZON_MIGRATION, table));
    }

    /** @return the statements of a script, without its comment lines, split at semicolons */
    private static List<String> statements(String rendered) {
        String script = rendered.lines()
                .filter(line -> !line.startsWith("--"))
                .collect(Collectors.joining("\n"));
        List<String> statements = new ArrayList<>();
        for (String part : script.split(";")) {
            String statement = part.strip();
            if (!statement.isEmpty()) {
                statements.add(statement);
            }
        }
        return statements;
    }

    /**
     * @param table the outbox table
     * @return the statement adding the pending-since index to a MySQL or MariaDB table created by an earlier version,
     *         from the resource {@value #MYSQL_PENDING_SINCE_MIGRATION}
     */
    public static String mysqlPendingSinceMigration(OutboxTable table) {
        return statements(template(MYSQL_PENDING_SINCE_MIGRATION)
                .replace("${outbox_table}", table.qualifiedName(Database.MYSQL))
                .replace("${outbox_name}", table.name())).get(0);
    }

    /**
     * @param table an outbox table created by an earlier version
     * @return the statements of {@value #MYSQL_PARKING_MIGRATION} for {@code table}, in order, each to be run once
     */
    public static List<String> mysqlParkingMigration(OutboxTable table) {
        return statements(template(MYSQL_PARKING_MIGRATION)
                .replace("${outbox_table}", table.qualifiedName(Database.MYSQL))
                .replace("${outbox_name}", table.name()));
    }

    /**
     * Brings a table created by an earlier version up to date, statement by statement, each in its own transaction:
     * safe to run on a live table, and again. A {@linkplain #postgresRotated(OutboxTable) rotated table} is left as it
     * is: this version made it. On PostgreSQL it runs {@value #POSTGRES_PARKING_MIGRATION} and {@value #POSTGRES_HORIZON_MIGRATION}; on MySQL and
     * MariaDB the statements of {@value #MYSQL_PENDING_SINCE_MIGRATION} and {@value #MYSQL_PARKING_MIGRATION} that
     * the table still needs (it looks at its columns and indexes first).
     *
     * @param dataSource where the table lives
     * @param table the outbox table
     * @throws OutboxException wrapping the database's error
     */
    public static void migrate(DataSource dataSource, OutboxTable table) {
        try (Connection connection = dataSource.getConnection()) {
            if (Database.of(connection).mysqlFamily()) {
                migrateMySql(connection, table);
                return;
            }
            if (rotated(connection, table)) {
                return; // made by this version's DDL: nothing to bring up to date
            }
            boolean autoCommit = connection.getAutoCommit();
            connection.setAutoCommit(true);
            try (Statement statement = connection.createStatement()) {
                for (String sql : postgresParkingMigration(table)) {
                    statement.execute(sql);
                }
                for (String sql : postgresHorizonMigration(table)) {
                    statement.execute(sql);
                }
            } finally {
                connection.setAutoCommit(autoCommit);
            }
        } catch (SQLException e) {
            throw new OutboxException("could not migrate outbox table " + table + ": " + e.getMessage(), e);
        }
    }

    /** @return whether {@code table} is a partitioned (so rotated) PostgreSQL table */
    private static boolean rotated(Connection connection, OutboxTable table) throws SQLException {
        try (java.sql.PreparedStatement s = connection.prepareStatement(
                "SELECT count(*) FROM pg_class WHERE oid = to_regclass(?) AND relkind = 'p'")) {
            s.setString(1, table.qualifiedName());
            try (java.sql.ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1) > 0;
            }
        }
    }

    private static void migrateMySql(Connection connection, OutboxTable table) throws SQLException {
        String schema = table.schema() != null ? table.schema() : connection.getCatalog();
        List<String> parking = mysqlParkingMigration(table);
        try (Statement statement = connection.createStatement()) {
            if (!has(connection, schema, table, "STATISTICS", "INDEX_NAME", table.name() + "_pending_since")) {
                statement.execute(mysqlPendingSinceMigration(table));
            }
            if (!has(connection, schema, table, "COLUMNS", "COLUMN_NAME", "parked_until")) {
                statement.execute(parking.get(0));
            }
            if (!has(connection, schema, table, "STATISTICS", "INDEX_NAME", table.name() + "_ready")) {
                statement.execute(parking.get(1));
            }
            if (has(connection, schema, table, "STATISTICS", "INDEX_NAME", table.name() + "_pending")) {
                statement.execute(parking.get(2));
            }
        }
    }

    /** @return whether {@code table} has a column or index of that name, from {@code information_schema} */
    private static boolean has(Connection connection, String schema, OutboxTable table, String view, String column,
                               String name) throws SQLException {
        try (java.sql.PreparedStatement has = connection.prepareStatement("SELECT count(*) FROM information_schema."
                + view + " WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND " + column + " = ?")) {
            has.setString(1, schema);
            has.setString(2, table.name());
            has.setString(3, name);
            try (java.sql.ResultSet rs = has.executeQuery()) {
                rs.next();
                return rs.getLong(1) > 0;
            }
        }
    }

    private static String render(String resource, OutboxTable table) {
        return template(resource)
                .replace("${outbox_table}", table.qualifiedName())
                .replace("${outbox_name}", table.name())
                .replace("${outbox_schema}", table.schemaPrefix())
                .replace("${outbox_wake}", table.wakeSequenceQualifiedName())
                .replace("${outbox_reentry}", table.reentrySequenceQualifiedName())
                .replace("${outbox_reentries}", table.reentriesQualifiedName())
                .replace("${outbox_slot}", table.slotSequenceQualifiedName());
    }

    /**
     * Creates the table and its indexes if they do not exist, with the DDL of the database behind
     * {@code dataSource}: in one transaction on PostgreSQL; on MySQL and MariaDB one statement, which commits by
     * itself.
     *
     * @param dataSource where to create it
     * @param table the outbox table
     * @throws OutboxException wrapping the database's error
     */
    public static void create(DataSource dataSource, OutboxTable table) {
        create(dataSource, table, false);
    }

    /**
     * Creates a {@linkplain #postgresRotated(OutboxTable) rotated table} and its partitions if they do not exist, in
     * one transaction. PostgreSQL only.
     *
     * @param dataSource where to create it
     * @param table the outbox table
     * @throws InvalidConfigurationException when the data source is not PostgreSQL
     * @throws OutboxException wrapping the database's error
     */
    public static void createRotated(DataSource dataSource, OutboxTable table) {
        create(dataSource, table, true);
    }

    private static void create(DataSource dataSource, OutboxTable table, boolean rotated) {
        try (Connection connection = dataSource.getConnection()) {
            Database database = Database.of(connection);
            if (rotated && database.mysqlFamily()) {
                throw new InvalidConfigurationException("a rotated outbox table is for PostgreSQL only; "
                        + database + " keeps old row versions in its undo log, not in the table");
            }
            boolean autoCommit = connection.getAutoCommit();
            connection.setAutoCommit(false);
            try (Statement statement = connection.createStatement()) {
                statement.execute(rotated ? postgresRotated(table) : ddl(database, table));
                connection.commit();
            } catch (SQLException e) {
                connection.rollback();
                throw e;
            } finally {
                connection.setAutoCommit(autoCommit);
            }
        } catch (SQLException e) {
            throw new OutboxException("could not create outbox table " + table + ": " + e.getMessage(), e);
        }
    }

    /**
     * Prints the DDL.
     *
     * @param args optionally {@code --mysql} for MySQL and MariaDB or {@code --rotated} for a
     *        {@linkplain #postgresRotated(OutboxTable) rotated} PostgreSQL table, then optionally
     *        {@code [schema.]table}; the plain PostgreSQL table {@code outbox_event} by default
     */
    public static void main(String[] args) {
        OutboxTable table = OutboxTable.DEFAULT;
        Database database = Database.POSTGRESQL;
        boolean rotated = false;
        for (String arg : args) {
            if (arg.equals("--mysql")) {
                database = Database.MYSQL;
            } else if (arg.equals("--rotated")) {
                rotated = true;
            } else {
                String[] parts = arg.split("\\.", 2);
                table = parts.length == 2 ? new OutboxTable(parts[0], parts[1]) : OutboxTable.named(parts[0]);
            }
        }
        System.out.println(rotated ? postgresRotated(table) : ddl(database, table));
    }

    private static String template(String resource) {
        try (InputStream in = OutboxSchema.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new OutboxException("resource " + resource + " is missing from the classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
