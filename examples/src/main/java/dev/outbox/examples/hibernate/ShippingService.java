package dev.outbox.examples.hibernate;

import dev.outbox.Event;
import dev.outbox.Outbox;
import javax.sql.DataSource;
import org.hibernate.Session;
import org.hibernate.SessionFactory;
import org.hibernate.Transaction;
import org.hibernate.cfg.AvailableSettings;
import org.hibernate.cfg.Configuration;

/**
 * Hibernate without Spring: the entity and its event commit in one Hibernate transaction. The event is appended
 * with {@link Session#doWork}, which hands over the session's own JDBC connection, so it joins the transaction
 * Hibernate began. With plain JPA, {@code entityManager.unwrap(Session.class).doWork(...)} does the same.
 */
public final class ShippingService implements AutoCloseable {

    private final SessionFactory sessions;
    private final Outbox outbox;

    /**
     * @param dataSource the application's data source, which Hibernate borrows connections from
     * @param outbox the outbox
     */
    public ShippingService(DataSource dataSource, Outbox outbox) {
        Configuration configuration = new Configuration().addAnnotatedClass(Shipment.class);
        configuration.getProperties().put(AvailableSettings.DATASOURCE, dataSource);
        this.sessions = configuration.buildSessionFactory();
        this.outbox = outbox;
    }

    /**
     * Ships an order: persists the shipment and appends {@code order_shipped}, in one transaction.
     *
     * @param shipment the shipment to persist
     * @param failBeforeCommit simulates a failure after both writes, so the transaction rolls back
     * @throws IllegalStateException when {@code failBeforeCommit} is set; nothing is committed, the event included
     */
    public void ship(Shipment shipment, boolean failBeforeCommit) {
        try (Session session = sessions.openSession()) {
            Transaction tx = session.beginTransaction();
            try {
                session.persist(shipment);
                session.doWork(connection -> outbox.append(connection, Event.builder()
                        .aggregate("order", shipment.orderId())
                        .type("order_shipped")
                        .payload("{\"order\":\"" + shipment.orderId() + "\",\"shipment\":\"" + shipment.id()
                                + "\",\"carrier\":\"" + shipment.carrier() + "\"}")
                        .build()));
                if (failBeforeCommit) {
                    throw new IllegalStateException("carrier " + shipment.carrier() + " refused shipment "
                            + shipment.id());
                }
                tx.commit();
            } catch (RuntimeException e) {
                if (tx.isActive()) {
                    tx.rollback();
                }
                throw e;
            }
        }
    }

    /** @return how many shipments are stored */
    public long count() {
        try (Session session = sessions.openSession()) {
            return session.createQuery("select count(s) from Shipment s", Long.class).getSingleResult();
        }
    }

    @Override
    public void close() {
        sessions.close();
    }
}
