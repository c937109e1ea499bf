package dev.outbox.jdbc.testing;

import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/** Runs test work in a real transaction on a borrowed connection. */
public final class Transactions {

    /** Work on the caller's connection. */
    @FunctionalInterface
    public interface Work {
        void run(Connection connection) throws SQLException;
    }

    private Transactions() {
    }

    /** Runs {@code work} and commits. */
    public static void commit(DataSource dataSource, Work work) {
        inTransaction(dataSource, work, true);
    }

    /** Runs {@code work} and rolls back. */
    public static void rollback(DataSource dataSource, Work work) {
        inTransaction(dataSource, work, false);
    }

    private static void inTransaction(DataSource dataSource, Work work, boolean commit) {
        try (Connection connection = dataSource.getConnection()) {
            connection.setAutoCommit(false);
            try {
                work.run(connection);
                if (commit) {
                    connection.commit();
                } else {
                    connection.rollback();
                }
            } catch (SQLException | RuntimeException e) {
                connection.rollback();
                throw e;
            } finally {
                connection.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @return the single long the query returns */
    public static long queryLong(DataSource dataSource, String sql) {
        try (Connection c = dataSource.getConnection();
             var s = c.createStatement();
             var rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException(sql, e);
        }
    }
}
