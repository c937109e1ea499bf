package dev.outbox.spi;

import java.util.Map;

/**
 * Writes JSON strings and flat string objects: enough for headers and envelopes, so that the api and the
 * publishers need no JSON library.
 */
public final class JsonStrings {

    private JsonStrings() {
    }

    /**
     * Appends {@code s} as a quoted JSON string, escaping quotes, backslashes and control characters.
     *
     * @param out where to append
     * @param s the string
     * @return {@code out}
     */
    public static StringBuilder quote(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"');
    }

    /**
     * Appends {@code map} as a JSON object of strings, in the map's order.
     *
     * @param out where to append
     * @param map the strings
     * @return {@code out}
     */
    public static StringBuilder object(StringBuilder out, Map<String, String> map) {
        out.append('{');
        boolean first = true;
        for (Map.Entry<String, String> entry : map.entrySet()) {
            if (!first) {
                out.append(',');
            }
            first = false;
            quote(out, entry.getKey()).append(':');
            quote(out, entry.getValue());
        }
        return out.append('}');
    }

    /**
     * @param map the strings
     * @return {@code map} as a JSON object of strings
     */
    public static String object(Map<String, String> map) {
        return map.isEmpty() ? "{}" : object(new StringBuilder(64), map).toString();
    }
}
