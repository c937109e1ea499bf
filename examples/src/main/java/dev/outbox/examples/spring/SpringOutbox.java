package dev.outbox.examples.spring;

import dev.outbox.Event;
import dev.outbox.Outbox;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.datasource.DataSourceUtils;
import org.springframework.jdbc.support.SQLErrorCodeSQLExceptionTranslator;
import org.springframework.jdbc.support.SQLExceptionTranslator;
import org.springframework.transaction.IllegalTransactionStateException;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Appends events in the Spring-managed transaction that is current on this thread: the one a
 * {@code @Transactional} method opened, whether JDBC ({@code JdbcTemplate}) or JPA does the business write, as long
 * as the transaction manager binds a JDBC connection ({@code DataSourceTransactionManager}, or
 * {@code JpaTransactionManager} with its data source set).
 *
 * <p>Two things make this more than {@code outbox.append(connection, event)}: the connection is Spring's bound
 * one ({@link DataSourceUtils#getConnection}), and an {@link SQLException} is translated into Spring's unchecked
 * {@link DataAccessException}. Spring rolls a {@code @Transactional} method back only for unchecked exceptions by
 * default, so a checked {@code SQLException} escaping it would commit the business change without its event.
 */
public final class SpringOutbox {

    private final DataSource dataSource;
    private final Outbox outbox;
    private final SQLExceptionTranslator translator;

    /**
     * @param dataSource the data source the transaction manager uses
     * @param outbox the outbox to append to
     */
    public SpringOutbox(DataSource dataSource, Outbox outbox) {
        this.dataSource = dataSource;
        this.outbox = outbox;
        this.translator = new SQLErrorCodeSQLExceptionTranslator(dataSource);
    }

    /**
     * Appends {@code event} in the current transaction.
     *
     * @param event the event
     * @throws IllegalTransactionStateException when no Spring transaction is active on this thread
     * @throws DataAccessException when the database refuses the append; the transaction is then rolled back
     */
    public void append(Event event) {
        if (!TransactionSynchronizationManager.isActualTransactionActive()) {
            throw new IllegalTransactionStateException(
                    "no Spring transaction is active: append from a @Transactional method");
        }
        Connection connection = DataSourceUtils.getConnection(dataSource);
        try {
            outbox.append(connection, event);
        } catch (SQLException e) {
            throw translator.translate("outbox append of event " + event.id(), null, e);
        } finally {
            DataSourceUtils.releaseConnection(connection, dataSource); // a no-op for the transaction's own connection
        }
    }
}
