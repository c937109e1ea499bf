package dev.outbox.jdbc;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Where a PostgreSQL relay's claims start their walk of the ready index: the floor, a position below which no event is
 * ready or can become ready without the relay hearing of it. Claims walk from the floor, not from the first position,
 * so they never step over the index entries that published events leave behind until vacuum removes them; while a
 * long transaction elsewhere holds the database's horizon, vacuum cannot, and a walk from the start would grow with
 * every event published meanwhile.
 *
 * <p>The floor rises in three steps, each learnt from a sighting (the first ready position at or above the floor, the
 * highest position and the transactions writing the table, read in one statement before a claim):
 * <ol>
 * <li>a candidate: the first ready position seen, or the position after the highest one when nothing is ready. Every
 *     event below it was published, dead or parked at that sighting, or belongs to a transaction that had drawn a
 *     position or a re-entry and not ended: drawing locks the sequence until the transaction ends, and the lock is
 *     taken before the draw, so every such transaction was among the writers seen.</li>
 * <li>confirmed by a sighting that began after the candidate was taken and sees none of its writers any more: their
 *     events are all visible now, or rolled back.</li>
 * <li>taken by a sighting that began after the confirmation: the floor becomes the lower of the candidate and that
 *     sighting's first ready position, which sees the late writers' events, if ready, since its walk starts at the old
 *     floor.</li>
 * </ol>
 * A transaction that appends and stays open holds the floor where it was until it ends, as it must.
 *
 * <p>Events become ready again below the floor when they are unparked, released or requeued. Those this relay makes
 * ready lower its floor at once ({@link #reentered}, and a sighting's own unparked events). Every statement that makes
 * events ready again draws from the table's re-entry sequence and logs the draw with the lowest position it made
 * ready, in its own transaction; a sighting lowers the floor to the positions logged by draws this relay did not make
 * ({@link ReentryAccount}, which also waits for the rows of draws whose statements have not committed yet, and reads
 * each one only once). When more draws went by than it reads one by one, the floor goes back to the first position,
 * from where it rises again as above: the drawing transactions are among the writers of the sightings after, so the
 * floor does not rise past the events they made ready before they are visible. Events made ready by statements that
 * drew nothing are found by {@link FloorSweep}'s walk below the floor, which lowers it ({@link #foundReady}).
 *
 * <p>Safe for the relay's loops to share: every method is synchronized and short.
 */
final class ClaimFloor {

    /** No position: nothing ready, or an empty table. */
    static final long NONE = -1;

    /**
     * What a sighting was taken against.
     *
     * @param from the floor its walk started at
     * @param at when it began, in this floor's own count of events
     * @param seen the re-entry count taken into account when it began ({@link #seen()}): the sighting reads the
     *        re-entry log's rows past it
     */
    record Start(long from, long at, long seen) {
    }

    /**
     * One statement's view of the table, read after its snapshot was taken.
     *
     * @param firstReady the first ready position at or above the start's floor, or {@link #NONE}
     * @param lastPosition the highest position, or {@link #NONE}
     * @param writers the transactions (virtual ids) that drew positions or re-entries and had not ended, the sighting's
     *        own excluded
     * @param unparked the lowest position the sighting's own statement made ready again, or {@link #NONE}
     * @param drawn what that statement drew from the re-entry sequence, or {@link #NONE}
     * @param reentries the re-entry sequence's last value, 0 before its first draw
     * @param logged the rows of the re-entry log past its start's {@code seen} that the sighting sees (at most
     *        {@link ReentryAccount#MAX_UNACCOUNTED} of them): draw, then the lowest position its statement made ready
     */
    record Sighting(long firstReady, long lastPosition, Set<String> writers, long unparked, long drawn,
                    long reentries, Map<Long, Long> logged) {
    }

    private record Candidate(long position, Set<String> writers, long takenAt, long confirmedAt) {
        Candidate lowered(long to) {
            return new Candidate(Math.min(position, to), writers, takenAt, confirmedAt);
        }
    }

    private long floor;
    private long count;
    private long loweredAt;
    private Candidate candidate;
    private final ReentryAccount reentries = new ReentryAccount();
    private long resets;

    /**
     * @return the floor the next claim walks from, unless the re-entry log holds a lower position for a draw not taken
     *         in yet ({@link #unread})
     */
    synchronized long from() {
        return floor;
    }

    /**
     * @return how often the floor went back to the first position because more re-entries went by than a sighting
     *         reads one by one ({@link ReentryAccount#MAX_UNACCOUNTED})
     */
    synchronized long resets() {
        return resets;
    }

    /** @return the start of a sighting about to be sent */
    synchronized Start start() {
        return new Start(floor, ++count, seen());
    }

    /**
     * Says that a walk below the floor ({@link FloorSweep}) found a ready event there, made ready again by a statement
     * that drew nothing (a hand-written update, a relay of an earlier version): the floor goes down to it. The claims
     * go on walking from the floor, which does not have to rise again when there is none.
     *
     * @param position the ready event's position
     */
    synchronized void foundReady(long position) {
        lower(position);
    }

    /** Sends the floor to the first position and drops the candidate; sightings sent before count for nothing. */
    private void toStart() {
        floor = 0;
        candidate = null;
        loweredAt = ++count;
    }

    /** @return the re-entry count up to which every draw is settled: sightings read the log's rows past it */
    synchronized long seen() {
        return reentries.seen();
    }

    /**
     * @return what a claim reads the re-entry log for: the highest draw a sighting has taken in, then the draws that
     *         wait for their row ({@link ReentryAccount#unread}). Read it before {@link #from}: a sighting taken in
     *         between lowers the floor for what it settles, so the pair errs only low
     */
    synchronized Long[] unread() {
        return reentries.unread();
    }

    /** Takes in what a sighting saw. */
    synchronized void sighted(Start start, Sighting seen) {
        if (seen.drawn() != NONE) {
            reentries.own(seen.drawn());
        }
        ReentryAccount.Outcome reentered = reentries.sighted(start.at(), start.seen(), ++count, seen.reentries(),
                seen.logged(), seen.writers());
        if (reentered.overflow()) {
            resets++;
            toStart();
            return;
        }
        if (reentered.lowest() != NONE) {
            lower(reentered.lowest()); // the events another relay made ready there are visible, as is its row
        }
        long firstReady = min(seen.firstReady(), seen.unparked());
        // A lowering since the sighting began lowered the candidate too, so the sighting may still confirm or take
        // it (the floor becomes no higher than the candidate); it may not take a new one, having walked from above.
        if (candidate != null && candidate.confirmedAt() != 0 && start.at() > candidate.confirmedAt()) {
            floor = Math.max(floor, min(candidate.position(), firstReady));
            candidate = null;
        } else if (candidate != null && candidate.confirmedAt() == 0 && start.at() > candidate.takenAt()
                && disjoint(candidate.writers(), seen.writers())) {
            candidate = new Candidate(candidate.position(), candidate.writers(), candidate.takenAt(), ++count);
        }
        if (candidate == null && start.at() > loweredAt) {
            long position = firstReady != NONE ? firstReady
                    : seen.lastPosition() != NONE ? seen.lastPosition() + 1 : start.from();
            candidate = new Candidate(Math.max(position, start.from()), Set.copyOf(seen.writers()), ++count, 0);
        }
        if (seen.unparked() != NONE) {
            lower(seen.unparked());
        }
    }

    /**
     * Says that a statement of this relay, now committed, made events ready again.
     *
     * @param lowest the lowest position among them
     * @param drawn what it drew from the re-entry sequence, or {@link #NONE}
     */
    synchronized void reentered(long lowest, long drawn) {
        if (drawn != NONE) {
            reentries.own(drawn);
        }
        lower(lowest);
    }

    private void lower(long to) {
        boolean changed = false;
        if (to < floor) {
            floor = to;
            changed = true;
        }
        if (candidate != null && to < candidate.position()) {
            candidate = candidate.lowered(to);
            changed = true;
        }
        if (changed) {
            loweredAt = ++count;
        }
    }

    private static long min(long a, long b) {
        return a == NONE ? b : b == NONE ? a : Math.min(a, b);
    }

    private static boolean disjoint(Set<String> a, Set<String> b) {
        for (String s : a) {
            if (b.contains(s)) {
                return false;
            }
        }
        return true;
    }

    /** @return the writers of a sighting, from the array PostgreSQL returns */
    static Set<String> writers(Object[] virtualIds) {
        return virtualIds == null ? Set.of() : new HashSet<>(Arrays.asList(Arrays.copyOf(virtualIds, virtualIds.length,
                String[].class)));
    }
}
