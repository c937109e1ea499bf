package dev.outbox.spi;

import java.util.Map;

/**
 * The trace context an event may carry in its headers, and its translation for AWS.
 *
 * <p>An event appended while a trace was current carries W3C Trace Context headers ({@value #TRACEPARENT}, and
 * {@value #TRACESTATE} when there is one), put there by {@code outbox-opentelemetry} or by your own code. The bundled
 * publishers send them on as they send every header, and also hand AWS the same context in X-Ray's format, which AWS
 * services read: SQS's {@code AWSTraceHeader} system attribute, EventBridge's {@code TraceHeader} field.
 */
public final class TraceHeaders {

    /** The W3C Trace Context header naming the trace and the parent span: {@code 00-<trace>-<span>-<flags>}. */
    public static final String TRACEPARENT = "traceparent";
    /** The W3C Trace Context header carrying vendor state beside {@value #TRACEPARENT}. */
    public static final String TRACESTATE = "tracestate";

    private TraceHeaders() {
    }

    /**
     * The X-Ray trace header for an event's {@value #TRACEPARENT} header: {@code Root=1-<8 hex>-<24 hex>;Parent=<16
     * hex>;Sampled=<0|1>}, the W3C trace id split after its first 8 digits as X-Ray's propagator does.
     *
     * @param headers an event's headers
     * @return the X-Ray header, or null when there is no {@value #TRACEPARENT} header or it is not a valid one
     */
    public static String xray(Map<String, String> headers) {
        String traceparent = headers.get(TRACEPARENT);
        if (traceparent == null || !valid(traceparent)) {
            return null;
        }
        String traceId = traceparent.substring(3, 35);
        String spanId = traceparent.substring(36, 52);
        boolean sampled = (Character.digit(traceparent.charAt(54), 16) & 1) == 1;
        return "Root=1-" + traceId.substring(0, 8) + "-" + traceId.substring(8) + ";Parent=" + spanId
                + ";Sampled=" + (sampled ? '1' : '0');
    }

    /** Version 00's layout: 2, 32, 16 and 2 lowercase hex digits joined by '-', ids not all zero. */
    static boolean valid(String traceparent) {
        if (traceparent.length() != 55 || !traceparent.startsWith("00-") || traceparent.charAt(35) != '-'
                || traceparent.charAt(52) != '-') {
            return false;
        }
        for (int i = 3; i < 55; i++) {
            char c = traceparent.charAt(i);
            if (i != 35 && i != 52 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return false;
            }
        }
        return !traceparent.startsWith("00000000000000000000000000000000", 3)
                && !traceparent.startsWith("0000000000000000", 36);
    }
}
