package dev.outbox.jdbc;

import java.time.Duration;

/**
 * A snapshot of the outbox's unpublished events, from {@link OutboxOperations#stats()}.
 *
 * @param pending waiting to be claimed, now or after a retry delay
 * @param inFlight claimed under a live lease, being published
 * @param dead given up on; each holds back later events of its aggregate in ordered mode
 * @param oldestPendingAge how long the longest-waiting event that is due has waited (a delayed event counting from when
 *        it is due); {@link Duration#ZERO} when none is due
 * @param exact false when a count passed {@link OutboxOperations#EXACT_COUNT_LIMIT} and is an estimate (see
 *        {@link OutboxOperations#stats()})
 */
public record OutboxStats(long pending, long inFlight, long dead, Duration oldestPendingAge, boolean exact) {
}
