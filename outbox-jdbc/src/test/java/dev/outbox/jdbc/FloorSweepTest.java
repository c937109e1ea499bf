package dev.outbox.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The walk below the floor, slice by slice, without a database. */
class FloorSweepTest {

    private static final long TARGET = 2_000_000;
    private final FloorSweep sweep = new FloorSweep(TARGET);

    @Test
    void nothingRunsBeforeAWalkBegins() {
        assertFalse(sweep.walking());
        assertNull(sweep.next(10_000));
    }

    @Test
    void aWalkCoversEveryPositionBelowTheFloorOnceInAdjacentSlices() {
        sweep.begin();
        List<FloorSweep.Slice> slices = new ArrayList<>();
        for (FloorSweep.Slice s = sweep.next(5_000); s != null; s = sweep.next(5_000)) {
            slices.add(s);
            sweep.took(TARGET); // neither cheap nor dear: the span stays
        }
        assertEquals(new FloorSweep.Slice(0, 1024), slices.get(0));
        for (int i = 1; i < slices.size(); i++) {
            assertEquals(slices.get(i - 1).to(), slices.get(i).from(), "adjacent: " + slices);
        }
        assertEquals(5_000, slices.get(slices.size() - 1).to(), "the last slice ends at the floor");
        assertEquals(5, slices.size());
        assertFalse(sweep.walking(), "the walk ended with the slice that reached the floor");
        assertNull(sweep.next(5_000));
    }

    @Test
    void cheapSlicesDoubleTheSpanAndDearOnesHalveItDownToTheLeast() {
        sweep.begin();
        sweep.next(1_000_000_000);
        sweep.took(TARGET / 4);
        assertEquals(2048, sweep.span());
        assertEquals(new FloorSweep.Slice(1024, 3072), sweep.next(1_000_000_000));
        sweep.took(TARGET * 3);
        assertEquals(1024, sweep.span());
        for (int i = 0; i < 20; i++) {
            sweep.took(TARGET * 10);
        }
        assertEquals(FloorSweep.MIN_SPAN, sweep.span());
    }

    @Test
    void anEmptyStretchIsCrossedInAFewSlices() {
        sweep.begin();
        int slices = 0;
        for (FloorSweep.Slice s = sweep.next(1L << 40); s != null; s = sweep.next(1L << 40)) {
            slices++;
            sweep.took(1_000); // no entries there: each slice costs a descent of the index
        }
        assertTrue(slices <= 32, slices + " slices");
    }

    @Test
    void theSpanNeverOverflows() {
        sweep.begin();
        for (int i = 0; i < 80; i++) {
            sweep.took(0);
        }
        assertEquals(Long.MAX_VALUE, sweep.span());
        assertEquals(new FloorSweep.Slice(0, Long.MAX_VALUE - 1), sweep.next(Long.MAX_VALUE - 1));
    }

    @Test
    void aFloorThatFellBelowTheWalkEndsIt() {
        sweep.begin();
        assertEquals(new FloorSweep.Slice(0, 1024), sweep.next(100_000));
        sweep.took(TARGET);
        assertNull(sweep.next(500), "the floor fell to 500: the claims walk from there, past where the walk was");
        assertFalse(sweep.walking());
    }

    @Test
    void aWalkUnderWayGoesOnWhenTheNextBegins() {
        sweep.begin();
        sweep.next(100_000);
        sweep.took(TARGET);
        sweep.begin();
        assertEquals(new FloorSweep.Slice(1024, 2048), sweep.next(100_000), "not back to the first position");
    }

    @Test
    void slicesHandedToLoopsAtOnceDoNotOverlap() throws Exception {
        sweep.begin();
        List<FloorSweep.Slice> slices = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread[] loops = new Thread[4];
        for (int t = 0; t < loops.length; t++) {
            loops[t] = new Thread(() -> {
                for (FloorSweep.Slice s = sweep.next(200_000); s != null; s = sweep.next(200_000)) {
                    slices.add(s);
                    sweep.took(TARGET);
                }
            });
            loops[t].start();
        }
        for (Thread loop : loops) {
            loop.join(10_000);
        }
        long covered = slices.stream().mapToLong(s -> s.to() - s.from()).sum();
        assertEquals(200_000, covered, "every position once");
        assertEquals(200_000, slices.stream().mapToLong(FloorSweep.Slice::to).max().orElseThrow());
    }

    @Test
    void aTargetOfNothingIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new FloorSweep(0));
    }
}
