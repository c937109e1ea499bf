package dev.outbox.jdbc;

/** Whether a relay keeps the events of one aggregate in order. */
public enum Ordering {

    /**
     * The default. An event is never handed to the publisher while an earlier event of its aggregate
     * (aggregate type + id) is unpublished: in flight at another relay, backing off after a failure, or dead.
     * A dead event therefore holds back its aggregate until it is requeued or discarded. One batch may carry
     * several events of one aggregate, in order.
     */
    PER_AGGREGATE,

    /**
     * Events are claimed in append order but published independently: a retry or a slow relay lets later
     * events of the same aggregate overtake. The cheapest claim, for consumers that do not need order.
     */
    NONE
}
