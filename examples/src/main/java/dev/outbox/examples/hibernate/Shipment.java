package dev.outbox.examples.hibernate;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/** A JPA entity: one shipment of an order. */
@Entity
@Table(name = "shipment")
public class Shipment {

    @Id
    private String id;

    @Column(name = "order_id", nullable = false)
    private String orderId;

    @Column(nullable = false)
    private String carrier;

    /** For Hibernate. */
    protected Shipment() {
    }

    /**
     * @param id the shipment's id
     * @param orderId the order shipped
     * @param carrier who carries it
     */
    public Shipment(String id, String orderId, String carrier) {
        this.id = id;
        this.orderId = orderId;
        this.carrier = carrier;
    }

    /** @return the shipment's id */
    public String id() {
        return id;
    }

    /** @return the order shipped */
    public String orderId() {
        return orderId;
    }

    /** @return who carries it */
    public String carrier() {
        return carrier;
    }
}
