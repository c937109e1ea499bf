package dev.outbox.jdbc;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One batch's lease, the only clock its delivery goes by. The database wrote the lease's end as its own time at the
 * claim plus the lease; this maps that end onto the relay's monotonic clock from a time taken <em>before</em> the
 * claim was sent, so the relay's deadline never falls after the database's, however long the claim took to answer.
 *
 * <p>Before every publisher call the relay asks {@link #beforeCall}: once less than half of the lease is left, the
 * lease of every event not yet recorded is renewed; the call may start only if its whole bound fits before the
 * deadline. A renewal names the events another relay took meanwhile, so that the caller can drop their aggregates;
 * a renewal that holds nothing ends the batch.
 */
final class BatchLease {

    /** Extends the lease of claimed rows; returns the positions still held under the token. */
    interface Renewal {
        Set<Long> renew(UUID token, List<Long> positions, Duration lease) throws SQLException;
    }

    /**
     * What a check before a call found.
     *
     * @param mayCall whether a call bounded as asked ends before the lease does
     * @param lost positions a renewal found taken by another relay (or gone); empty when nothing was lost
     */
    record Check(boolean mayCall, Set<Long> lost) {
    }

    private static final Logger log = LoggerFactory.getLogger(BatchLease.class);

    private final UUID token;
    private final Duration lease;
    private final long leaseNanos;
    private final Renewal renewal;
    private final String ownerId;
    private final LongSupplier clock;
    /** Positions whose outcome is not recorded yet: the rows the lease must keep covering. */
    private final Set<Long> covered = new LinkedHashSet<>();
    private long deadline;
    private boolean ended;

    BatchLease(ClaimedBatch batch, Duration lease, Renewal renewal, String ownerId) {
        this(batch, lease, renewal, ownerId, System::nanoTime);
    }

    /** @param clock the monotonic clock the batch's claim time was taken from, in nanoseconds */
    BatchLease(ClaimedBatch batch, Duration lease, Renewal renewal, String ownerId, LongSupplier clock) {
        this.clock = clock;
        this.token = batch.leaseToken();
        this.lease = lease;
        this.leaseNanos = lease.toNanos();
        this.renewal = renewal;
        this.ownerId = ownerId;
        this.deadline = batch.claimedAtNanos() + leaseNanos;
        batch.rows().forEach(r -> covered.add(r.position()));
    }

    /**
     * Renews the lease if less than half of it is left, then says whether a call bounded by {@code boundNanos} may
     * start now.
     *
     * @param boundNanos the longest the call may take
     */
    Check beforeCall(long boundNanos) {
        if (ended) {
            return new Check(false, Set.of());
        }
        Set<Long> lost = remainingNanos() < leaseNanos / 2 ? renew() : Set.of();
        return new Check(!ended && remainingNanos() >= boundNanos, lost);
    }

    private Set<Long> renew() {
        List<Long> positions = new ArrayList<>(covered);
        long asked = clock.getAsLong();
        Set<Long> held;
        try {
            held = renewal.renew(token, positions, lease);
        } catch (SQLException e) {
            log.warn("relay {}: renewing the lease of {} events failed; the batch goes on only while its lease lasts:"
                    + " {}", ownerId, positions.size(), e.getMessage());
            return Set.of();
        }
        Set<Long> lost = new HashSet<>(positions);
        lost.removeAll(held);
        covered.retainAll(held);
        if (held.isEmpty()) {
            ended = true;
            log.warn("relay {}: all {} unrecorded events of a batch lost their lease; the batch ends and leaves them"
                    + " to their new owner", ownerId, positions.size());
            return lost;
        }
        deadline = asked + leaseNanos;
        if (!lost.isEmpty()) {
            log.warn("relay {}: {} of {} unrecorded events lost their lease mid-batch; their aggregates leave the batch",
                    ownerId, lost.size(), positions.size());
        } else {
            log.debug("relay {}: renewed the lease of {} unrecorded events", ownerId, held.size());
        }
        return lost;
    }

    /** The outcomes of {@code positions} were written (or found lost): the lease no longer needs to cover them. */
    void recorded(Collection<Long> positions) {
        covered.removeAll(positions);
    }

    /** @return true once a renewal found that the batch holds nothing any more */
    boolean ended() {
        return ended;
    }

    /** @return the time left before the deadline, negative once it has passed */
    long remainingNanos() {
        return deadline - clock.getAsLong();
    }

    UUID token() {
        return token;
    }
}
