package dev.outbox.lambda;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.inbox.Inbox;
import dev.outbox.inbox.InboxHandler;
import dev.outbox.inbox.InboxMessage;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Lambda function consuming an SQS queue through the {@link Inbox}: each record's handler runs in a transaction of
 * its own, only if its event was not processed before (the batch goes through {@link Inbox#processAll}), and the
 * answer lists the records that failed
 * ({@code batchItemFailures}), so that SQS deletes the others and delivers only those again. Turn on
 * {@code ReportBatchItemFailures} in the function's event source mapping (the SAM property
 * {@code FunctionResponseTypes}); without it a single failure makes SQS deliver the whole batch again, which the inbox
 * makes harmless but not free.
 *
 * <p>Subclass it with a constructor that gives the pool, the inbox and the handler, built once per container:
 * <pre>{@code
 * public final class OrderEvents extends SqsInboxHandler {
 *     public OrderEvents() {
 *         super(Pools.consumerDatabase(), Inbox.create(), (connection, message) -> apply(connection, message));
 *     }
 * }
 * }</pre>
 */
public abstract class SqsInboxHandler implements RequestHandler<SQSEvent, SQSBatchResponse> {

    private static final Logger log = LoggerFactory.getLogger(SqsInboxHandler.class);

    private final DataSource dataSource;
    private final Inbox inbox;
    private final InboxHandler handler;

    /**
     * @param dataSource the consumer's database, kept across the container's invocations
     * @param inbox the inbox
     * @param handler what to do with each message seen for the first time
     * @throws InvalidConfigurationException when one is null
     */
    protected SqsInboxHandler(DataSource dataSource, Inbox inbox, InboxHandler handler) {
        if (dataSource == null || inbox == null || handler == null) {
            throw new InvalidConfigurationException("dataSource, inbox and handler must not be null");
        }
        this.dataSource = dataSource;
        this.inbox = inbox;
        this.handler = handler;
    }

    /**
     * Runs each record through the inbox, one transaction each.
     *
     * @param event the batch of records
     * @param context the invocation's context
     * @return the records that failed, for SQS to deliver again
     */
    @Override
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        List<SQSEvent.SQSMessage> records = event == null || event.getRecords() == null ? List.of() : event.getRecords();
        Set<SQSEvent.SQSMessage> failed = Collections.newSetFromMap(new IdentityHashMap<>());
        List<SQSEvent.SQSMessage> parsed = new ArrayList<>();
        List<InboxMessage> batch = new ArrayList<>();
        for (SQSEvent.SQSMessage record : records) {
            InboxMessage message = parse(record);
            if (message == null) {
                failed.add(record);
            } else {
                parsed.add(record);
                batch.add(message);
            }
        }
        int processed = 0;
        int duplicates = 0;
        List<Inbox.Outcome> outcomes = batch.isEmpty() ? List.of() : inbox.processAll(dataSource, batch, handler);
        for (int i = 0; i < outcomes.size(); i++) {
            Inbox.Outcome o = outcomes.get(i);
            if (o.failed()) {
                log.warn("event {} (message {}) failed, delivered again later: {}", o.message().eventId(),
                        parsed.get(i).getMessageId(), o.failure().toString());
                failed.add(parsed.get(i));
            } else if (o.result() == Inbox.Result.PROCESSED) {
                processed++;
            } else {
                duplicates++;
            }
        }
        List<SQSBatchResponse.BatchItemFailure> failures = new ArrayList<>();
        for (SQSEvent.SQSMessage record : records) {
            if (failed.contains(record)) {
                failures.add(SQSBatchResponse.BatchItemFailure.builder().withItemIdentifier(record.getMessageId())
                        .build());
            }
        }
        log.info("inbox batch: {} records, {} processed, {} duplicates, {} failed", records.size(), processed,
                duplicates, failures.size());
        return SQSBatchResponse.builder().withBatchItemFailures(failures).build();
    }

    /** @return the record's message, or null when it cannot be read (it fails, for the dead-letter queue) */
    private static InboxMessage parse(SQSEvent.SQSMessage record) {
        try {
            Map<String, String> attributes = new LinkedHashMap<>();
            if (record.getMessageAttributes() != null) {
                record.getMessageAttributes().forEach((name, value) -> {
                    if (value != null && value.getStringValue() != null) {
                        attributes.put(name, value.getStringValue());
                    }
                });
            }
            return InboxMessage.fromSqs(record.getBody(), attributes);
        } catch (InvalidConfigurationException e) {
            log.warn("message {} failed, left for the dead-letter queue: {}", record.getMessageId(), e.getMessage());
            return null;
        }
    }
}
