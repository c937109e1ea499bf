package dev.outbox.jdbc;

import java.time.Duration;

/**
 * A snapshot of the outbox's unpublished events, from {@link OutboxOperations#stats()}.
 *
 * @param pending waiting to be claimed, now or after a retry delay
 * @param inFlight claimed under a live lease, being published
 * @param dead given up on; each holds back later events of its aggregate in ordered mode
 * @param oldestPendingAge age of the oldest event not yet published and not dead; {@link Duration#ZERO} when none
 * @param exact false when a count passed {@link OutboxOperations#EXACT_COUNT_LIMIT} and is PostgreSQL's estimate
 */
public record OutboxStats(long pending, long inFlight, long dead, Duration oldestPendingAge, boolean exact) {
}
