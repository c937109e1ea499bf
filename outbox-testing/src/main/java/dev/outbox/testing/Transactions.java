package dev.outbox.testing;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;

/**
 * Runs test work in a real transaction on a connection borrowed from a data source, as a service does: auto-commit
 * off, then commit or roll back, then the connection is returned in auto-commit mode.
 *
 * <pre>{@code
 * Transactions.commit(dataSource, c -> outbox.append(c, event));
 * Transactions.rollback(dataSource, c -> outbox.append(c, event));   // must publish nothing
 * }</pre>
 */
public final class Transactions {

    /** Work on the transaction's connection. */
    @FunctionalInterface
    public interface Work {
        /**
         * @param connection the transaction's connection; do not commit, roll back or close it
         * @throws SQLException as the database raised it; the transaction is then rolled back
         */
        void run(Connection connection) throws SQLException;
    }

    private Transactions() {
    }

    /**
     * Runs {@code work} and commits.
     *
     * @param dataSource where to borrow the connection
     * @param work what to do in the transaction
     * @throws IllegalStateException wrapping an {@link SQLException}, after rolling back
     */
    public static void commit(DataSource dataSource, Work work) {
        inTransaction(dataSource, work, true);
    }

    /**
     * Runs {@code work} and rolls back.
     *
     * @param dataSource where to borrow the connection
     * @param work what to do in the transaction
     * @throws IllegalStateException wrapping an {@link SQLException}
     */
    public static void rollback(DataSource dataSource, Work work) {
        inTransaction(dataSource, work, false);
    }

    /**
     * @return the single number the query returns, such as a {@code count(*)}
     * @param dataSource where to borrow the connection
     * @param sql a query returning one number
     * @throws IllegalStateException wrapping an {@link SQLException}, naming the query
     */
    public static long queryLong(DataSource dataSource, String sql) {
        try (Connection c = dataSource.getConnection();
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery(sql)) {
            if (!rs.next()) {
                throw new IllegalStateException("query returned no row: " + sql);
            }
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
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
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
