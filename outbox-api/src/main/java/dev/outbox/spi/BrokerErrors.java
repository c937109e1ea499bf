package dev.outbox.spi;

import java.util.Locale;
import java.util.Set;

/**
 * One classification of broker errors for every publisher, so that SQS, EventBridge and your own publisher treat the
 * same failure the same way:
 * <ul>
 *   <li><b>content</b> (the broker will never accept this event: too large, invalid characters, malformed) becomes
 *       {@link PublishOutcome#rejected}: the event goes dead at once, keeping the reason;</li>
 *   <li><b>throttled</b> (a quota reached, too many requests, HTTP 429) becomes {@link PublishOutcome#throttled}: no
 *       attempt is spent, the event waits a moment and the relay sends less to that destination for a while;</li>
 *   <li><b>unavailable</b> (the destination takes nothing now: 5xx, network failures and timeouts, and permission,
 *       credential and configuration errors such as access denied, an expired token, an unknown queue or bus, KMS
 *       trouble) becomes {@link PublishOutcome#unavailable}: no attempt is spent and the relay pauses that
 *       destination;</li>
 *   <li>anything else, an error this list does not know, becomes {@link PublishOutcome#retry}: it spends attempts
 *       with backoff, so an unknown error ends dead only after the retry policy's attempts, never at once.</li>
 * </ul>
 * Codes are matched case-insensitively, also with an {@code AWS.SimpleQueueService.} or {@code KMS.} prefix.
 */
public final class BrokerErrors {

    /** What kind of failure an error is. */
    public enum Kind {
        /** The event's content: retrying cannot help. */
        CONTENT,
        /** The broker's quota or rate: backpressure, not this event's fault. */
        THROTTLED,
        /** The broker, its configuration or our permissions: not this event's fault. */
        UNAVAILABLE,
        /** Not known: retried with backoff, spending attempts. */
        UNKNOWN
    }

    private static final Set<String> CONTENT = lower(
            // SQS
            "InvalidMessageContents", "MessageTooLong", "InvalidAttributeName", "InvalidAttributeValue",
            "InvalidParameterValue", "BatchEntryIdsNotDistinct", "InvalidBatchEntryId", "EmptyBatchRequest",
            "TooManyEntriesInBatchRequest", "BatchRequestTooLong", "UnsupportedOperation",
            // EventBridge
            "MalformedDetail", "InvalidArgument", "ValidationException", "InvalidEventPatternException",
            "InvalidParameterCombination");

    private static final Set<String> THROTTLED = lower(
            "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled", "TooManyRequestsException",
            "RequestLimitExceeded", "LimitExceededException", "ProvisionedThroughputExceededException", "SlowDown",
            "KmsThrottled", "KMSThrottlingException");

    private static final Set<String> UNAVAILABLE = lower(
            // the service's own trouble
            "ServiceUnavailable", "InternalFailure", "InternalError",
            "InternalException", "RequestTimeout", "RequestTimeoutException", "ServiceUnavailableException",
            // credentials and permissions
            "AccessDenied", "AccessDeniedException", "NotAuthorized", "UnauthorizedOperation",
            "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException",
            "SignatureDoesNotMatch", "InvalidSecurity", "MissingAuthenticationToken", "IncompleteSignature",
            "RequestExpired", "AuthFailure", "OptInRequired",
            // configuration: the queue or bus is not there
            "NonExistentQueue", "QueueDoesNotExist", "QueueDeletedRecently", "ResourceNotFoundException",
            // KMS behind an encrypted queue or bus
            "KmsAccessDenied", "KmsDisabled", "KmsInvalidState", "KmsInvalidKeyUsage", "KmsNotFound", "KmsOptInRequired",
            "KMSAccessDeniedException", "KMSDisabledException", "KMSInvalidStateException", "KMSNotFoundException");

    private BrokerErrors() {
    }

    /**
     * @param errorCode the broker's error code, or null when there is none
     * @param httpStatus the HTTP status of the call, or 0 when unknown
     * @return the kind of failure: a throttling code or status 429 is throttled; a 5xx status is unavailable whatever
     *         the code; a known code decides; else unknown
     */
    public static Kind classify(String errorCode, int httpStatus) {
        String code = errorCode == null ? null : errorCode.toLowerCase(Locale.ROOT);
        if (code != null) {
            for (String prefix : new String[] {"aws.simplequeueservice.", "kms."}) {
                if (code.startsWith(prefix)) {
                    code = code.substring(prefix.length());
                }
            }
            if (THROTTLED.contains(code) || code.contains("throttl")) {
                return Kind.THROTTLED;
            }
        }
        if (httpStatus == 429) {
            return Kind.THROTTLED;
        }
        if (httpStatus >= 500) {
            return Kind.UNAVAILABLE;
        }
        if (code != null) {
            if (CONTENT.contains(code)) {
                return Kind.CONTENT;
            }
            if (UNAVAILABLE.contains(code) || code.startsWith("kms")) {
                return Kind.UNAVAILABLE;
            }
        }
        return httpStatus == 401 || httpStatus == 403 ? Kind.UNAVAILABLE : Kind.UNKNOWN;
    }

    /**
     * @param broker names the broker in the reason, such as {@code SQS}
     * @param errorCode the broker's error code, or null
     * @param httpStatus the HTTP status, or 0
     * @param message the broker's message, or null
     * @return the outcome for an event that failed with this error
     */
    public static PublishOutcome outcome(String broker, String errorCode, int httpStatus, String message) {
        String reason = broker + " " + (errorCode == null ? "status " + httpStatus : errorCode)
                + (message == null || message.isBlank() ? "" : ": " + message);
        return switch (classify(errorCode, httpStatus)) {
            case CONTENT -> PublishOutcome.rejected(reason);
            case THROTTLED -> PublishOutcome.throttled(reason);
            case UNAVAILABLE -> PublishOutcome.unavailable(reason);
            case UNKNOWN -> PublishOutcome.retry(reason);
        };
    }

    /**
     * @param broker names the broker in the reason
     * @param error what the SDK or the network threw before any answer: a timeout, a refused connection
     * @return the outcome for an event whose call got no answer: unavailable
     */
    public static PublishOutcome noAnswer(String broker, Throwable error) {
        return PublishOutcome.unavailable(broker + " unreachable: " + error.getMessage());
    }

    /**
     * @param broker names the broker in the reason
     * @param error what the SDK or the network threw before any answer
     * @param cutShort whether the call was given less than the whole call timeout, because earlier calls of the same
     *        publish used the rest ({@link BrokerCalls#cutShort})
     * @return {@link PublishOutcome#notSent not sent} for a call cut short that timed out (it says nothing about the
     *         broker), else {@link #noAnswer(String, Throwable) unavailable}
     */
    public static PublishOutcome noAnswer(String broker, Throwable error, boolean cutShort) {
        if (cutShort && isTimeout(error)) {
            return PublishOutcome.notSent(broker + " did not answer in the time left of the publish call: "
                    + error.getMessage());
        }
        return noAnswer(broker, error);
    }

    private static boolean isTimeout(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            String name = t.getClass().getSimpleName();
            if (name.contains("Timeout") || name.contains("TimedOut")) {
                return true;
            }
        }
        return false;
    }

    /**
     * After a call the broker refused as a whole (naming no entry) was resent one entry at a time: an entry still
     * refused with an unknown error while others of the same call went through is refused for its own content, so it
     * is rejected; when none went through, nothing points at one entry and the outcomes stay as they are.
     *
     * @param singles the outcomes of the entries sent one at a time, in order
     * @return the outcomes with the refused entries rejected when their batch-mates went through
     */
    public static java.util.List<PublishOutcome> blameRefusedEntries(java.util.List<PublishOutcome> singles) {
        if (singles.stream().noneMatch(PublishOutcome::isPublished)) {
            return singles;
        }
        return singles.stream().map(o -> o.status() == PublishOutcome.Status.RETRY
                ? PublishOutcome.rejected("refused alone while its batch-mates went through: " + o.reason()) : o)
                .toList();
    }

    private static Set<String> lower(String... codes) {
        return Set.of(java.util.Arrays.stream(codes).map(c -> c.toLowerCase(Locale.ROOT)).toArray(String[]::new));
    }
}
