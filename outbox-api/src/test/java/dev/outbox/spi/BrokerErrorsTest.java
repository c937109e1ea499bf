package dev.outbox.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.outbox.spi.BrokerErrors.Kind;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BrokerErrorsTest {

    @ParameterizedTest(name = "{0} with status {1} is {2}")
    @CsvSource({
        // content: the event will never be accepted
        "InvalidMessageContents, 400, CONTENT",
        "MessageTooLong, 400, CONTENT",
        "AWS.SimpleQueueService.BatchRequestTooLong, 400, CONTENT",
        "MalformedDetail, 0, CONTENT",
        "ValidationException, 400, CONTENT",
        // throttled: backpressure, whatever the status
        "ThrottlingException, 400, THROTTLED",
        "RequestThrottled, 403, THROTTLED",
        "KMS.ThrottlingException, 400, THROTTLED",
        "KmsThrottled, 0, THROTTLED",
        "SomethingNew, 429, THROTTLED",
        "ThrottlingException, 503, THROTTLED",
        // unavailable: permissions, credentials, configuration, KMS, outages
        "AccessDenied, 403, UNAVAILABLE",
        "AccessDeniedException, 400, UNAVAILABLE",
        "ExpiredToken, 400, UNAVAILABLE",
        "ExpiredTokenException, 400, UNAVAILABLE",
        "InvalidClientTokenId, 403, UNAVAILABLE",
        "AWS.SimpleQueueService.NonExistentQueue, 400, UNAVAILABLE",
        "QueueDoesNotExist, 400, UNAVAILABLE",
        "ResourceNotFoundException, 400, UNAVAILABLE",
        "KMSDisabledException, 400, UNAVAILABLE",
        "InternalFailure, 500, UNAVAILABLE",
        "SomethingNew, 503, UNAVAILABLE",
        // unknown: retried with backoff, never dead at once
        "SomethingNew, 400, UNKNOWN",
        "SomethingNew, 0, UNKNOWN",
    })
    void everyPublisherClassifiesTheSameCodeTheSameWay(String code, int status, Kind expected) {
        assertEquals(expected, BrokerErrors.classify(code, status));
    }

    @ParameterizedTest
    @CsvSource({"MessageTooLong, REJECTED", "AccessDenied, UNAVAILABLE", "ThrottlingException, THROTTLED",
        "SomethingNew, RETRY"})
    void outcomesCarryTheBrokerAndItsCode(String code, PublishOutcome.Status status) {
        PublishOutcome outcome = BrokerErrors.outcome("SQS", code, 400, "the message");
        assertEquals(status, outcome.status());
        assertEquals("SQS " + code + ": the message", outcome.reason());
    }
}
