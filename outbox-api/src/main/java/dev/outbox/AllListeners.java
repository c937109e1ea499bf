package dev.outbox;

import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@link RelayListener#all}: each call goes to every listener; one that throws does not keep it from the others. */
final class AllListeners implements RelayListener {

    private static final Logger log = LoggerFactory.getLogger(AllListeners.class);

    private final List<RelayListener> listeners;

    AllListeners(List<RelayListener> listeners) {
        this.listeners = listeners;
    }

    private void each(Consumer<RelayListener> call) {
        for (RelayListener listener : listeners) {
            try {
                call.accept(listener);
            } catch (RuntimeException e) {
                log.warn("relay listener {} threw; ignored", listener.getClass().getName(), e);
            }
        }
    }

    @Override
    public void published(List<Event> events) {
        each(l -> l.published(events));
    }

    @Override
    public void publishedAfter(Event event, Duration sinceAppend) {
        each(l -> l.publishedAfter(event, sinceAppend));
    }

    @Override
    public void retryScheduled(Event event, int attempts, Duration delay, String reason) {
        each(l -> l.retryScheduled(event, attempts, delay, reason));
    }

    @Override
    public void throttled(Event event, Duration delay, String reason) {
        each(l -> l.throttled(event, delay, reason));
    }

    @Override
    public void dead(Event event, int attempts, String reason) {
        each(l -> l.dead(event, attempts, reason));
    }

    @Override
    public void rejected(Event event, int attempts, String reason) {
        each(l -> l.rejected(event, attempts, reason));
    }

    @Override
    public void unreadable(String eventId, String reason) {
        each(l -> l.unreadable(eventId, reason));
    }

    @Override
    public void claimFailed(Exception error) {
        each(l -> l.claimFailed(error));
    }

    @Override
    public void recordFailed(List<Event> events, Exception error) {
        each(l -> l.recordFailed(events, error));
    }

    @Override
    public void claimed(int events, Duration elapsed) {
        each(l -> l.claimed(events, elapsed));
    }

    @Override
    public void publisherCalled(int events, Duration elapsed) {
        each(l -> l.publisherCalled(events, elapsed));
    }

    @Override
    public void recorded(int outcomes, Duration elapsed) {
        each(l -> l.recorded(outcomes, elapsed));
    }

    @Override
    public void batchCompleted(RelayResult result, Duration elapsed) {
        each(l -> l.batchCompleted(result, elapsed));
    }
}
