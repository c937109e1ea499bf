package dev.outbox;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Generates version 7 UUIDs (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit counter that keeps ids
 * from one JVM strictly increasing within a millisecond, then 62 random bits.
 *
 * <p>Time-ordered ids keep the outbox's unique index append-mostly, and sort roughly by creation time
 * across processes. They are identifiers, not secrets.
 */
public final class TimeOrderedUuid {

    /** Last (millis << 12 | counter) handed out, so ids never go backwards inside this JVM. */
    private static final AtomicLong LAST = new AtomicLong();

    private TimeOrderedUuid() {
    }

    /** @return a new version 7 UUID, greater than every one this JVM generated before */
    public static UUID next() {
        long now = System.currentTimeMillis() << 12;
        long stamp = LAST.updateAndGet(last -> Math.max(now, last + 1));
        long millis = stamp >>> 12;
        long counter = stamp & 0xFFF;
        long msb = (millis << 16) | 0x7000L | counter;
        long lsb = (ThreadLocalRandom.current().nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
        return new UUID(msb, lsb);
    }
}
