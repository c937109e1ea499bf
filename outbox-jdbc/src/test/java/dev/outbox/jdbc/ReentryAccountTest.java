package dev.outbox.jdbc;

import static dev.outbox.jdbc.ClaimFloor.NONE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What a relay takes into account of re-entries, one sighting at a time, without a database. */
class ReentryAccountTest {

    private final ReentryAccount account = new ReentryAccount();
    private long count;

    /** One sighting, begun and taken in now. */
    private ReentryAccount.Outcome sight(long reentries, Map<Long, Long> logged, Set<String> writers) {
        long at = ++count;
        long seen = account.seen();
        return account.sighted(at, seen, ++count, reentries, logged, writers);
    }

    @Test
    void theFirstSightingOnlyLearnsWhereTheSequenceStands() {
        ReentryAccount.Outcome first = sight(40, Map.of(), Set.of());
        assertEquals(NONE, first.lowest());
        assertFalse(first.overflow());
        assertEquals(40, account.seen());
    }

    @Test
    void loggedDrawsGiveTheLowestPositionOnceAndOwnDrawsNothing() {
        sight(10, Map.of(), Set.of());
        account.own(11);
        ReentryAccount.Outcome o = sight(13, Map.of(11L, 5L, 12L, 70L, 13L, 40L), Set.of());
        assertEquals(40, o.lowest(), "the own draw's position is this relay's own business");
        assertEquals(13, account.seen());
        assertEquals(NONE, sight(13, Map.of(), Set.of()).lowest(), "taken in once");
    }

    @Test
    void aDrawWithoutARowWaitsAndIsReadAgainUntilItsRowIsSeen() {
        sight(10, Map.of(), Set.of());
        assertEquals(80, sight(12, Map.of(12L, 80L), Set.of("3/7")).lowest(), "12 logged; 11 not committed yet");
        assertEquals(10, account.seen(), "held below 11: the log is read from there");
        assertEquals(1, account.waiting());
        ReentryAccount.Outcome later = sight(12, Map.of(11L, 30L, 12L, 80L), Set.of("3/7"));
        assertEquals(30, later.lowest(), "11's row, and not 12's again");
        assertEquals(12, account.seen());
        assertEquals(0, account.waiting());
    }

    @Test
    void aDrawWhoseWritersEndedWithoutARowWasRolledBack() {
        sight(10, Map.of(), Set.of());
        sight(11, Map.of(), Set.of("3/7", "4/1"));
        assertEquals(10, account.seen());
        sight(11, Map.of(), Set.of("4/1")); // one of them still writes: it waits
        assertEquals(10, account.seen());
        sight(11, Map.of(), Set.of("5/5")); // none of them: they have ended
        assertEquals(10, account.seen(), "a sighting that began after must confirm it");
        sight(11, Map.of(), Set.of());
        assertEquals(11, account.seen(), "rolled back: it made nothing ready");
        assertEquals(0, account.waiting());
    }

    @Test
    void aRowSeenAfterItsWritersWereSeenToEndIsStillTakenIn() {
        sight(10, Map.of(), Set.of());
        sight(11, Map.of(), Set.of("3/7"));
        sight(11, Map.of(), Set.of()); // ended (committed after this sighting's snapshot)
        ReentryAccount.Outcome o = sight(11, Map.of(11L, 25L), Set.of());
        assertEquals(25, o.lowest());
        assertEquals(11, account.seen());
    }

    @Test
    void anOwnDrawSaidLateSettlesItsWait() {
        sight(10, Map.of(), Set.of());
        sight(12, Map.of(12L, 60L), Set.of("3/7"));
        assertEquals(10, account.seen());
        account.own(11);
        assertEquals(12, account.seen());
    }

    @Test
    void moreDrawsThanAreReadOneByOneOverflow() {
        sight(10, Map.of(), Set.of());
        ReentryAccount.Outcome o = sight(10 + ReentryAccount.MAX_UNACCOUNTED + 1, Map.of(), Set.of());
        assertTrue(o.overflow());
        assertEquals(10 + ReentryAccount.MAX_UNACCOUNTED + 1, account.seen());
        assertFalse(sight(10 + ReentryAccount.MAX_UNACCOUNTED + 1, Map.of(), Set.of()).overflow());
    }

    @Test
    void aClaimReadsTheLogPastWhatSightingsTookInAndForTheDrawsThatWait() {
        sight(10, Map.of(), Set.of());
        assertEquals(java.util.List.of(10L), java.util.List.of(account.unread()));
        sight(14, Map.of(12L, 80L, 14L, 90L), Set.of("3/7")); // 11 and 13 not committed yet
        assertEquals(10, account.seen(), "sightings read the log from below 11");
        assertEquals(java.util.List.of(14L, 11L, 13L), java.util.List.of(account.unread()),
                "a claim reads it past 14 and for 11 and 13, not again for 12 and 14, settled");
        sight(14, Map.of(11L, 30L, 12L, 80L, 13L, 20L, 14L, 90L), Set.of());
        assertEquals(java.util.List.of(14L), java.util.List.of(account.unread()));
        assertEquals(14, account.seen());
    }
}
