package dev.outbox;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import java.io.IOException;

/**
 * Checks that a string is exactly one JSON text (RFC 8259), with jackson-core's strict streaming parser: no
 * comments, no single quotes, no leading zeros, no NaN, no trailing commas, no unescaped control characters, nothing
 * after the value. Beyond the grammar it refuses escapes that decode to no Unicode character (a lone surrogate such
 * as {@code \ud800}), which consumers' parsers and UTF-8 encoders refuse, and nesting deeper than
 * {@value #MAX_DEPTH} levels. The text is only read, never rewritten: what passes is stored and published as given.
 */
final class JsonText {

    static final int MAX_DEPTH = 256;

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(MAX_DEPTH)
                    .maxNumberLength(100_000)
                    .maxStringLength(Event.MAX_PAYLOAD_BYTES)
                    .build())
            .build();

    private JsonText() {
    }

    /** @return null when {@code text} is one JSON value, otherwise what is wrong and where */
    static String problem(String text) {
        try (JsonParser parser = FACTORY.createParser(text)) {
            int depth = 0;
            int rootValues = 0;
            JsonToken token;
            while ((token = parser.nextToken()) != null) {
                if (depth == 0 && ++rootValues > 1) {
                    return "has text after the JSON value, at character " + offset(parser);
                }
                if (token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY) {
                    depth++;
                } else if (token == JsonToken.END_OBJECT || token == JsonToken.END_ARRAY) {
                    depth--;
                } else if (token == JsonToken.VALUE_STRING || token == JsonToken.FIELD_NAME) {
                    String surrogate = loneSurrogate(parser);
                    if (surrogate != null) {
                        return surrogate;
                    }
                }
            }
            return rootValues == 0 ? "is empty; one JSON value is required (\"null\" or \"{}\" for an empty body)" : null;
        } catch (StreamConstraintsException e) {
            String limit = e.getOriginalMessage();
            return limit.contains("nesting depth") ? "has nesting deeper than " + MAX_DEPTH + " levels"
                    : "breaks a limit: " + limit;
        } catch (JsonProcessingException e) {
            return "is not valid JSON: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " at character " + e.getLocation().getCharOffset());
        } catch (IOException e) {
            return "could not be read as JSON: " + e.getMessage();
        }
    }

    private static String loneSurrogate(JsonParser parser) throws IOException {
        char[] chars = parser.getTextCharacters();
        int start = parser.getTextOffset();
        int end = start + parser.getTextLength();
        for (int i = start; i < end; i++) {
            char c = chars[i];
            if (Character.isHighSurrogate(c) && i + 1 < end && Character.isLowSurrogate(chars[i + 1])) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return "has a string with a lone surrogate (\\u" + Integer.toHexString(c)
                        + "), which is no Unicode character, near character " + offset(parser);
            }
        }
        return null;
    }

    private static long offset(JsonParser parser) {
        return parser.currentTokenLocation().getCharOffset();
    }
}
