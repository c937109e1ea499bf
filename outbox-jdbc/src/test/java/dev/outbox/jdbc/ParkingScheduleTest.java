package dev.outbox.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class ParkingScheduleTest {

    @Test
    void theFirstClaimParksThenOneInEight() {
        ParkingSchedule schedule = new ParkingSchedule();
        List<Integer> parking = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            boolean parks = schedule.parkNow();
            if (parks) {
                parking.add(i);
            }
            schedule.claimed(10, parks);
        }
        assertEquals(List.of(0, 1, 9, 17), parking, "the first claim, then every eighth of the counted ones");
    }

    @Test
    void aClaimThatFoundNothingWithoutParkingMakesTheNextOnePark() {
        ParkingSchedule schedule = new ParkingSchedule();
        schedule.claimed(0, schedule.parkNow()); // the first parks
        boolean second = schedule.parkNow();
        schedule.claimed(0, second);
        assertTrue(second, "the counter's first turn parks");
        boolean third = schedule.parkNow();
        assertFalse(third);
        schedule.claimed(0, third); // empty, not parked
        assertTrue(schedule.parkNow(), "a walk over nothing claimable is parked by the next claim");
        schedule.claimed(0, true);
        assertFalse(schedule.parkNow(), "an empty parking claim does not make the next one park");
    }

    @Test
    void anEmptyClaimThatPassedOverNothingLeavesNothingToPark() {
        ParkingSchedule schedule = new ParkingSchedule();
        schedule.claimed(0, schedule.parkNow()); // the first parks
        schedule.claimed(0, schedule.parkNow()); // the counter's first turn
        boolean third = schedule.parkNow();
        assertFalse(third);
        schedule.claimed(0, third, false); // empty: everything ready was under other loops' leases
        assertFalse(schedule.parkNow(), "nothing was passed over, so nothing waits to be parked");
    }

    @Test
    void oneCallerSweepsOrphansAtATime() throws Exception {
        ParkingSchedule schedule = new ParkingSchedule();
        ExecutorService threads = Executors.newFixedThreadPool(8);
        try {
            List<Callable<Boolean>> calls = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                calls.add(schedule::sweepNow);
            }
            int sweeps = 0;
            for (Future<Boolean> f : threads.invokeAll(calls)) {
                sweeps += f.get() ? 1 : 0;
            }
            assertEquals(1, sweeps, "the first call sweeps, the others within the minute do not");
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    void aRelayWhoseLastClaimFoundNothingLooksForOrphansEveryFewSecondsBetweenSweeps() {
        long[] now = {0};
        ParkingSchedule schedule = new ParkingSchedule(() -> now[0]);
        assertTrue(schedule.sweepNow(), "the first claim sweeps");
        schedule.claimed(0, schedule.parkNow());
        now[0] += ParkingSchedule.IDLE_ORPHAN_LOOK.toNanos() - 1;
        assertFalse(schedule.idleOrphanLookNow(), "not before the interval");
        now[0] += 1;
        schedule.claimed(5, false);
        assertFalse(schedule.idleOrphanLookNow(), "not while claims find events");
        schedule.claimed(0, false);
        assertTrue(schedule.idleOrphanLookNow(), "idle, the interval passed");
        assertFalse(schedule.idleOrphanLookNow(), "once per interval");
        assertFalse(schedule.sweepNow(), "the idle look does not replace the minute sweep");
        now[0] += ParkingSchedule.ORPHAN_SWEEP.toNanos();
        assertTrue(schedule.sweepNow());
        now[0] += ParkingSchedule.IDLE_ORPHAN_LOOK.toNanos() - 1;
        assertFalse(schedule.idleOrphanLookNow(), "a sweep counts as a look");
    }
}
