package dev.outbox.jdbc;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The outcomes of one batch: each event's, once decided, and which are written. Every claimed row ends with exactly
 * one: a row that no call settled is given back unattempted by {@link #releaseRest()}.
 */
final class BatchOutcomes {

    private final ClaimedBatch batch;
    private final BatchLease lease;
    private final OutcomeRecorder recorder;
    private final List<Settlement> all = new ArrayList<>();
    private final Set<Long> settled = new HashSet<>();
    private List<Settlement> unrecorded = new ArrayList<>();
    private final Set<Long> recorded = new HashSet<>();
    /** Events that publishing released from behind the published ones: they are ready now. */
    private final AtomicInteger releasedHeld = new AtomicInteger();

    BatchOutcomes(ClaimedBatch batch, BatchLease lease, OutcomeRecorder recorder) {
        this.batch = batch;
        this.lease = lease;
        this.recorder = recorder;
    }

    void add(Settlement settlement) {
        if (settled.add(settlement.row().position())) {
            all.add(settlement);
            unrecorded.add(settlement);
        }
    }

    void addAll(List<Settlement> settlements) {
        settlements.forEach(this::add);
    }

    /** Gives back unattempted, due at once, every row of the batch without an outcome. */
    void releaseRest() {
        for (ClaimedBatch.Row row : batch.rows()) {
            if (!settled.contains(row.position())) {
                add(new Settlement(row, Settlement.Kind.RELEASED, 0, null));
            }
        }
    }

    /**
     * Writes every outcome decided since the last write.
     *
     * @return the positions it could not write, because another relay took their lease
     * @throws dev.outbox.OutboxException when the outcomes could not be written
     */
    Set<Long> record() {
        if (unrecorded.isEmpty()) {
            return Set.of();
        }
        List<Settlement> writing = unrecorded;
        unrecorded = new ArrayList<>();
        Set<Long> written = recorder.record(lease.token(), writing, releasedHeld);
        recorded.addAll(written);
        Set<Long> lost = new HashSet<>();
        List<Long> positions = new ArrayList<>(writing.size());
        for (Settlement s : writing) {
            positions.add(s.row().position());
            if (!written.contains(s.row().position())) {
                lost.add(s.row().position());
            }
        }
        lease.recorded(positions);
        return lost;
    }

    List<Settlement> all() {
        return all;
    }

    Set<Long> recorded() {
        return recorded;
    }

    /** @return how many events went back unattempted */
    int released() {
        return (int) all.stream().filter(s -> s.kind() == Settlement.Kind.RELEASED).count();
    }

    int releasedHeld() {
        return releasedHeld.get();
    }
}
