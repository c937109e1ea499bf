package dev.outbox.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.time.OffsetDateTime;
import org.junit.jupiter.api.Test;

/** Where repeated walks by time start, without a database. */
class WalkStartTest {

    private static final OffsetDateTime T = OffsetDateTime.parse("2026-01-01T12:00:00Z");

    @Test
    void walksFromTheEarliestTimeUntilAWalkReportsThenFromAMarginBeforeWhatItReached() {
        WalkStart walk = new WalkStart(Duration.ofSeconds(5), Duration.ofHours(1));
        assertEquals(WalkStart.EARLIEST, walk.from());
        assertEquals(WalkStart.EARLIEST, walk.from(), "nothing reached yet");
        walk.reached(T);
        assertEquals(T.minusSeconds(5), walk.from());
        walk.reached(T.minusSeconds(30)); // an earlier time moves nothing
        assertEquals(T.minusSeconds(5), walk.from());
        walk.reached(null);
        assertEquals(T.minusSeconds(5), walk.from());
    }

    @Test
    void onceAnIntervalOneWalkStartsFromTheEarliestTimeAndTheOthersMeanwhileFromTheMargin() throws Exception {
        WalkStart walk = new WalkStart(Duration.ofSeconds(5), Duration.ofMillis(200));
        assertEquals(WalkStart.EARLIEST, walk.from());
        walk.reached(T);
        Thread.sleep(250);
        assertEquals(WalkStart.EARLIEST, walk.from(), "the interval's full walk");
        assertEquals(T.minusSeconds(5), walk.from(), "asked while the full walk runs: from the margin, not again from"
                + " the earliest time");
        walk.reached(T.plusSeconds(1)); // the full walk ends
        assertEquals(T.minusSeconds(4), walk.from());
    }
}
