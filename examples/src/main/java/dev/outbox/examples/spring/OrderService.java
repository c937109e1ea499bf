package dev.outbox.examples.spring;

import dev.outbox.Event;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.annotation.Transactional;

/**
 * A Spring service: {@code JdbcTemplate} writes the order, {@link SpringOutbox} appends {@code order_placed}, and
 * {@code @Transactional} commits both or neither.
 */
public class OrderService {

    private final JdbcTemplate jdbc;
    private final SpringOutbox outbox;

    /**
     * @param jdbc writes the business rows
     * @param outbox appends in the same transaction
     */
    public OrderService(JdbcTemplate jdbc, SpringOutbox outbox) {
        this.jdbc = jdbc;
        this.outbox = outbox;
    }

    /**
     * Places an order and announces it.
     *
     * @param orderId the order's id
     * @param customer who placed it
     * @param lines how many lines it has; zero is refused after both writes, so the transaction rolls back
     * @throws IllegalArgumentException for an order without lines; nothing is committed, the event included
     */
    @Transactional
    public void placeOrder(String orderId, String customer, int lines) {
        jdbc.update("INSERT INTO customer_order (id, customer) VALUES (?, ?)", orderId, customer);
        outbox.append(Event.builder()
                .aggregate("order", orderId)
                .type("order_placed")
                .payload("{\"order\":\"" + orderId + "\",\"customer\":\"" + customer + "\",\"lines\":" + lines + "}")
                .build());
        if (lines < 1) {
            // Thrown after the row and the event were written: the rollback takes both back.
            throw new IllegalArgumentException("order " + orderId + " has no lines");
        }
    }
}
