package dev.outbox.inbox;

import dev.outbox.InvalidConfigurationException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchResponse;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageRequest;

/**
 * An SQS consumer loop that runs each message through the {@link Inbox}: long polling on {@code concurrency} threads
 * of its own, each message's handler in a transaction of its own (each batch received goes through
 * {@link Inbox#processAll}: read what it says of a handler with effects outside the database), the message deleted
 * once that transaction has committed (in batches), its visibility extended while its handler runs long. A message
 * whose handler fails is rolled back and left on the queue: SQS delivers it again once its visibility timeout ends,
 * and the queue's redrive policy moves it to the dead-letter queue after its {@code maxReceiveCount}, so a poison
 * message never blocks the others. A message deleted too late (the consumer died between its commit and its delete)
 * comes back as a duplicate and is deleted without running its handler.
 *
 * <pre>{@code
 * SqsInboxConsumer consumer = SqsInboxConsumer.builder(sqsClient, queueUrl, dataSource,
 *         (connection, message) -> applyOrderPlaced(connection, message.payload())).concurrency(4).build();
 * consumer.start();
 * ...
 * consumer.close(); // stops receiving, finishes the messages in hand
 * }</pre>
 */
public final class SqsInboxConsumer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SqsInboxConsumer.class);

    /** What a consumer did so far. */
    public record Counts(long processed, long duplicates, long failed, long deleted) {
    }

    private final SqsClient sqs;
    private final String queueUrl;
    private final DataSource dataSource;
    private final Inbox inbox;
    private final InboxHandler handler;
    private final int concurrency;
    private final Duration waitTime;
    private final Duration visibilityTimeout;
    private final AtomicLong processed = new AtomicLong();
    private final AtomicLong duplicates = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong deleted = new AtomicLong();
    /** Messages in hand, by receipt handle: when their visibility was last set. */
    private final Map<String, Long> inHand = new ConcurrentHashMap<>();
    private final List<Thread> workers = new ArrayList<>();
    private final ScheduledExecutorService heartbeat;
    private volatile boolean running;

    private SqsInboxConsumer(Builder b) {
        this.sqs = b.sqs;
        this.queueUrl = b.queueUrl;
        this.dataSource = b.dataSource;
        this.inbox = b.inbox;
        this.handler = b.handler;
        this.concurrency = b.concurrency;
        this.waitTime = b.waitTime;
        this.visibilityTimeout = b.visibilityTimeout;
        this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "outbox-inbox-visibility");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * @param sqs the client, which the caller closes
     * @param queueUrl the queue
     * @param dataSource the consumer's database, where the inbox table and the handler's tables are
     * @param handler what to do with each message seen for the first time
     * @return a builder
     */
    public static Builder builder(SqsClient sqs, String queueUrl, DataSource dataSource, InboxHandler handler) {
        return new Builder(sqs, queueUrl, dataSource, handler);
    }

    /**
     * Starts the receiving threads and the visibility heartbeat.
     *
     * @throws IllegalStateException when started before
     */
    public synchronized void start() {
        if (running || !workers.isEmpty()) {
            throw new IllegalStateException("this consumer was started before");
        }
        running = true;
        for (int i = 0; i < concurrency; i++) {
            Thread t = new Thread(this::receiveLoop, "outbox-inbox-sqs-" + (i + 1));
            workers.add(t);
            t.start();
        }
        long every = Math.max(200, visibilityTimeout.toMillis() / 4);
        heartbeat.scheduleWithFixedDelay(this::extendVisibility, every, every, TimeUnit.MILLISECONDS);
        log.info("consuming {} through inbox {} on {} threads", queueUrl, inbox.table(), concurrency);
    }

    /** @return what the consumer did so far */
    public Counts counts() {
        return new Counts(processed.get(), duplicates.get(), failed.get(), deleted.get());
    }

    private void receiveLoop() {
        ReceiveMessageRequest request = ReceiveMessageRequest.builder().queueUrl(queueUrl).maxNumberOfMessages(10)
                .waitTimeSeconds((int) waitTime.toSeconds()).visibilityTimeout((int) visibilityTimeout.toSeconds())
                .messageAttributeNames("All").build();
        long pauseMillis = 0;
        while (running) {
            List<Message> messages;
            try {
                messages = sqs.receiveMessage(request).messages();
                pauseMillis = 0;
            } catch (SdkException e) {
                if (!running) {
                    return;
                }
                pauseMillis = Math.min(20_000, pauseMillis == 0 ? 500 : pauseMillis * 2);
                log.warn("receiving from {} failed, again in {} ms: {}", queueUrl, pauseMillis, e.getMessage());
                sleep(pauseMillis);
                continue;
            }
            long now = System.nanoTime();
            messages.forEach(m -> inHand.put(m.receiptHandle(), now));
            delete(handle(messages));
        }
    }

    /** @return the messages that may be deleted: processed now or before; the others come back after their timeout */
    private List<Message> handle(List<Message> messages) {
        List<Message> parsed = new ArrayList<>();
        List<InboxMessage> batch = new ArrayList<>();
        for (Message m : messages) {
            InboxMessage message = parse(m);
            if (message == null) {
                inHand.remove(m.receiptHandle());
            } else {
                parsed.add(m);
                batch.add(message);
            }
        }
        List<Message> done = new ArrayList<>();
        if (batch.isEmpty()) {
            return done;
        }
        List<Inbox.Outcome> outcomes = inbox.processAll(dataSource, batch, handler);
        for (int i = 0; i < outcomes.size(); i++) {
            Inbox.Outcome o = outcomes.get(i);
            Message m = parsed.get(i);
            if (o.failed()) {
                failed.incrementAndGet();
                inHand.remove(m.receiptHandle());
                log.warn("event {} (message {}) failed and is left for redelivery: {}", o.message().eventId(),
                        m.messageId(), o.failure().toString());
            } else {
                (o.result() == Inbox.Result.PROCESSED ? processed : duplicates).incrementAndGet();
                done.add(m);
            }
        }
        return done;
    }

    /** @return the message read from {@code m}, or null when it cannot be (left for the dead-letter queue) */
    private InboxMessage parse(Message m) {
        try {
            Map<String, String> attributes = new LinkedHashMap<>();
            for (Map.Entry<String, MessageAttributeValue> a : m.messageAttributes().entrySet()) {
                if (a.getValue().stringValue() != null) {
                    attributes.put(a.getKey(), a.getValue().stringValue());
                }
            }
            return InboxMessage.fromSqs(m.body(), attributes);
        } catch (InvalidConfigurationException e) {
            failed.incrementAndGet();
            log.warn("message {} on {} is left for the dead-letter queue: {}", m.messageId(), queueUrl, e.getMessage());
            return null;
        }
    }

    private void delete(List<Message> done) {
        if (done.isEmpty()) {
            return;
        }
        List<DeleteMessageBatchRequestEntry> entries = new ArrayList<>();
        for (int i = 0; i < done.size(); i++) {
            entries.add(DeleteMessageBatchRequestEntry.builder().id(Integer.toString(i))
                    .receiptHandle(done.get(i).receiptHandle()).build());
        }
        try {
            DeleteMessageBatchResponse response = sqs.deleteMessageBatch(b -> b.queueUrl(queueUrl).entries(entries));
            deleted.addAndGet(response.successful().size());
            response.failed().forEach(f -> log.warn("deleting a processed message failed ({}): it comes back and is"
                    + " dropped as a duplicate", f.message()));
        } catch (SdkException e) {
            log.warn("deleting {} processed messages failed: they come back and are dropped as duplicates: {}",
                    done.size(), e.getMessage());
        } finally {
            done.forEach(m -> inHand.remove(m.receiptHandle()));
        }
    }

    /** Extends the visibility of messages in hand for longer than half the timeout, so that none is delivered twice. */
    private void extendVisibility() {
        long now = System.nanoTime();
        long half = visibilityTimeout.toNanos() / 2;
        List<String> due = new ArrayList<>();
        inHand.forEach((handle, since) -> {
            if (now - since > half) {
                due.add(handle);
            }
        });
        for (int from = 0; from < due.size(); from += 10) {
            List<String> chunk = due.subList(from, Math.min(due.size(), from + 10));
            List<ChangeMessageVisibilityBatchRequestEntry> entries = new ArrayList<>();
            for (int i = 0; i < chunk.size(); i++) {
                entries.add(ChangeMessageVisibilityBatchRequestEntry.builder().id(Integer.toString(i))
                        .receiptHandle(chunk.get(i)).visibilityTimeout((int) visibilityTimeout.toSeconds()).build());
            }
            try {
                sqs.changeMessageVisibilityBatch(b -> b.queueUrl(queueUrl).entries(entries));
                chunk.forEach(h -> inHand.replace(h, now));
            } catch (SdkException e) {
                log.warn("extending the visibility of {} messages failed: {}", chunk.size(), e.getMessage());
            }
        }
    }

    /**
     * Stops receiving and waits up to {@code timeout} for the messages in hand to be handled and deleted; a message
     * still in hand after that is delivered again later, and its handler runs again only if it had not committed.
     *
     * @param timeout how long to wait
     * @return true when every thread ended within it
     */
    public boolean close(Duration timeout) {
        running = false;
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean ended = true;
        for (Thread t : workers) {
            long left = deadline - System.nanoTime();
            try {
                // a thread in a long poll holds no message: interrupting it ends the poll at once
                if (inHand.isEmpty()) {
                    t.interrupt();
                }
                t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) {
                t.interrupt();
                ended = false;
            }
        }
        heartbeat.shutdownNow();
        log.info("stopped consuming {}: {}", queueUrl, counts());
        return ended;
    }

    /** Stops; see {@link #close(Duration)}, with up to the visibility timeout. */
    @Override
    public void close() {
        close(visibilityTimeout);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Configures an {@link SqsInboxConsumer}; checked in {@link #build()}. */
    public static final class Builder {
        private final SqsClient sqs;
        private final String queueUrl;
        private final DataSource dataSource;
        private final InboxHandler handler;
        private Inbox inbox = Inbox.create();
        private int concurrency = 2;
        private Duration waitTime = Duration.ofSeconds(20);
        private Duration visibilityTimeout = Duration.ofSeconds(30);

        private Builder(SqsClient sqs, String queueUrl, DataSource dataSource, InboxHandler handler) {
            this.sqs = sqs;
            this.queueUrl = queueUrl;
            this.dataSource = dataSource;
            this.handler = handler;
        }

        /**
         * @param inbox the inbox to run messages through; {@link Inbox#create()} by default
         * @return this
         */
        public Builder inbox(Inbox inbox) {
            this.inbox = inbox;
            return this;
        }

        /**
         * @param concurrency receiving threads, each handling its messages one at a time; 1 to 64, 2 by default
         * @return this
         */
        public Builder concurrency(int concurrency) {
            this.concurrency = concurrency;
            return this;
        }

        /**
         * @param waitTime how long one receive waits for messages (long polling); 0 to 20 s, 20 s by default
         * @return this
         */
        public Builder waitTime(Duration waitTime) {
            this.waitTime = waitTime;
            return this;
        }

        /**
         * @param visibilityTimeout how long a received message stays hidden from other consumers, extended while its
         *        handler runs; a failed message is delivered again after it. Whole seconds, 1 s to 12 h, 30 s by
         *        default
         * @return this
         */
        public Builder visibilityTimeout(Duration visibilityTimeout) {
            this.visibilityTimeout = visibilityTimeout;
            return this;
        }

        /**
         * @return the consumer, not yet started
         * @throws InvalidConfigurationException naming the first setting that is missing or out of range
         */
        public SqsInboxConsumer build() {
            if (sqs == null || queueUrl == null || queueUrl.isBlank() || dataSource == null || handler == null) {
                throw new InvalidConfigurationException("sqs, queueUrl, dataSource and handler are required");
            }
            if (inbox == null) {
                throw new InvalidConfigurationException("inbox must not be null");
            }
            if (concurrency < 1 || concurrency > 64) {
                throw new InvalidConfigurationException("concurrency must be from 1 to 64, was " + concurrency);
            }
            if (waitTime == null || waitTime.isNegative() || waitTime.compareTo(Duration.ofSeconds(20)) > 0) {
                throw new InvalidConfigurationException("waitTime must be from PT0S to PT20S, was " + waitTime);
            }
            if (visibilityTimeout == null || visibilityTimeout.compareTo(Duration.ofSeconds(1)) < 0
                    || visibilityTimeout.compareTo(Duration.ofHours(12)) > 0 || visibilityTimeout.toNanos() % 1_000_000_000L != 0) {
                throw new InvalidConfigurationException("visibilityTimeout must be whole seconds from PT1S to PT12H, was "
                        + visibilityTimeout);
            }
            return new SqsInboxConsumer(this);
        }
    }
}
