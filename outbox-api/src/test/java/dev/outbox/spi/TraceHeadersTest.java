package dev.outbox.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Map;
import org.junit.jupiter.api.Test;

class TraceHeadersTest {

    @Test
    void aW3cTraceparentBecomesAnXrayHeader() {
        assertEquals("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                TraceHeaders.xray(Map.of("traceparent", "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01")));
        assertEquals("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                TraceHeaders.xray(Map.of("traceparent", "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-03")),
                "the random flag (level 2) does not matter; the sampled bit does");
        assertEquals("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
                TraceHeaders.xray(Map.of("traceparent", "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00")));
    }

    @Test
    void anythingElseHasNone() {
        assertNull(TraceHeaders.xray(Map.of()));
        assertNull(TraceHeaders.xray(Map.of("traceparent", "")));
        assertNull(TraceHeaders.xray(Map.of("traceparent", "01-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01")),
                "an unknown version");
        assertNull(TraceHeaders.xray(Map.of("traceparent", "00-5759E988BD862E3FE1BE46A994272793-53995c3f42cd8ad8-01")),
                "uppercase hex");
        assertNull(TraceHeaders.xray(Map.of("traceparent", "00-00000000000000000000000000000000-53995c3f42cd8ad8-01")),
                "an all-zero trace id");
        assertNull(TraceHeaders.xray(Map.of("traceparent", "00-5759e988bd862e3fe1be46a994272793-0000000000000000-01")),
                "an all-zero span id");
        assertNull(TraceHeaders.xray(Map.of("traceparent", "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-0g")));
    }
}
