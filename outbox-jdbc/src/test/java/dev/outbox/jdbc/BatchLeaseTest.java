package dev.outbox.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The lease's clock and renewals, on a clock the test moves, with the renewal's answers given by the test. */
class BatchLeaseTest {

    static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    static final Duration LEASE = Duration.ofSeconds(2);

    final AtomicLong now = new AtomicLong(1_000_000 * MS);
    final Renewals renewals = new Renewals();

    /** A batch whose claim was sent at the clock's current time. */
    ClaimedBatch batch(long... positions) {
        List<ClaimedBatch.Row> rows = new ArrayList<>();
        for (long p : positions) {
            rows.add(ClaimedBatch.Row.of(p, Event.of("order", "o" + p, "placed", "{}"), 1));
        }
        return new ClaimedBatch(UUID.randomUUID(), rows, now.get());
    }

    BatchLease lease(ClaimedBatch batch) {
        return new BatchLease(batch, LEASE, renewals, "r1", now::get);
    }

    void pass(long millis) {
        now.addAndGet(millis * MS);
    }

    /** A renewal that answers what the test says and remembers what it was asked. */
    static final class Renewals implements BatchLease.Renewal {
        final List<List<Long>> asked = new ArrayList<>();
        Set<Long> lose = Set.of();
        boolean fail;

        @Override
        public Set<Long> renew(UUID token, List<Long> positions, Duration lease) throws SQLException {
            asked.add(List.copyOf(positions));
            if (fail) {
                throw new SQLException("connection reset");
            }
            Set<Long> held = new HashSet<>(positions);
            held.removeAll(lose);
            return held;
        }
    }

    @Test
    void theDeadlineCountsFromWhenTheClaimWasSentNotWhenItAnswered() {
        renewals.fail = true; // no renewal can help: only the clock decides
        ClaimedBatch batch = batch(1, 2);
        pass(1500); // the claim's answer took 1.5 s
        BatchLease lease = lease(batch);
        assertEquals(500 * MS, lease.remainingNanos());
        assertFalse(lease.beforeCall(600 * MS).mayCall(), "a 600 ms call does not fit in what is left");
        assertTrue(lease.beforeCall(300 * MS).mayCall(), "a 300 ms call does");
    }

    @Test
    void nothingIsRenewedWhileMoreThanHalfTheLeaseIsLeft() {
        BatchLease lease = lease(batch(1, 2));
        pass(900);
        assertTrue(lease.beforeCall(600 * MS).mayCall());
        assertEquals(0, renewals.asked.size());
    }

    @Test
    void pastHalfTheLeaseEveryUnrecordedEventIsRenewedAndTheDeadlineMovesOn() {
        BatchLease lease = lease(batch(1, 2, 3));
        lease.recorded(List.of(2L));
        pass(1200);
        BatchLease.Check check = lease.beforeCall(600 * MS);
        assertTrue(check.mayCall());
        assertEquals(Set.of(), check.lost());
        assertEquals(List.of(List.of(1L, 3L)), renewals.asked, "recorded events need no lease");
        assertEquals(2000 * MS, lease.remainingNanos(), "a fresh 2 s from when the renewal was asked");
    }

    @Test
    void aRenewalNamesWhatWasLostAndStopsCoveringIt() {
        BatchLease lease = lease(batch(1, 2, 3));
        renewals.lose = Set.of(1L);
        pass(1200);
        BatchLease.Check check = lease.beforeCall(600 * MS);
        assertTrue(check.mayCall());
        assertEquals(Set.of(1L), check.lost());
        renewals.lose = Set.of();
        pass(1200);
        lease.beforeCall(600 * MS);
        assertEquals(List.of(2L, 3L), renewals.asked.get(1), "the lost event is not asked for again");
    }

    @Test
    void aRenewalThatHoldsNothingEndsTheBatch() {
        BatchLease lease = lease(batch(1, 2));
        renewals.lose = Set.of(1L, 2L);
        pass(1200);
        BatchLease.Check check = lease.beforeCall(10 * MS);
        assertFalse(check.mayCall(), "no call once nothing is held, however short");
        assertEquals(Set.of(1L, 2L), check.lost());
        assertTrue(lease.ended());
        assertFalse(lease.beforeCall(1).mayCall());
        assertEquals(1, renewals.asked.size(), "an ended lease is not renewed again");
    }

    @Test
    void aFailedRenewalKeepsTheOldDeadline() {
        renewals.fail = true;
        BatchLease lease = lease(batch(1));
        pass(1200);
        assertTrue(lease.beforeCall(600 * MS).mayCall(), "0.8 s left still hold a 600 ms call");
        assertFalse(lease.beforeCall(900 * MS).mayCall(), "but not a 900 ms one");
        assertFalse(lease.ended());
        assertEquals(2, renewals.asked.size(), "each check past half the lease tries again");
    }

    @Test
    void aLeaseThatRanOutIsRenewedIfNobodyTookItsEvents() {
        // A call overran the lease; the token is still in place, so the events are still this batch's.
        BatchLease lease = lease(batch(1, 2));
        pass(2500);
        BatchLease.Check check = lease.beforeCall(600 * MS);
        assertTrue(check.mayCall());
        assertEquals(Set.of(), check.lost());
    }
}
