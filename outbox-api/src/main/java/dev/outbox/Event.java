package dev.outbox;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * One fact to publish: something that happened to an aggregate.
 *
 * <p>Immutable and validated when built: a constructed {@code Event} can always be stored and read back
 * unchanged, so {@link Outbox#append} never fails half-way because of its content. Every rule names its
 * field in the {@link InvalidEventException} it throws:
 * <ul>
 *   <li>{@code aggregateType}, {@code aggregateId}: not blank, at most {@value #MAX_NAME_LENGTH} characters;
 *       {@code type}: not blank, at most {@value #MAX_TYPE_LENGTH} characters (EventBridge's {@code DetailType});</li>
 *   <li>{@code payload}: exactly one JSON value (strict RFC 8259, no string with a lone surrogate escape such as
 *       {@code \ud800}, nesting at most 256 deep), at most {@value #MAX_PAYLOAD_BYTES} bytes in UTF-8. It is stored
 *       and published byte for byte as given: keys keep their order and duplicates, numbers and escapes their
 *       spelling;</li>
 *   <li>{@code headers}: at most {@value #MAX_HEADERS}; names of 1 to {@value #MAX_HEADER_NAME_LENGTH}
 *       letters, digits, {@code - _ .}, not starting or ending with {@code .}, without {@code ..}, not starting with
 *       {@code outbox-}, {@code AWS.} or {@code Amazon.} (any case); values at most {@value #MAX_HEADER_VALUE_LENGTH}
 *       characters;</li>
 *   <li>every text: only characters SQS accepts (no control character other than tab, line feed and carriage return,
 *       no U+FFFE or U+FFFF) and no unpaired surrogate.</li>
 * </ul>
 * So an event that can be built can be stored by PostgreSQL and accepted by the bundled brokers, apart from their
 * size limits, which each publisher checks.
 * {@code occurredAt} is kept to the microsecond, the precision PostgreSQL stores.
 *
 * <p>Events of one aggregate ({@code aggregateType} + {@code aggregateId}) are published in the order they
 * were appended.
 *
 * @param id unique id; a {@linkplain TimeOrderedUuid time-ordered} one when the builder is given none
 * @param aggregateType the kind of thing that changed, such as {@code order}
 * @param aggregateId which one changed; the unit of ordering together with {@code aggregateType}
 * @param type what happened, such as {@code order_placed}
 * @param payload the event's body, a JSON text
 * @param headers metadata carried beside the payload (trace ids, tenant); unmodifiable, in insertion order
 * @param occurredAt when it happened
 */
public record Event(
        UUID id,
        String aggregateType,
        String aggregateId,
        String type,
        String payload,
        Map<String, String> headers,
        Instant occurredAt) {

    /** Longest aggregate type or aggregate id, in characters. */
    public static final int MAX_NAME_LENGTH = 255;
    /** Longest event type, in characters: EventBridge's limit on {@code DetailType}, which carries it. */
    public static final int MAX_TYPE_LENGTH = 128;
    /** Largest payload, in UTF-8 bytes (1 MiB). */
    public static final int MAX_PAYLOAD_BYTES = 1024 * 1024;
    /** Most headers on one event. */
    public static final int MAX_HEADERS = 32;
    /** Longest header name, in characters. */
    public static final int MAX_HEADER_NAME_LENGTH = 128;
    /** Longest header value, in characters. */
    public static final int MAX_HEADER_VALUE_LENGTH = 4096;
    /** Header names may not start with this prefix (case-insensitive): publishers use it for their own attributes. */
    public static final String RESERVED_HEADER_PREFIX = "outbox-";

    /**
     * Validates and normalises every field.
     *
     * @param id unique id
     * @param aggregateType the kind of thing that changed
     * @param aggregateId which one changed
     * @param type what happened
     * @param payload the body, one JSON value
     * @param headers metadata beside the payload; null means none
     * @param occurredAt when it happened, kept to the microsecond
     * @throws InvalidEventException naming the first field that breaks a rule
     */
    public Event {
        if (id == null) {
            throw new InvalidEventException("id", "must not be null");
        }
        checkName("aggregateType", aggregateType);
        checkName("aggregateId", aggregateId);
        checkName("type", type);
        if (type.length() > MAX_TYPE_LENGTH) {
            throw new InvalidEventException("type",
                    "is " + type.length() + " characters, the limit is " + MAX_TYPE_LENGTH + " (EventBridge's DetailType)");
        }
        checkPayload(payload);
        headers = checkHeaders(headers);
        if (occurredAt == null) {
            throw new InvalidEventException("occurredAt", "must not be null");
        }
        occurredAt = occurredAt.truncatedTo(ChronoUnit.MICROS);
    }

    /**
     * A new event with a time-ordered id, no headers, occurring now.
     *
     * @param aggregateType the kind of thing that changed, such as {@code order}
     * @param aggregateId which one changed
     * @param type what happened, such as {@code order_placed}
     * @param payload the body, one JSON value
     * @return the validated event
     * @throws InvalidEventException naming the first field that breaks a rule
     */
    public static Event of(String aggregateType, String aggregateId, String type, String payload) {
        return new Event(TimeOrderedUuid.next(), aggregateType, aggregateId, type, payload, Map.of(), Instant.now());
    }

    /** @return a builder; {@code aggregate}, {@code type} and {@code payload} are required */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A copy of this event with {@code replacing} added to its headers, replacing those of the same name; everything
     * else unchanged, the id included.
     *
     * @param replacing headers to add or replace, in the map's iteration order
     * @return the new event, validated like any other
     * @throws InvalidEventException when the headers together break a rule (too many, a bad name or value)
     */
    public Event withHeaders(Map<String, String> replacing) {
        if (replacing == null || replacing.isEmpty()) {
            return this;
        }
        Map<String, String> merged = new LinkedHashMap<>(headers);
        merged.putAll(replacing);
        return new Event(id, aggregateType, aggregateId, type, payload, merged, occurredAt);
    }

    /** @return the payload's size in UTF-8 bytes */
    public int payloadBytes() {
        return utf8Length(payload);
    }

    /** Builds an {@link Event}; validation happens in {@link #build()}. Not thread-safe. */
    public static final class Builder {
        private UUID id;
        private String aggregateType;
        private String aggregateId;
        private String type;
        private String payload;
        private final Map<String, String> headers = new LinkedHashMap<>();
        private Instant occurredAt;

        private Builder() {
        }

        /**
         * Sets the id; without it {@link #build()} generates a time-ordered one.
         *
         * @param id the event's unique id, which consumers deduplicate by
         * @return this builder
         */
        public Builder id(UUID id) {
            this.id = id;
            return this;
        }

        /**
         * Sets the aggregate: its type ({@code order}) and its id ({@code 42}).
         *
         * @param aggregateType the kind of thing that changed
         * @param aggregateId which one changed
         * @return this builder
         */
        public Builder aggregate(String aggregateType, String aggregateId) {
            this.aggregateType = aggregateType;
            this.aggregateId = aggregateId;
            return this;
        }

        /**
         * Sets what happened ({@code order_placed}).
         *
         * @param type what happened
         * @return this builder
         */
        public Builder type(String type) {
            this.type = type;
            return this;
        }

        /**
         * Sets the JSON payload.
         *
         * @param json one JSON value
         * @return this builder
         */
        public Builder payload(String json) {
            this.payload = json;
            return this;
        }

        /**
         * Adds or replaces one header.
         *
         * @param name the header's name
         * @param value the header's value
         * @return this builder
         */
        public Builder header(String name, String value) {
            headers.put(name, value);
            return this;
        }

        /**
         * Adds or replaces several headers.
         *
         * @param more headers to add, in the map's iteration order
         * @return this builder
         */
        public Builder headers(Map<String, String> more) {
            headers.putAll(more);
            return this;
        }

        /**
         * Sets when it happened; {@link #build()} uses the current time when not set.
         *
         * @param occurredAt when it happened
         * @return this builder
         */
        public Builder occurredAt(Instant occurredAt) {
            this.occurredAt = occurredAt;
            return this;
        }

        /**
         * @return the validated event
         * @throws InvalidEventException naming the first field that breaks a rule
         */
        public Event build() {
            return new Event(id == null ? TimeOrderedUuid.next() : id, aggregateType, aggregateId, type, payload,
                    headers, occurredAt == null ? Instant.now() : occurredAt);
        }
    }

    private static void checkName(String field, String value) {
        if (value == null) {
            throw new InvalidEventException(field, "must not be null");
        }
        if (value.isBlank()) {
            throw new InvalidEventException(field, "must not be blank");
        }
        if (value.length() > MAX_NAME_LENGTH) {
            throw new InvalidEventException(field,
                    "is " + value.length() + " characters, the limit is " + MAX_NAME_LENGTH);
        }
        checkText(field, value);
    }

    private static void checkPayload(String payload) {
        if (payload == null) {
            throw new InvalidEventException("payload", "must not be null (use \"null\" or \"{}\" for an empty body)");
        }
        // Cheap bound first: a UTF-8 byte is at most one char, and at most 3 bytes per char.
        if (payload.length() > MAX_PAYLOAD_BYTES || (payload.length() * 3L > MAX_PAYLOAD_BYTES
                && utf8Length(payload) > MAX_PAYLOAD_BYTES)) {
            throw new InvalidEventException("payload",
                    "is " + utf8Length(payload) + " bytes in UTF-8, the limit is " + MAX_PAYLOAD_BYTES);
        }
        checkText("payload", payload);
        String problem = JsonText.problem(payload);
        if (problem != null) {
            throw new InvalidEventException("payload", problem);
        }
    }

    private static Map<String, String> checkHeaders(Map<String, String> headers) {
        if (headers == null || headers.isEmpty()) {
            return Map.of();
        }
        if (headers.size() > MAX_HEADERS) {
            throw new InvalidEventException("headers", "has " + headers.size() + " entries, the limit is " + MAX_HEADERS);
        }
        Map<String, String> copy = new LinkedHashMap<>();
        for (Map.Entry<String, String> header : headers.entrySet()) {
            String name = header.getKey();
            if (name == null) {
                throw new InvalidEventException("headers", "a header name is null");
            }
            String field = "headers." + name;
            if (name.isEmpty() || name.length() > MAX_HEADER_NAME_LENGTH) {
                throw new InvalidEventException(field,
                        "header name must be 1 to " + MAX_HEADER_NAME_LENGTH + " characters, was " + name.length());
            }
            for (int i = 0; i < name.length(); i++) {
                char c = name.charAt(i);
                boolean allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                        || c == '-' || c == '_' || c == '.';
                if (!allowed) {
                    throw new InvalidEventException("headers",
                            "header name '" + printable(name) + "' may contain only letters, digits, '-', '_' and '.'");
                }
            }
            if (name.regionMatches(true, 0, RESERVED_HEADER_PREFIX, 0, RESERVED_HEADER_PREFIX.length())) {
                throw new InvalidEventException(field,
                        "header names starting with '" + RESERVED_HEADER_PREFIX + "' are reserved");
            }
            if (name.startsWith(".") || name.endsWith(".") || name.contains("..")) {
                throw new InvalidEventException(field, "header names may not start or end with '.' or contain '..'"
                        + " (SQS attribute names)");
            }
            if (name.regionMatches(true, 0, "aws.", 0, 4) || name.regionMatches(true, 0, "amazon.", 0, 7)) {
                throw new InvalidEventException(field, "header names starting with 'AWS.' or 'Amazon.' are reserved"
                        + " by SQS");
            }
            String value = header.getValue();
            if (value == null) {
                throw new InvalidEventException(field, "header value must not be null");
            }
            if (value.length() > MAX_HEADER_VALUE_LENGTH) {
                throw new InvalidEventException(field,
                        "header value is " + value.length() + " characters, the limit is " + MAX_HEADER_VALUE_LENGTH);
            }
            checkText(field, value);
            copy.put(name, value);
        }
        return Collections.unmodifiableMap(copy);
    }

    /** Text that PostgreSQL or a broker would refuse or silently mangle. */
    private static void checkText(String field, String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\0') {
                throw new InvalidEventException(field, "contains a NUL character at index " + i);
            }
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == '\uFFFE' || c == '\uFFFF') {
                throw new InvalidEventException(field, "contains U+" + String.format("%04X", (int) c) + " at index "
                        + i + ", a character SQS refuses");
            }
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
                    i++;
                    continue;
                }
                throw new InvalidEventException(field, "contains an unpaired surrogate at index " + i);
            }
            if (Character.isLowSurrogate(c)) {
                throw new InvalidEventException(field, "contains an unpaired surrogate at index " + i);
            }
        }
    }

    private static int utf8Length(String s) {
        int bytes = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                bytes += 1;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c)) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    private static String printable(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    @Override
    public String toString() {
        // Payload and header values stay out of logs: they may hold personal data.
        return "Event[id=" + id + ", aggregate=" + aggregateType + "/" + aggregateId + ", type=" + type
                + ", payloadChars=" + payload.length() + ", headers=" + headers.keySet() + "]";
    }
}
