package dev.outbox.jdbc;

import static dev.outbox.jdbc.ClaimFloor.NONE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The floor's steps, one sighting at a time, without a database. */
class ClaimFloorTest {

    private final ClaimFloor floor = new ClaimFloor();

    /** One sighting: taken now, seen as given. */
    private void sight(long firstReady, long last, Set<String> writers, long reentries) {
        floor.sighted(floor.start(), new ClaimFloor.Sighting(firstReady, last, writers, NONE, NONE, reentries, Map.of()));
    }

    /**
     * Raises the floor to 100 as three sightings with nothing writing do (candidate, confirmed, taken).
     *
     * @param reentries the re-entry count the sightings read
     */
    private void raisedTo100(long reentries) {
        for (int i = 0; i < 3; i++) {
            sight(100, 500, Set.of(), reentries);
        }
        assertEquals(100, floor.from());
    }

    @Test
    void risesToTheFirstReadyEventOnceTheWritersSeenWithItHaveEnded() {
        sight(100, 500, Set.of("3/1", "4/7"), 0); // candidate 100, two appends under way
        assertEquals(0, floor.from());
        sight(120, 520, Set.of("4/7", "5/2"), 0); // one of them still writes: not confirmed
        assertEquals(0, floor.from());
        sight(130, 530, Set.of("5/2"), 0); // both ended: confirmed
        assertEquals(0, floor.from());
        sight(140, 540, Set.of("6/1"), 0); // taken: the lower of the candidate and what this sighting sees
        assertEquals(100, floor.from());
        sight(150, 550, Set.of(), 0); // the next candidate (140) is confirmed
        sight(160, 560, Set.of(), 0);
        assertEquals(140, floor.from());
    }

    @Test
    void aLateWritersEventBelowTheCandidateHoldsTheFloorUnderIt() {
        sight(100, 500, Set.of("3/1"), 0);
        sight(100, 500, Set.of(), 0);
        // The late writer committed position 60: the sighting that takes the candidate walks from the old floor and
        // sees it.
        sight(60, 501, Set.of(), 0);
        assertEquals(60, floor.from());
    }

    @Test
    void nothingReadyRaisesTheFloorPastTheLastPosition() {
        sight(NONE, 500, Set.of(), 0);
        sight(NONE, 500, Set.of(), 0);
        sight(NONE, 500, Set.of(), 0);
        assertEquals(501, floor.from());
        sight(NONE, NONE, Set.of(), 0); // an empty table (everything purged) never lowers it
        sight(NONE, NONE, Set.of(), 0);
        assertEquals(501, floor.from());
    }

    @Test
    void aSightingThatBeganBeforeTheCandidateWasTakenConfirmsNothing() {
        ClaimFloor.Start early = floor.start();
        sight(100, 500, Set.of("3/1"), 0);
        floor.sighted(early, new ClaimFloor.Sighting(100, 500, Set.of(), NONE, NONE, 0, Map.of()));
        sight(100, 500, Set.of(), 0); // confirms
        sight(100, 500, Set.of(), 0); // takes
        assertEquals(100, floor.from());
        ClaimFloor.Start beforeConfirmation = floor.start();
        sight(200, 600, Set.of(), 0); // confirms the candidate 100 -> the next one is 100 again; take 200 later
        floor.sighted(beforeConfirmation, new ClaimFloor.Sighting(200, 600, Set.of(), NONE, NONE, 0, Map.of()));
        assertEquals(100, floor.from(), "a sighting sent before the confirmation cannot take it");
    }

    @Test
    void ownReentriesLowerTheFloorAndAnotherRelaysLowerItToWhereTheirRowsSay() {
        raisedTo100(5);
        assertEquals(5, floor.seen());

        floor.reentered(40, 6); // this relay released events from 40 and drew 6
        assertEquals(40, floor.from());
        assertEquals(6, floor.seen());
        sight(40, 500, Set.of(), 6);
        assertEquals(40, floor.from());

        // 7 and 8 were drawn by someone else, whose statements have not committed: nothing of theirs is visible yet
        floor.sighted(floor.start(), new ClaimFloor.Sighting(40, 500, Set.of("9/1", "9/2"), NONE, NONE, 8, Map.of()));
        assertEquals(40, floor.from());
        assertEquals(6, floor.seen(), "both wait for their rows");
        floor.sighted(floor.start(), new ClaimFloor.Sighting(40, 500, Set.of("9/2"), NONE, NONE, 8, Map.of(7L, 20L)));
        assertEquals(20, floor.from(), "7 committed: down to where it made events ready");
        assertEquals(7, floor.seen());
        floor.sighted(floor.start(), new ClaimFloor.Sighting(20, 500, Set.of(), NONE, NONE, 8, Map.of(8L, 30L)));
        assertEquals(20, floor.from());
        assertEquals(8, floor.seen());
        assertEquals(0, floor.resets());
    }

    @Test
    void moreDrawsThanARelayReadsOneByOneSendTheFloorToTheStart() {
        raisedTo100(5);
        sight(100, 500, Set.of(), 5 + ReentryAccount.MAX_UNACCOUNTED + 1);
        assertEquals(0, floor.from());
        assertEquals(1, floor.resets());
        assertEquals(5 + ReentryAccount.MAX_UNACCOUNTED + 1, floor.seen());
    }

    @Test
    void aSightingsOwnUnparkedEventsCountAsReady() {
        raisedTo100(1);
        floor.sighted(floor.start(), new ClaimFloor.Sighting(100, 500, Set.of(), 30, 2, 2, Map.of()));
        assertEquals(30, floor.from());
        assertEquals(2, floor.seen());
        assertEquals(0, floor.resets());
    }

    @Test
    void aDrawNotYetReportedWaitsUntilItsRelaySaysItIsItsOwn() {
        sight(100, 500, Set.of(), 1);
        sight(100, 500, Set.of(), 2); // this relay's record drew 2 but has not said so yet
        assertEquals(1, floor.seen(), "it waits for its row");
        floor.reentered(90, 2); // said now
        assertEquals(0, floor.resets());
        assertEquals(2, floor.seen());
    }

    @Test
    void aReadyEventFoundBelowTheFloorLowersItAndASightingSentBeforeRaisesNothing() {
        raisedTo100(0);
        ClaimFloor.Start before = floor.start(); // a claim's sighting under way meanwhile, from the floor
        floor.foundReady(40); // made ready by hand, found by the walk below the floor
        assertEquals(40, floor.from());
        floor.sighted(before, new ClaimFloor.Sighting(100, 500, Set.of(), NONE, NONE, 0, Map.of()));
        assertEquals(40, floor.from(), "a sighting sent before the lowering raises nothing");
        sight(40, 500, Set.of(), 0);
        sight(40, 500, Set.of(), 0);
        sight(40, 500, Set.of(), 0);
        assertEquals(40, floor.from(), "held under the event while it is ready");
        for (int i = 0; i < 4; i++) {
            sight(100, 500, Set.of(), 0); // published: rises again as usual, through candidate, confirmation, take
        }
        assertEquals(100, floor.from());
    }

    @Test
    void aReadyEventFoundAboveTheFloorMovesNothing() {
        raisedTo100(0);
        floor.foundReady(150);
        assertEquals(100, floor.from());
        for (int i = 0; i < 4; i++) {
            sight(120, 500, Set.of(), 0);
        }
        assertEquals(120, floor.from(), "and the floor rises as before");
    }

    @Test
    void aForeignReentryLowersTheFloorToTheLowestLoggedPosition() {
        raisedTo100(3);
        ClaimFloor.Start start = floor.start();
        assertEquals(3, start.seen());
        // Another relay drew 4 and 5, releasing events from 70 and from 40, and committed.
        floor.sighted(start, new ClaimFloor.Sighting(100, 500, Set.of(), NONE, NONE, 5, Map.of(4L, 70L, 5L, 40L)));
        assertEquals(40, floor.from(), "down to the lowest logged position, not to the start");
        assertEquals(0, floor.resets());
        assertEquals(5, floor.seen());
        for (int i = 0; i < 4; i++) {
            sight(120, 500, Set.of(), 5);
        }
        assertEquals(120, floor.from(), "and rises again as usual");
    }

    @Test
    void aForeignLoggedReentryAboveTheFloorLeavesIt() {
        raisedTo100(0);
        floor.sighted(floor.start(), new ClaimFloor.Sighting(100, 500, Set.of(), NONE, NONE, 1, Map.of(1L, 300L)));
        assertEquals(100, floor.from());
        assertEquals(1, floor.seen());
    }

    @Test
    void theFloorRisesThoughAnotherRelayMakesEventsReadyAgainBeforeEverySighting() {
        raisedTo100(0);
        // Another relay retries events a little behind the first ready one, one draw before every sighting; each is
        // published again by the next.
        for (int i = 1; i <= 30; i++) {
            long firstReady = 100 + 100L * i;
            floor.sighted(floor.start(), new ClaimFloor.Sighting(firstReady, firstReady + 400, Set.of(), NONE, NONE, i,
                    Map.of((long) i, firstReady - 50)));
        }
        assertTrue(floor.from() >= 2_000, "the floor follows the first ready event up: " + floor.from());
    }
}
