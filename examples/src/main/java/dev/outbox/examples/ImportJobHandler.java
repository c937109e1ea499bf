package dev.outbox.examples;

import dev.outbox.Event;
import dev.outbox.Outbox;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * What a web request handler does: create an import job and announce it, with the job's id as the aggregate
 * id, so that every later event of the job ({@code import_job_started}, {@code import_job_finished}) is
 * published in order after this one.
 */
final class ImportJobHandler {

    private final DataSource dataSource;
    private final Outbox outbox;

    ImportJobHandler(DataSource dataSource, Outbox outbox) {
        this.dataSource = dataSource;
        this.outbox = outbox;
    }

    /** Handles {@code POST /imports} with a body like {@code {"source": "s3://bucket/file.csv"}}; returns the job id. */
    UUID handle(Map<String, String> request) throws SQLException {
        UUID id = UUID.randomUUID();
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                try (PreparedStatement insert = c.prepareStatement(
                        "INSERT INTO import_job (id, source, status) VALUES (?, ?, 'created')")) {
                    insert.setObject(1, id);
                    insert.setString(2, request.get("source"));
                    insert.executeUpdate();
                }
                outbox.append(c, Event.builder()
                        .aggregate("import_job", id.toString())
                        .type("import_job_created")
                        .payload("{\"jobId\":\"" + id + "\",\"source\":\"" + request.get("source") + "\"}")
                        .header("request-id", request.getOrDefault("request-id", "none"))
                        .build());
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
        return id;
    }
}
