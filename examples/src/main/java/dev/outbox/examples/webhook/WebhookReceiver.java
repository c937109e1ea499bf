package dev.outbox.examples.webhook;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A webhook consumer for the example, in process: it answers 503 to a share of requests at random, as an overloaded
 * service does, and keeps what it accepted in arrival order.
 */
public final class WebhookReceiver implements AutoCloseable {

    /**
     * One accepted delivery.
     *
     * @param eventId the X-Event-Id header
     * @param aggregate the X-Aggregate header
     * @param body the body as received
     */
    public record Delivery(String eventId, String aggregate, String body) {
    }

    private final HttpServer server;
    private final ExecutorService threads = Executors.newFixedThreadPool(8);
    private final List<Delivery> accepted = new ArrayList<>();
    private final double failureShare;

    /**
     * Starts a receiver on a free port of the loopback interface.
     *
     * @param failureShare share of requests answered 503, from 0 to 1
     * @throws IOException when the port cannot be opened
     */
    public WebhookReceiver(double failureShare) throws IOException {
        this.failureShare = failureShare;
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 100);
        server.setExecutor(threads);
        server.createContext("/events", exchange -> {
            try (InputStream in = exchange.getRequestBody()) {
                String body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                if (ThreadLocalRandom.current().nextDouble() < this.failureShare) {
                    exchange.sendResponseHeaders(503, -1);
                    return;
                }
                synchronized (accepted) {
                    accepted.add(new Delivery(exchange.getRequestHeaders().getFirst("X-Event-Id"),
                            exchange.getRequestHeaders().getFirst("X-Aggregate"), body));
                }
                exchange.sendResponseHeaders(204, -1);
            } finally {
                exchange.close();
            }
        });
        server.start();
    }

    /** @return the URL events are POSTed to */
    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/events");
    }

    /** @return what was accepted so far, in arrival order */
    public List<Delivery> accepted() {
        synchronized (accepted) {
            return List.copyOf(accepted);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
