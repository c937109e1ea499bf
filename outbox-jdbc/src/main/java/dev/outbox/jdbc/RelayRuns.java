package dev.outbox.jdbc;

import java.time.Duration;

/**
 * How a relay's passes ({@link JdbcRelay#runOnce()}, from its loops, a drain or the host's own scheduler) have fared,
 * for a health check of a relay that is not started, such as one a scheduled function drives.
 *
 * @param runs passes made since the relay was built
 * @param sinceLastSuccess time since a pass last succeeded, or since the relay was built when none has
 * @param sinceLastRun time since a pass last ended, or since the relay was built when none has
 * @param consecutiveFailures passes failed in a row; 0 after one that succeeded
 * @param lastFailure what the last pass threw, when it failed; else null
 */
public record RelayRuns(long runs, Duration sinceLastSuccess, Duration sinceLastRun, int consecutiveFailures,
                        Throwable lastFailure) {
}
