package dev.outbox.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.outbox.Event;
import dev.outbox.spi.Destination;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a batch's destinations let it do: each destination judged by its own answers, never by another's. */
class BatchDestinationsTest {

    private static final Destination ORDERS = new Destination("test", "orders");
    private static final Destination PAYMENTS = new Destination("test", "payments");

    /** Events go to the destination named by their aggregate type; the publisher cannot say for type "broken". */
    private static final Publisher BY_TYPE = new Publisher() {
        @Override
        public List<PublishOutcome> publish(List<Event> events) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Destination destination(Event event) {
            if (event.aggregateType().equals("broken")) {
                throw new IllegalStateException("no route");
            }
            return new Destination("test", event.aggregateType());
        }
    };

    private final Destinations destinations = new Destinations("r", Duration.ofMillis(200), Duration.ofSeconds(1), 100);
    private final List<ClaimedBatch.Row> rows = List.of(row(1, "orders"), row(2, "payments"), row(3, "broken"));

    private static ClaimedBatch.Row row(long position, String type) {
        return ClaimedBatch.Row.of(position, Event.of(type, "a" + position, "changed", "{}"), 1);
    }

    private BatchDestinations batch() {
        return new BatchDestinations(BY_TYPE, destinations, rows, "r");
    }

    @Test
    void eachEventGoesWhereThePublisherSaysOrToUnknownWhenItCannotSay() {
        BatchDestinations to = batch();
        assertEquals(ORDERS, to.of(rows.get(0)));
        assertEquals(PAYMENTS, to.of(rows.get(1)));
        assertEquals(BatchDestinations.UNKNOWN, to.of(rows.get(2)));
    }

    @Test
    void aDestinationWithNoCallAnsweredYetGoesOnlyInACallMadeAlone() {
        BatchDestinations to = batch();
        assertFalse(to.mayOverlap(ORDERS));
        assertEquals(0, to.window(ORDERS, true), "beside calls in flight: none of its events");
        assertEquals(Integer.MAX_VALUE, to.window(ORDERS, false), "alone: as many as the call holds");
        assertTrue(to.chainsApart(false), "before the batch's first call, which may show it takes everything");
        assertFalse(to.chainsApart(true));
    }

    @Test
    void oneDestinationsFailureKeepsOnlyItsOwnCallsOneAtATime() {
        BatchDestinations to = batch();
        to.answered(rows.subList(0, 2), List.of(PublishOutcome.published(), PublishOutcome.published()));
        assertTrue(to.mayOverlap(ORDERS));
        assertTrue(to.mayOverlap(PAYMENTS));

        to.answered(rows.subList(0, 2), List.of(PublishOutcome.published(), PublishOutcome.retry("not now")));
        assertTrue(to.mayOverlap(ORDERS), "orders took everything");
        assertEquals(Integer.MAX_VALUE, to.window(ORDERS, true));
        assertFalse(to.mayOverlap(PAYMENTS), "payments did not");
        assertEquals(0, to.window(PAYMENTS, true));
        assertTrue(batch().mayOverlap(ORDERS), "the next batch of the relay knows it too");
        assertFalse(batch().mayOverlap(PAYMENTS));

        to.answered(rows.subList(1, 2), List.of(PublishOutcome.published()));
        assertTrue(to.mayOverlap(PAYMENTS), "a call that published everything lets it overlap again");
    }

    @Test
    void anOutagePausesThatDestinationAloneAndItsProbeGoesAlone() throws InterruptedException {
        BatchDestinations to = batch();
        to.answered(rows.subList(0, 2), List.of(PublishOutcome.published(), PublishOutcome.unavailable("down")));
        assertTrue(to.mayCall(ORDERS));
        assertFalse(to.mayCall(PAYMENTS), "paused");
        assertTrue(to.pauseLeftMillis(PAYMENTS) > 0);
        long deferral = to.deferral(rows.get(1));
        assertTrue(deferral > 150 && deferral <= 200, "an event given back waits out the 200 ms pause: " + deferral);

        Thread.sleep(250);
        BatchDestinations next = batch();
        assertTrue(next.mayCall(PAYMENTS), "the pause is over: this batch probes");
        assertTrue(next.mayCall(PAYMENTS), "and holds the probe for its later calls");
        assertFalse(batch().mayCall(PAYMENTS), "another batch does not probe meanwhile");
        assertFalse(next.mayOverlap(PAYMENTS), "a probe goes alone");
        assertFalse(next.chainsApart(false));
        next.probesEnded();
        assertTrue(batch().mayCall(PAYMENTS), "a probe no call answered: the next batch probes");
    }

    @Test
    void aThrottledDestinationTakesItsWindowAndNeverOverlaps() {
        BatchDestinations to = batch();
        to.answered(rows.subList(0, 1), List.of(PublishOutcome.throttled("slow down")));
        int window = destinations.callLimit(ORDERS);
        assertTrue(window < Integer.MAX_VALUE, "throttled: a window, " + window);
        assertEquals(window, to.window(ORDERS, false));
        assertEquals(0, to.window(ORDERS, true));
        assertFalse(to.chainsApart(false));
    }
}
