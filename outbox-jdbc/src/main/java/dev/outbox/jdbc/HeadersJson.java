package dev.outbox.jdbc;

import dev.outbox.OutboxException;
import dev.outbox.spi.JsonStrings;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Event headers as a flat JSON object of strings: written by the outbox, read back from {@code headers::text}.
 * Small enough that the jdbc module needs no JSON library.
 */
final class HeadersJson {

    private HeadersJson() {
    }

    static String write(Map<String, String> headers) {
        return JsonStrings.object(headers);
    }

    static Map<String, String> read(String json) {
        if (json == null || json.equals("{}")) {
            return Map.of();
        }
        Map<String, String> headers = new LinkedHashMap<>();
        int[] pos = {skip(json, 0)};
        expect(json, pos, '{');
        while (true) {
            pos[0] = skip(json, pos[0]);
            String key = string(json, pos);
            pos[0] = skip(json, pos[0]);
            expect(json, pos, ':');
            pos[0] = skip(json, pos[0]);
            headers.put(key, string(json, pos));
            pos[0] = skip(json, pos[0]);
            if (pos[0] < json.length() && json.charAt(pos[0]) == ',') {
                pos[0]++;
                continue;
            }
            expect(json, pos, '}');
            return Collections.unmodifiableMap(headers);
        }
    }

    private static String string(String json, int[] pos) {
        expect(json, pos, '"');
        StringBuilder out = new StringBuilder();
        int i = pos[0];
        while (i < json.length()) {
            char c = json.charAt(i++);
            if (c == '"') {
                pos[0] = i;
                return out.toString();
            }
            if (c != '\\') {
                out.append(c);
                continue;
            }
            char e = json.charAt(i++);
            switch (e) {
                case 'n' -> out.append('\n');
                case 'r' -> out.append('\r');
                case 't' -> out.append('\t');
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'u' -> {
                    out.append((char) Integer.parseInt(json.substring(i, i + 4), 16));
                    i += 4;
                }
                default -> out.append(e);
            }
        }
        throw malformed(json);
    }

    private static int skip(String json, int pos) {
        while (pos < json.length() && Character.isWhitespace(json.charAt(pos))) {
            pos++;
        }
        return pos;
    }

    private static void expect(String json, int[] pos, char c) {
        if (pos[0] >= json.length() || json.charAt(pos[0]) != c) {
            throw malformed(json);
        }
        pos[0]++;
    }

    private static OutboxException malformed(String json) {
        return new OutboxException("headers column is not a flat JSON object of strings: "
                + (json.length() > 200 ? json.substring(0, 200) + "..." : json));
    }
}
