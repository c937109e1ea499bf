package dev.outbox.examples;

import dev.outbox.Event;
import dev.outbox.Outbox;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * A registration service: the user row and its {@code user_created} event commit together, or neither does.
 */
final class UserRegistration {

    private final DataSource dataSource;
    private final Outbox outbox;

    UserRegistration(DataSource dataSource, Outbox outbox) {
        this.dataSource = dataSource;
        this.outbox = outbox;
    }

    /** @throws SQLException when the email is taken; then nothing was written, the event included */
    void register(String email, String name) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                try (PreparedStatement insert = c.prepareStatement("INSERT INTO app_user (email, name) VALUES (?, ?)")) {
                    insert.setString(1, email);
                    insert.setString(2, name);
                    insert.executeUpdate();
                }
                outbox.append(c, Event.builder()
                        .aggregate("user", email)
                        .type("user_created")
                        .payload("{\"email\":\"" + email + "\",\"name\":\"" + name + "\"}")
                        .build());
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
    }
}
