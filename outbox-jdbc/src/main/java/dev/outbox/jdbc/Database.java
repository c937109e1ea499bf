package dev.outbox.jdbc;

import dev.outbox.InvalidConfigurationException;
import dev.outbox.OutboxException;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.SQLException;
import java.util.Locale;
import javax.sql.DataSource;

/**
 * The databases the outbox runs on. Each has its DDL and statements side by side: {@code postgresql.sql} with
 * {@code PostgresStatements}, {@code mysql.sql} with {@code MySqlStatements} (MySQL and MariaDB share them). The
 * outbox, the relay, the operations and the schema find the database from the connection's metadata unless it is set
 * explicitly.
 */
public enum Database {

    /** PostgreSQL 12 or later: claims in one statement, wake-ups on commit by LISTEN/NOTIFY, parking. */
    POSTGRESQL("PostgreSQL"),
    /** MySQL 8.0.16 or later (InnoDB): claims in one short transaction with SKIP LOCKED, polling. */
    MYSQL("MySQL"),
    /** MariaDB 10.6 or later (InnoDB): as MySQL. */
    MARIADB("MariaDB");

    private final String displayName;

    Database(String displayName) {
        this.displayName = displayName;
    }

    /** @return true for MySQL and MariaDB, which share one set of statements */
    boolean mysqlFamily() {
        return this != POSTGRESQL;
    }

    /**
     * @param connection an open connection
     * @return the database it is connected to
     * @throws InvalidConfigurationException when it is none of these
     * @throws SQLException when the metadata cannot be read
     */
    public static Database of(Connection connection) throws SQLException {
        DatabaseMetaData meta = connection.getMetaData();
        String product = String.valueOf(meta.getDatabaseProductName()).toLowerCase(Locale.ROOT);
        if (product.contains("postgresql")) {
            return POSTGRESQL;
        }
        if (product.contains("mariadb")) {
            return MARIADB;
        }
        if (product.contains("mysql")) {
            // MySQL's driver calls a MariaDB server MySQL; its version says otherwise.
            String version = String.valueOf(meta.getDatabaseProductVersion()).toLowerCase(Locale.ROOT);
            return version.contains("mariadb") ? MARIADB : MYSQL;
        }
        throw new InvalidConfigurationException("the outbox runs on PostgreSQL, MySQL or MariaDB; this connection is to "
                + meta.getDatabaseProductName() + " " + meta.getDatabaseProductVersion());
    }

    /**
     * @param dataSource where the outbox lives; one connection is borrowed and returned
     * @return the database behind it
     * @throws OutboxException when no connection can be had
     * @throws InvalidConfigurationException when it is none of these
     */
    public static Database of(DataSource dataSource) {
        try (Connection connection = dataSource.getConnection()) {
            return of(connection);
        } catch (SQLException e) {
            throw new OutboxException("could not tell which database the outbox is on: " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return displayName;
    }
}
