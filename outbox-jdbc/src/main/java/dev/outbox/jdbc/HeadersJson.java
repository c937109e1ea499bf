package dev.outbox.jdbc;

import dev.outbox.OutboxException;
import dev.outbox.spi.JsonStrings;
import java.util.Map;

/** Event headers as a flat JSON object of strings: written by the outbox, read back from {@code headers::text}. */
final class HeadersJson {

    private HeadersJson() {
    }

    static String write(Map<String, String> headers) {
        return JsonStrings.object(headers);
    }

    /** @throws OutboxException when the column is not a flat JSON object of strings, as plain SQL may have left it */
    static Map<String, String> read(String json) {
        try {
            return JsonStrings.readObject(json);
        } catch (IllegalArgumentException e) {
            throw new OutboxException("headers column is not a flat JSON object of strings: " + e.getMessage(), e);
        }
    }
}
