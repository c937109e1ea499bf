package dev.outbox.spi;

import dev.outbox.InvalidConfigurationException;
import java.time.Duration;

/**
 * When one {@link Publisher#publish} call must be over, on this JVM's monotonic clock: a publisher that makes several
 * broker calls for one {@code publish} gives each the time that is left and sends nothing once too little is left,
 * so the whole call keeps to the {@link CallLimits#callTimeout()} it declared. Immutable.
 */
public final class Deadline {

    /** No deadline: {@link #remaining()} is always {@link #NEVER}. */
    public static final Deadline NONE = new Deadline(Long.MAX_VALUE, true);

    /** What {@link #remaining()} answers for {@link #NONE}. */
    public static final Duration NEVER = Duration.ofNanos(Long.MAX_VALUE);

    private final long atNanos;
    private final boolean none;

    private Deadline(long atNanos, boolean none) {
        this.atNanos = atNanos;
        this.none = none;
    }

    /**
     * @param timeout how long from now; null for {@link #NONE}
     * @return the deadline {@code timeout} from now
     * @throws InvalidConfigurationException for a negative timeout
     */
    public static Deadline in(Duration timeout) {
        if (timeout == null) {
            return NONE;
        }
        if (timeout.isNegative()) {
            throw new InvalidConfigurationException("timeout must not be negative, was " + timeout);
        }
        return new Deadline(System.nanoTime() + timeout.toNanos(), false);
    }

    /** @return the time left, zero once passed; {@link #NEVER} for {@link #NONE} */
    public Duration remaining() {
        if (none) {
            return NEVER;
        }
        return Duration.ofNanos(Math.max(0, atNanos - System.nanoTime()));
    }

    /**
     * @param needed the least time a broker call needs to be worth starting
     * @return true when at least {@code needed} is left
     */
    public boolean allows(Duration needed) {
        return none || atNanos - System.nanoTime() >= needed.toNanos();
    }

    /** @return true for {@link #NONE} */
    public boolean isNone() {
        return none;
    }

    @Override
    public String toString() {
        return none ? "no deadline" : remaining().toMillis() + " ms left";
    }
}
