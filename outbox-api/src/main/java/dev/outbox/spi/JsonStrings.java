package dev.outbox.spi;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * JSON strings and flat objects of strings, written and read with jackson-core's streaming generator and parser, for
 * publishers that put headers or an envelope into a message.
 */
public final class JsonStrings {

    private static final JsonFactory FACTORY = new JsonFactory();

    private JsonStrings() {
    }

    /**
     * Appends {@code s} as a quoted JSON string.
     *
     * @param out where to append
     * @param s the string
     * @return {@code out}
     */
    public static StringBuilder quote(StringBuilder out, String s) {
        return out.append(write(g -> g.writeString(s)));
    }

    /**
     * Appends {@code map} as a JSON object of strings, in the map's order.
     *
     * @param out where to append
     * @param map the strings
     * @return {@code out}
     */
    public static StringBuilder object(StringBuilder out, Map<String, String> map) {
        return out.append(object(map));
    }

    /**
     * @param map the strings
     * @return {@code map} as a JSON object of strings, in the map's order
     */
    public static String object(Map<String, String> map) {
        if (map.isEmpty()) {
            return "{}";
        }
        return write(g -> {
            g.writeStartObject();
            for (Map.Entry<String, String> e : map.entrySet()) {
                g.writeStringField(e.getKey(), e.getValue());
            }
            g.writeEndObject();
        });
    }

    /**
     * @param json a JSON object whose values are all strings
     * @return its entries in order, unmodifiable
     * @throws IllegalArgumentException when {@code json} is not such an object, naming what is wrong
     */
    public static Map<String, String> readObject(String json) {
        if (json == null || json.equals("{}")) {
            return Map.of();
        }
        try (JsonParser parser = FACTORY.createParser(json)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("not a JSON object: " + abbreviate(json));
            }
            Map<String, String> entries = new LinkedHashMap<>();
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                if (parser.nextToken() != JsonToken.VALUE_STRING) {
                    throw new IllegalArgumentException("value of '" + name + "' is " + parser.currentToken()
                            + ", not a string: " + abbreviate(json));
                }
                entries.put(name, parser.getText());
            }
            if (parser.nextToken() != null) {
                throw new IllegalArgumentException("text after the object: " + abbreviate(json));
            }
            return Collections.unmodifiableMap(entries);
        } catch (IOException e) {
            throw new IllegalArgumentException("not valid JSON (" + e.getMessage() + "): " + abbreviate(json), e);
        }
    }

    /**
     * @param json a JSON text
     * @return true when its value is an object, judged by its first token only
     */
    public static boolean isObject(String json) {
        try (JsonParser parser = FACTORY.createParser(json)) {
            return parser.nextToken() == JsonToken.START_OBJECT;
        } catch (IOException e) {
            return false;
        }
    }

    private interface Writing {
        void to(JsonGenerator generator) throws IOException;
    }

    private static String write(Writing writing) {
        StringWriter out = new StringWriter();
        try (JsonGenerator generator = FACTORY.createGenerator(out)) {
            writing.to(generator);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    private static String abbreviate(String json) {
        return json.length() <= 120 ? json : json.substring(0, 120) + "...";
    }
}
