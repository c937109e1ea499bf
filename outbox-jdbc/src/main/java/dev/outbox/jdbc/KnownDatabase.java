package dev.outbox.jdbc;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * The database an outbox, relay or operations object runs on: the one it was given, or the one found from the first
 * connection it is handed, kept from then on.
 */
final class KnownDatabase {

    private volatile Database database;

    /** @param given the database set explicitly, or null to find it */
    KnownDatabase(Database given) {
        this.database = given;
    }

    /** @return the database, found from {@code connection} the first time */
    Database of(Connection connection) throws SQLException {
        Database known = database;
        if (known == null) {
            known = Database.of(connection);
            database = known;
        }
        return known;
    }

    /** @return the database, or null while it has not been found */
    Database orNull() {
        return database;
    }
}
