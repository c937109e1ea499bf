package dev.outbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EventTest {

    private static Event.Builder valid() {
        return Event.builder().aggregate("order", "42").type("order_placed").payload("{\"total\":12.5}");
    }

    private static InvalidEventException invalid(Event.Builder builder) {
        return assertThrows(InvalidEventException.class, builder::build);
    }

    @Test
    void builtEventKeepsEveryFieldAndGetsATimeOrderedId() {
        Instant at = Instant.parse("2026-01-02T03:04:05.123456789Z");
        Event e = valid().header("trace-id", "abc").occurredAt(at).build();
        assertEquals("order", e.aggregateType());
        assertEquals("42", e.aggregateId());
        assertEquals("order_placed", e.type());
        assertEquals(Map.of("trace-id", "abc"), e.headers());
        assertEquals(Instant.parse("2026-01-02T03:04:05.123456Z"), e.occurredAt(), "kept to the microsecond");
        assertEquals(7, e.id().version());
    }

    @Test
    void blankOrMissingNamesAreRejectedNamingTheField() {
        assertEquals("aggregateType", invalid(valid().aggregate(" ", "1")).field());
        assertEquals("aggregateId", invalid(valid().aggregate("order", "")).field());
        assertEquals("aggregateId", invalid(valid().aggregate("order", null)).field());
        assertEquals("type", invalid(valid().type(null)).field());
        InvalidEventException tooLong = invalid(valid().aggregate("order", "x".repeat(Event.MAX_NAME_LENGTH + 1)));
        assertTrue(tooLong.getMessage().contains("256 characters, the limit is 255"), tooLong.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "{", "{\"a\":}", "{'a':1}", "[1,]", "01", "1.", "-", "tru", "\"a\" \"b\"",
        "{\"a\":1,}", "\"\\x\"", "\"\\u12\"", "NaN", "{\"a\" 1}", "/* c */ 1", "{} {}"})
    void malformedJsonPayloadIsRejected(String payload) {
        InvalidEventException e = invalid(valid().payload(payload));
        assertEquals("payload", e.field());
        assertTrue(e.getMessage().contains("JSON"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"{}", "[]", "null", "true", "0", "-1.5e+10", "\"text\"", " { \"a\" : [1, {\"b\": null}] } ",
        "{\"esc\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"}", "{\"emoji\":\"\uD83D\uDE00\"}"})
    void wellFormedJsonPayloadIsAccepted(String payload) {
        assertEquals(payload, valid().payload(payload).build().payload());
    }

    @Test
    void deeplyNestedPayloadIsRejectedNotAStackOverflow() {
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        assertTrue(invalid(valid().payload(deep)).getMessage().contains("nesting deeper"));
    }

    @Test
    void oversizedPayloadIsRejectedWithItsSize() {
        String big = "\"" + "é".repeat(Event.MAX_PAYLOAD_BYTES / 2) + "\"";
        InvalidEventException e = invalid(valid().payload(big));
        assertTrue(e.getMessage().contains("the limit is " + Event.MAX_PAYLOAD_BYTES), e.getMessage());
        assertNull(JsonText.problem(big), "the payload itself is valid JSON; only its size is wrong");
    }

    @Test
    void nulAndUnpairedSurrogatesAreRejectedInEveryText() {
        assertEquals("aggregateId", invalid(valid().aggregate("order", "a\0b")).field());
        assertEquals("type", invalid(valid().type("x\uD800")).field());
        assertEquals("payload", invalid(valid().payload("\"\uDC00\"")).field());
        assertEquals("headers.h", invalid(valid().header("h", "\0")).field());
    }

    @Test
    void headerRulesAreEnforced() {
        assertTrue(invalid(valid().header("bad name", "v")).getMessage().contains("may contain only"));
        assertTrue(invalid(valid().header("outbox-event-id", "v")).getMessage().contains("reserved"));
        assertTrue(invalid(valid().header("h", "v".repeat(Event.MAX_HEADER_VALUE_LENGTH + 1)))
                .getMessage().contains("limit is " + Event.MAX_HEADER_VALUE_LENGTH));
        assertEquals("headers.h", invalid(valid().header("h", null)).field());
        Map<String, String> many = new HashMap<>();
        for (int i = 0; i <= Event.MAX_HEADERS; i++) {
            many.put("h" + i, "v");
        }
        assertTrue(invalid(valid().headers(many)).getMessage().contains("the limit is " + Event.MAX_HEADERS));
    }

    @Test
    void headersAreImmutableAfterBuild() {
        Event e = valid().header("a", "1").build();
        assertThrows(UnsupportedOperationException.class, () -> e.headers().put("b", "2"));
    }

    @Test
    void nullIdAndNullTimeAreRejected() {
        assertThrows(InvalidEventException.class,
                () -> new Event(null, "a", "b", "c", "{}", Map.of(), Instant.now()));
        assertThrows(InvalidEventException.class,
                () -> new Event(UUID.randomUUID(), "a", "b", "c", "{}", Map.of(), null));
    }

    @Test
    void toStringNeverShowsThePayload() {
        Event e = valid().payload("{\"secret\":\"hunter2\"}").header("token", "s3cr3t").build();
        assertTrue(!e.toString().contains("hunter2") && !e.toString().contains("s3cr3t"), e.toString());
    }

    @Test
    void timeOrderedIdsIncreaseStrictlyWithinOneJvm() {
        UUID previous = TimeOrderedUuid.next();
        for (int i = 0; i < 100_000; i++) {
            UUID next = TimeOrderedUuid.next();
            assertTrue(Long.compareUnsigned(next.getMostSignificantBits(), previous.getMostSignificantBits()) > 0,
                    "id " + i + " did not increase");
            assertEquals(7, next.version());
            assertEquals(2, next.variant());
            previous = next;
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"s\":\"\\ud800\"}", "{\"k\":\"\\udc00\"}", "[\"\\udbff\\u0041\"]", "{\"\\ud800\":1}"})
    void aStringWithALoneSurrogateEscapeIsRefusedBeforeAnySql(String payload) {
        InvalidEventException e = invalid(valid().payload(payload));
        assertEquals("payload", e.field());
        assertTrue(e.getMessage().contains("lone surrogate"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"1e1000000", "[1e-20000]", "{\"b\":1,\"a\":2,\"a\":3,\"n\":1E2,\"z\":-0,\"s\":\"caf\\u00e9\"}",
        "\"\\u0000\"", "[1e131071,1e131071]", "{\"pair\":\"\\ud83d\\ude00\"}"})
    void whatJsonAllowsIsKeptAsWritten(String payload) {
        assertEquals(payload, valid().payload(payload).build().payload());
    }

    @ParameterizedTest
    @ValueSource(strings = {".trace", "trace.", "a..b", "AWS.trace", "aws.x", "Amazon.x", "amazon.x"})
    void headerNamesSqsRefusesAreRefused(String name) {
        InvalidEventException e = invalid(valid().header(name, "v"));
        assertTrue(e.field().startsWith("headers"), e.field());
    }

    @ParameterizedTest
    @ValueSource(strings = {"a\u0001b", "a\uFFFFb", "a\uFFFEb", "a\u001Fb"})
    void headerValuesWithCharactersSqsRefusesAreRefused(String value) {
        InvalidEventException e = invalid(valid().header("trace", value));
        assertEquals("headers.trace", e.field());
        assertTrue(e.getMessage().contains("SQS refuses"), e.getMessage());
    }

    @Test
    void tabsAndNewlinesInHeaderValuesAreFine() {
        assertEquals("a\tb\nc\rd", valid().header("note", "a\tb\nc\rd").build().headers().get("note"));
    }

    @Test
    void anEventTypeLongerThanEventBridgesDetailTypeIsRefused() {
        assertEquals("x".repeat(128), valid().type("x".repeat(128)).build().type());
        InvalidEventException e = invalid(valid().type("x".repeat(129)));
        assertEquals("type", e.field());
        assertTrue(e.getMessage().contains("limit is 128"), e.getMessage());
    }

    @Test
    void aRawNonCharacterInThePayloadIsRefused() {
        InvalidEventException e = invalid(valid().payload("\"\uFFFF\""));
        assertEquals("payload", e.field());
    }
}
