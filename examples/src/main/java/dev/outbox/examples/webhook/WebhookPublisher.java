package dev.outbox.examples.webhook;

import dev.outbox.Event;
import dev.outbox.spi.CallLimits;
import dev.outbox.spi.PublishOutcome;
import dev.outbox.spi.Publisher;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A publisher to something other than AWS: each event is POSTed to a webhook, its payload as the body and its ids in
 * headers. Written against the Publisher contract in the README and nothing else.
 *
 * <p>It sends all events of a call at once and in no particular order: the relay never puts two events of one
 * aggregate in a call, and holds an aggregate's next event back until this one is published, so order is kept
 * without any code here. 2xx is published; 4xx other than 408 and 429 means the receiver will never take this event
 * (rejected); anything else, and any network error or timeout, is retried by the relay with backoff.
 */
public final class WebhookPublisher implements Publisher {

    private final HttpClient http;
    private final URI endpoint;
    private final Duration requestTimeout;

    /**
     * @param endpoint where events are POSTed
     * @param requestTimeout the longest one request may take; also this publisher's declared call timeout
     */
    public WebhookPublisher(URI endpoint, Duration requestTimeout) {
        this.endpoint = endpoint;
        this.requestTimeout = requestTimeout;
        this.http = HttpClient.newBuilder().connectTimeout(requestTimeout).build();
    }

    @Override
    public List<PublishOutcome> publish(List<Event> events) {
        List<CompletableFuture<PublishOutcome>> sent = new ArrayList<>(events.size());
        for (Event event : events) {
            HttpRequest request = HttpRequest.newBuilder(endpoint)
                    .timeout(requestTimeout)
                    .header("Content-Type", "application/json")
                    .header("X-Event-Id", event.id().toString())
                    .header("X-Event-Type", event.type())
                    .header("X-Aggregate", event.aggregateType() + "/" + event.aggregateId())
                    .POST(HttpRequest.BodyPublishers.ofString(event.payload()))
                    .build();
            sent.add(http.sendAsync(request, HttpResponse.BodyHandlers.discarding())
                    .thenApply(response -> outcome(response.statusCode()))
                    .exceptionally(error -> PublishOutcome.retry("webhook unreachable: " + error.getMessage())));
        }
        return sent.stream().map(CompletableFuture::join).toList();
    }

    /** At most 50 requests in flight per call, each bounded by the request timeout. */
    @Override
    public CallLimits callLimits() {
        return new CallLimits(50, 1, requestTimeout.plusSeconds(1));
    }

    private static PublishOutcome outcome(int status) {
        if (status >= 200 && status < 300) {
            return PublishOutcome.published();
        }
        if (status >= 400 && status < 500 && status != 408 && status != 429) {
            return PublishOutcome.rejected("webhook answered " + status);
        }
        return PublishOutcome.retry("webhook answered " + status);
    }
}
