package dev.outbox.jdbc;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * When a relay's claim also parks what it walked past and could not take, and when the relay looks for events left
 * parked with nothing holding them back. Parking walks the claim's stretch a second time: once in {@value #PARK_EVERY}
 * claims bounds that to an eighth of the walk, and a stretch of held events is parked within eight claims of
 * appearing; after a claim that found nothing without parking, though it walked over events no relay held, the next
 * one parks, so that a walk over nothing claimable is paid once. Safe for the relay's loops to share.
 */
final class ParkingSchedule {

    /** How often a claim also parks. */
    static final int PARK_EVERY = 8;

    /**
     * How often a relay looks for stranded events: parked behind an earlier event of their aggregate, with none left
     * unpublished to release them. A safety net: publishing, requeueing and discarding release what a claim parks
     * beside them ({@link RelayStore#orphansReleased}).
     */
    static final Duration ORPHAN_SWEEP = Duration.ofMinutes(1);

    /**
     * How often a relay whose last claim found nothing looks for such events: a stranded aggregate waits for this,
     * not for {@link #ORPHAN_SWEEP}, once the relay has caught up with everything else.
     */
    static final Duration IDLE_ORPHAN_LOOK = Duration.ofSeconds(5);

    private final AtomicLong claims = new AtomicLong();
    private volatile boolean parkNext = true;
    private volatile boolean idle;
    private final LongSupplier clock;
    private final AtomicLong lastSweep;
    private final AtomicLong lastOrphanLook;

    ParkingSchedule() {
        this(System::nanoTime);
    }

    /** @param clock nanoseconds, as {@link System#nanoTime()} */
    ParkingSchedule(LongSupplier clock) {
        this.clock = clock;
        long now = clock.getAsLong();
        lastSweep = new AtomicLong(now - ORPHAN_SWEEP.toNanos());
        lastOrphanLook = new AtomicLong(now);
    }

    /** @return whether the claim about to run parks; the first one does */
    boolean parkNow() {
        return parkNext || claims.getAndIncrement() % PARK_EVERY == 0;
    }

    /**
     * Says how a claim went.
     *
     * @param size the events it claimed
     * @param parked whether it parked
     */
    void claimed(int size, boolean parked) {
        claimed(size, parked, true);
    }

    /**
     * Says how a claim went.
     *
     * @param size the events it claimed
     * @param parked whether it parked
     * @param passedOver whether it walked over events no other relay held, so that an empty claim passed over
     *        something it could not take; an empty claim that found only events under others' leases, or nothing,
     *        leaves nothing to park
     */
    void claimed(int size, boolean parked, boolean passedOver) {
        parkNext = size == 0 && !parked && passedOver;
        idle = size == 0;
    }

    /** Makes the next claim sweep, whenever the last sweep was. */
    void sweepNext() {
        lastSweep.set(clock.getAsLong() - ORPHAN_SWEEP.toNanos());
    }

    /** @return whether this call, alone among concurrent ones, sweeps orphans now: once per {@link #ORPHAN_SWEEP} */
    boolean sweepNow() {
        long now = clock.getAsLong();
        long last = lastSweep.get();
        if (now - last >= ORPHAN_SWEEP.toNanos() && lastSweep.compareAndSet(last, now)) {
            lastOrphanLook.set(now);
            return true;
        }
        return false;
    }

    /**
     * @return whether this call, alone among concurrent ones, looks for orphans now though no sweep is due: the last
     *         claim found nothing, and the last look was {@link #IDLE_ORPHAN_LOOK} ago or more
     */
    boolean idleOrphanLookNow() {
        if (!idle) {
            return false;
        }
        long now = clock.getAsLong();
        long last = lastOrphanLook.get();
        return now - last >= IDLE_ORPHAN_LOOK.toNanos() && lastOrphanLook.compareAndSet(last, now);
    }
}
