package dev.outbox.jdbc;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a PostgreSQL relay has taken into account of the table's re-entries, for its floor ({@link ClaimFloor}). Every
 * statement that makes events ready again draws from the table's re-entry sequence and logs the draw with the lowest
 * position it made ready, in its own transaction. A sighting reads the sequence's last value and the log's rows past
 * what has been accounted for; each draw since is then
 * <ul>
 * <li>this relay's own (its statement lowered the floor itself),</li>
 * <li>logged, and the floor goes down to the logged position: the row and the events it made ready became visible
 *     together,</li>
 * <li>or not logged yet: its statement has not committed (its events are not visible either), or rolled back. The
 *     draw waits, and each sighting reads its row again. Once a sighting sees none of the transactions that were
 *     writing when the draw was first seen without a row, every one of them has ended; a sighting that began after
 *     that one and still sees no row shows the draw rolled back, having made nothing ready.</li>
 * </ul>
 * The count accounted for moves past every draw that is settled so, and stops below the first that waits, so that the
 * log's rows are read from there. More than {@link #MAX_UNACCOUNTED} draws past it are not read one by one: the floor
 * then goes back to the first position, as it does without a log.
 *
 * <p>Not safe to share: {@link ClaimFloor} calls it under its own lock.
 */
final class ReentryAccount {

    /** The most draws past the count accounted for that a sighting or a claim reads from the log. */
    static final int MAX_UNACCOUNTED = 1000;

    /**
     * What a sighting's re-entries ask of the floor.
     *
     * @param lowest the lowest position logged by the draws it settled, or {@link ClaimFloor#NONE}
     * @param overflow whether more draws went by than are read one by one: the floor goes to the first position
     */
    record Outcome(long lowest, boolean overflow) {
    }

    private record Unlogged(Set<String> writers, long seenAt, long clearedAt) {
    }

    private long accounted = ClaimFloor.NONE;
    /** The highest draw a sighting has taken in: each one up to it is settled, this relay's own, or waits. */
    private long known = ClaimFloor.NONE;
    /** Draws past the count accounted for that a sighting settled: logged, or rolled back. */
    private final TreeSet<Long> settled = new TreeSet<>();
    private final TreeSet<Long> own = new TreeSet<>();
    private final TreeMap<Long, Unlogged> unlogged = new TreeMap<>();

    /** @return the count up to which every draw is settled: sightings and claims read the log's rows past it */
    long seen() {
        return Math.max(accounted, 0);
    }

    /**
     * @return what a claim reads the log for: the highest draw a sighting has taken in (or {@link #seen()}, if higher),
     *         then the draws that wait for their row
     */
    Long[] unread() {
        Long[] unread = new Long[1 + unlogged.size()];
        unread[0] = Math.max(known, seen());
        int i = 1;
        for (Long draw : unlogged.keySet()) {
            unread[i++] = draw;
        }
        return unread;
    }

    /** @return how many draws wait for their row */
    int waiting() {
        return unlogged.size();
    }

    /**
     * Says that a statement of this relay, now committed, drew {@code drawn}.
     *
     * @param drawn the draw
     */
    void own(long drawn) {
        own.add(drawn);
        unlogged.remove(drawn);
        advance();
    }

    /**
     * Takes in a sighting's re-entries.
     *
     * @param startAt when the sighting began, in the floor's count
     * @param startSeen {@link #seen()} when it began: the log was read past it
     * @param now the floor's count now, after {@code startAt}
     * @param reentries the sequence's last value
     * @param logged the log's rows past {@code startSeen} that the sighting sees: draw, then lowest position
     * @param writers the transactions that drew positions or re-entries and had not ended at the sighting
     */
    Outcome sighted(long startAt, long startSeen, long now, long reentries, Map<Long, Long> logged,
                    Set<String> writers) {
        if (accounted == ClaimFloor.NONE) { // the first sighting only learns where the sequence stands
            accounted = reentries;
            known = reentries;
            own.headSet(reentries, true).clear();
            return new Outcome(ClaimFloor.NONE, false);
        }
        if (reentries - accounted > MAX_UNACCOUNTED) {
            accounted = reentries;
            known = reentries;
            own.headSet(reentries, true).clear();
            settled.clear();
            unlogged.clear();
            return new Outcome(ClaimFloor.NONE, true);
        }
        long lowest = ClaimFloor.NONE;
        long upTo = Math.min(reentries, startSeen + MAX_UNACCOUNTED); // the rows the sighting read
        for (long draw = accounted + 1; draw <= upTo; draw++) {
            if (own.contains(draw) || settled.contains(draw)) {
                continue;
            }
            Long position = logged.get(draw);
            if (position != null) {
                lowest = lowest == ClaimFloor.NONE ? position : Math.min(lowest, position);
                unlogged.remove(draw);
                settled.add(draw);
                continue;
            }
            Unlogged waiting = unlogged.get(draw);
            if (waiting == null) {
                unlogged.put(draw, new Unlogged(Set.copyOf(writers), startAt, 0));
            } else if (waiting.clearedAt() == 0) {
                if (startAt > waiting.seenAt() && disjoint(waiting.writers(), writers)) {
                    unlogged.put(draw, new Unlogged(waiting.writers(), waiting.seenAt(), now));
                }
            } else if (startAt > waiting.clearedAt()) {
                unlogged.remove(draw); // rolled back: it made nothing ready
                settled.add(draw);
            }
        }
        known = Math.max(known, upTo);
        advance();
        return new Outcome(lowest, false);
    }

    /**
     * Moves the count accounted for past the draws that are settled: those a sighting took in that do not wait, and
     * this relay's own; it stops below the first that waits.
     */
    private void advance() {
        if (accounted == ClaimFloor.NONE) {
            return;
        }
        while (true) {
            long next = accounted + 1;
            if (own.contains(next) || settled.contains(next)) {
                accounted = next;
            } else {
                break;
            }
        }
        own.headSet(accounted, true).clear();
        settled.headSet(accounted, true).clear();
    }

    private static boolean disjoint(Set<String> a, Set<String> b) {
        for (String s : a) {
            if (b.contains(s)) {
                return false;
            }
        }
        return true;
    }
}
