package dev.outbox.jdbc;

import dev.outbox.spi.PublishOutcome;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Function;

/**
 * One batch's publisher calls that run beside each other: each started on a call thread, answered in whatever order
 * the broker answers, and handed back to the batch's thread, which alone starts and awaits them. An interrupt of the
 * batch's thread while it waits is passed on to the calls' threads and kept for it; a call's interrupt ends with the
 * call.
 */
final class CallsInFlight {

    /**
     * What one call gave back.
     *
     * @param call the events of the call, as started
     * @param answers one outcome per event; null when the call threw
     * @param failure what the call threw; null when it answered
     * @param nanos how long the call took
     */
    record Answered(List<ClaimedBatch.Row> call, List<PublishOutcome> answers, Throwable failure, long nanos) {
    }

    /** Where the calls run: daemon threads, made as needed and ended after a minute idle. */
    private static final Executor THREADS = Executors.newCachedThreadPool(task -> {
        Thread thread = new Thread(task, "outbox-publisher-call");
        thread.setDaemon(true);
        return thread;
    });

    private final BlockingQueue<Answered> answered = new LinkedBlockingQueue<>();
    private final Set<Thread> calling = ConcurrentHashMap.newKeySet();
    /** Calls started and not yet handed back. */
    private int running;

    /** @return how many calls are started and not yet handed back by {@link #await} */
    int running() {
        return running;
    }

    /** Starts {@code publish} of {@code call} on a call thread. */
    void start(List<ClaimedBatch.Row> call, Function<List<ClaimedBatch.Row>, List<PublishOutcome>> publish) {
        running++;
        THREADS.execute(() -> {
            Thread self = Thread.currentThread();
            calling.add(self);
            long started = System.nanoTime();
            List<PublishOutcome> answers = null;
            Throwable failure = null;
            try {
                answers = publish.apply(call);
            } catch (Throwable t) {
                failure = t;
            } finally {
                calling.remove(self);
                Thread.interrupted(); // an interrupt meant for this call ends with it
                answered.add(new Answered(call, answers, failure, System.nanoTime() - started));
            }
        });
    }

    /**
     * Waits for a running call to be answered.
     *
     * @return that call's answer and those of the others answered meanwhile
     * @throws IllegalStateException when no call is running
     */
    List<Answered> await() {
        if (running == 0) {
            throw new IllegalStateException("no call is running");
        }
        List<Answered> done = new ArrayList<>();
        done.add(take());
        answered.drainTo(done);
        running -= done.size();
        return done;
    }

    /** Waits until no call is running; their answers are dropped. */
    void awaitAll() {
        while (running > 0) {
            await();
        }
    }

    private Answered take() {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return answered.take();
                } catch (InterruptedException e) {
                    interrupted = true;
                    calling.forEach(Thread::interrupt);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
