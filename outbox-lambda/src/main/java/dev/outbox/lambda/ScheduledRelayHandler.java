package dev.outbox.lambda;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import dev.outbox.RelayListener;
import dev.outbox.RelayResult;
import dev.outbox.relay.RelayConfig;
import dev.outbox.relay.RelayResources;
import java.io.PrintStream;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay as a scheduled AWS Lambda function: the target of an EventBridge Scheduler schedule or rule. Each
 * invocation drains the outbox until the invocation's remaining time less a margin of one lease and five seconds, and
 * returns the counts; an invocation whose input says {@code {"action": "purge"}} (at its top or in a rule's
 * {@code detail}) deletes events published longer ago than {@code OUTBOX_PURGE_RETENTION} instead.
 *
 * <p>Configured from the function's environment ({@link RelayConfig}: {@code OUTBOX_JDBC_URL},
 * {@code OUTBOX_JDBC_SECRET_ARN}, {@code OUTBOX_PUBLISHER}, {@code OUTBOX_PUBLISHER_<key>}, ...), read once per
 * container when Lambda builds the handler, in the init phase (which SnapStart snapshots); the pool, the publisher's
 * client and the relay are kept for the container's warm invocations. The pool connects at the first invocation, so
 * a snapshot holds no connection. Each invocation writes one line of counts in CloudWatch's embedded metric format
 * ({@link EmbeddedMetrics}): alarm on {@code Outbox/Dead}.
 *
 * <p>Handler: {@code dev.outbox.lambda.ScheduledRelayHandler::handleRequest}.
 */
public final class ScheduledRelayHandler implements RequestHandler<Map<String, Object>, Map<String, Object>> {

    private static final Logger log = LoggerFactory.getLogger(ScheduledRelayHandler.class);
    /** When this class was loaded: the cold start is measured from here to the first claim. */
    private static final long LOADED_NANOS = System.nanoTime();

    private final RelayResources resources;
    private final PrintStream metrics;
    private final AtomicLong firstClaimNanos = new AtomicLong();
    private boolean coldStartReported;

    /** Builds the relay from the function's environment; Lambda calls this once per container. */
    public ScheduledRelayHandler() {
        this(System.getenv(), System.out);
    }

    /**
     * @param environment the settings, as a function's environment holds them
     * @param metrics where the embedded-metric-format lines go
     */
    ScheduledRelayHandler(Map<String, String> environment, PrintStream metrics) {
        this.metrics = metrics;
        RelayListener firstClaim = new RelayListener() {
            @Override
            public void claimed(int events, Duration elapsed) {
                firstClaimNanos.compareAndSet(0, System.nanoTime());
            }
        };
        this.resources = RelayResources.open(RelayConfig.from(environment), true, firstClaim);
        log.info("outbox relay function ready on {}: {}", resources.config().table(), resources.config());
    }

    /**
     * Drains the outbox, or purges it when the input asks.
     *
     * @param input the scheduled event, or the schedule's own input
     * @param context the invocation's context, for its remaining time
     * @return the counts: {@code claimed}, {@code published}, {@code retried}, {@code dead}, {@code moreWaiting},
     *         {@code millis}; or {@code purged}
     */
    @Override
    public Map<String, Object> handleRequest(Map<String, Object> input, Context context) {
        long started = System.nanoTime();
        String table = resources.config().table().toString();
        Map<String, Object> answer = new LinkedHashMap<>();
        if (purgeRequested(input)) {
            long purged = resources.operations().purgePublished(resources.config().purgeRetention(), 10_000);
            long millis = (System.nanoTime() - started) / 1_000_000;
            EmbeddedMetrics.write(metrics, EmbeddedMetrics.line(table, null, purged, millis));
            answer.put("action", "purge");
            answer.put("purged", purged);
            answer.put("millis", millis);
            log.info("outbox purge: {} events published more than {} ago, {} ms", purged,
                    resources.config().purgeRetention(), millis);
            return answer;
        }
        // The last batch started before the budget ends within its lease: the margin is what a stop waits for.
        Duration margin = resources.stopTimeout();
        long remaining = context.getRemainingTimeInMillis();
        Duration budget = Duration.ofMillis(remaining).minus(margin);
        boolean skipped = budget.isNegative() || budget.isZero();
        RelayResult result = skipped ? RelayResult.EMPTY : resources.relay().drain(budget);
        long millis = (System.nanoTime() - started) / 1_000_000;
        EmbeddedMetrics.write(metrics, EmbeddedMetrics.line(table, result, 0, millis));
        answer.put("claimed", result.claimed());
        answer.put("published", result.published());
        answer.put("retried", result.retried());
        answer.put("dead", result.dead());
        answer.put("moreWaiting", result.moreWaiting());
        answer.put("millis", millis);
        long first = firstClaimNanos.get();
        if (first != 0 && !coldStartReported) {
            coldStartReported = true; // once, for the container's first claim
            answer.put("coldStartMillis", (first - LOADED_NANOS) / 1_000_000);
        }
        log.info("outbox drain: {} claimed, {} published, {} retried, {} dead, {} ms{}", result.claimed(),
                result.published(), result.retried(), result.dead(), millis, skipped
                        ? "; skipped: " + remaining + " ms left, less than the " + margin + " margin" : "");
        return answer;
    }

    /** Closes the relay, the publisher and the pool; a function's container never needs to, a test does. */
    void close() {
        resources.closeAll();
    }

    /** @return true when the input says {@code "action": "purge"}, at its top or in its {@code detail} */
    static boolean purgeRequested(Map<String, Object> input) {
        if (input == null) {
            return false;
        }
        if ("purge".equals(input.get("action"))) {
            return true;
        }
        return input.get("detail") instanceof Map<?, ?> detail && "purge".equals(detail.get("action"));
    }
}
