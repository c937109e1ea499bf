package dev.outbox.spi;

import dev.outbox.Event;
import dev.outbox.InvalidConfigurationException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One outbox, several destinations: each event goes to the publisher of the first route that matches it (by event
 * type, aggregate type or a header naming the destination), so one relay can feed several queues or buses, SQS for
 * some events and EventBridge for others. An event no route matches is rejected, naming the routes.
 *
 * <p>Order per aggregate holds within every destination: the relay keeps it for every event it hands over, whatever
 * publisher takes it. One call of the router is split into one call per route; when several routes are involved,
 * their calls run at once, on daemon threads {@code outbox-route-<n>} the router starts and stops on
 * {@link #close()}. Each route answers for its own events: if a route's publisher throws, its events come back
 * {@linkplain PublishOutcome#unknown unknown} (the relay looks for the event responsible among them alone, and finds
 * the route unavailable when none of them goes through) while the other routes' answers stand; a route that does not
 * answer within its publisher's declared call timeout and a second more is unavailable for its own events, and the
 * router answers without it.
 *
 * <p>From settings, as every publisher is configured:
 * <pre>
 * routes=orders,audit
 * routes.orders.match=aggregateType:order|eventType:payment_captured
 * routes.orders.publisher=sqs
 * routes.orders.queueUrl=https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo
 * routes.audit.match=*
 * routes.audit.publisher=eventbridge
 * routes.audit.source=com.example.audit
 * </pre>
 * A match is {@code *}, or alternatives separated by {@code |}: {@code eventType:<type>},
 * {@code aggregateType:<type>}, {@code header:<name>=<value>}. Every other {@code routes.<name>.*} key is that
 * route's publisher's own setting.
 */
public final class RoutingPublisher implements Publisher {

    /** One destination. */
    private record Route(String name, Predicate<Event> match, Publisher publisher, boolean owned) {
    }

    private static final Logger log = LoggerFactory.getLogger(RoutingPublisher.class);

    private final List<Route> routes;
    private final CallLimits limits;
    private final java.util.concurrent.ExecutorService threads;

    private RoutingPublisher(List<Route> routes) {
        this.routes = List.copyOf(routes);
        int maxEvents = Integer.MAX_VALUE;
        int perAggregate = Integer.MAX_VALUE;
        Duration timeout = Duration.ZERO;
        for (Route r : routes) {
            CallLimits l = r.publisher().callLimits();
            maxEvents = Math.min(maxEvents, l.maxEvents());
            perAggregate = Math.min(perAggregate, l.eventsPerAggregate());
            timeout = timeout == null || l.callTimeout() == null ? null
                    : (l.callTimeout().compareTo(timeout) > 0 ? l.callTimeout() : timeout);
        }
        this.limits = new CallLimits(maxEvents, perAggregate, timeout);
        // As many threads as calls under way: several relay loops call one router at once, and a route left behind
        // after its timeout keeps its thread until it ends. Idle threads end after a minute.
        java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        this.threads = routes.size() > 1 ? java.util.concurrent.Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "outbox-route-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        }) : null;
    }

    /** @return a builder for routes to publishers you built */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Builds the routes and their publishers (found with {@link Publishers#find}) from settings.
     *
     * @param settings {@code routes}, and for each route {@code routes.<name>.match}, {@code routes.<name>.publisher}
     *        and that publisher's settings under {@code routes.<name>.}
     * @return the router; closing it closes the publishers it built
     * @throws InvalidConfigurationException naming the route and the setting that is missing or malformed
     */
    public static RoutingPublisher fromSettings(Map<String, String> settings) {
        String list = settings.get("routes");
        if (list == null || list.isBlank()) {
            throw new InvalidConfigurationException("router: 'routes' is required, such as routes=orders,audit");
        }
        Map<String, Map<String, String>> perRoute = new LinkedHashMap<>();
        for (String name : list.split(",")) {
            String trimmed = name.trim();
            if (trimmed.isEmpty() || perRoute.put(trimmed, new HashMap<>()) != null) {
                throw new InvalidConfigurationException("router: 'routes' = '" + list
                        + "' must name distinct routes, separated by commas");
            }
        }
        for (Map.Entry<String, String> e : settings.entrySet()) {
            if (e.getKey().equals("routes")) {
                continue;
            }
            String[] parts = e.getKey().split("\\.", 3);
            if (parts.length != 3 || !parts[0].equals("routes") || !perRoute.containsKey(parts[1])) {
                throw new InvalidConfigurationException("router: unknown setting '" + e.getKey()
                        + "'; settings are routes and routes.<one of " + perRoute.keySet() + ">.<key>");
            }
            perRoute.get(parts[1]).put(parts[2], e.getValue());
        }
        Builder builder = builder();
        try {
            for (Map.Entry<String, Map<String, String>> route : perRoute.entrySet()) {
                Map<String, String> own = new HashMap<>(route.getValue());
                String match = own.remove("match");
                String publisher = own.remove("publisher");
                if (match == null || publisher == null) {
                    throw new InvalidConfigurationException("router: route '" + route.getKey()
                            + "' needs routes." + route.getKey() + ".match and routes." + route.getKey() + ".publisher");
                }
                Predicate<Event> predicate = parseMatch(route.getKey(), match);
                Publisher built = Publishers.find(publisher, Thread.currentThread().getContextClassLoader()).create(own);
                builder.routes.add(new Route(route.getKey(), predicate, built, true));
            }
        } catch (RuntimeException e) {
            builder.routes.forEach(r -> r.publisher().close());
            throw e;
        }
        return builder.build();
    }

    /**
     * {@inheritDoc}
     *
     * <p>The destination of the publisher of the route that matches; system {@code none} for an event no route
     * matches.
     */
    @Override
    public Destination destination(Event event) {
        int route = routeOf(event);
        return route < 0 ? new Destination("none", "unrouted") : routes.get(route).publisher().destination(event);
    }

    @Override
    public List<PublishOutcome> publish(List<Event> events) {
        PublishOutcome[] outcomes = new PublishOutcome[events.size()];
        Map<Integer, List<Integer>> byRoute = new LinkedHashMap<>();
        for (int i = 0; i < events.size(); i++) {
            int route = routeOf(events.get(i));
            if (route < 0) {
                outcomes[i] = PublishOutcome.rejected("no route matches event type '" + events.get(i).type()
                        + "' of aggregate type '" + events.get(i).aggregateType() + "'; routes: "
                        + routes.stream().map(Route::name).toList());
            } else {
                byRoute.computeIfAbsent(route, r -> new ArrayList<>()).add(i);
            }
        }
        List<Map.Entry<Integer, List<Integer>>> groups = new ArrayList<>(byRoute.entrySet());
        List<CompletableFuture<List<PublishOutcome>>> sent = new ArrayList<>();
        for (Map.Entry<Integer, List<Integer>> group : groups) {
            List<Event> sub = group.getValue().stream().map(events::get).toList();
            Route route = routes.get(group.getKey());
            sent.add(groups.size() == 1 ? CompletableFuture.completedFuture(answer(route, sub))
                    : CompletableFuture.supplyAsync(() -> answer(route, sub), threads));
        }
        for (int g = 0; g < groups.size(); g++) {
            List<Integer> indexes = groups.get(g).getValue();
            List<PublishOutcome> result = await(routes.get(groups.get(g).getKey()), sent.get(g), indexes.size());
            for (int k = 0; k < indexes.size(); k++) {
                outcomes[indexes.get(k)] = result.get(k);
            }
        }
        return Arrays.asList(outcomes);
    }

    /**
     * One route's answer for its events: what its publisher said; if it threw, {@linkplain PublishOutcome#unknown
     * unknown} for these events only, so that the relay looks for the event responsible among them and never sends
     * another route's events again; if it answered wrongly, a retry of these events.
     */
    private static List<PublishOutcome> answer(Route route, List<Event> events) {
        List<PublishOutcome> result;
        try {
            result = route.publisher().publish(events);
        } catch (Throwable t) { // an Error from one route's publisher is that route's, as it would be alone
            log.warn("router: the publisher of route '{}' threw for {} events, first {}: {}", route.name(),
                    events.size(), events.get(0).id(), t.toString());
            return nCopies(events.size(), PublishOutcome.unknown("route '" + route.name() + "': publisher threw " + t));
        }
        boolean hasNull = result != null && result.stream().anyMatch(Objects::isNull); // List.of refuses contains(null)
        if (result == null || result.size() != events.size() || hasNull) {
            String broken = "route '" + route.name() + "': publisher returned " + (result == null ? "null"
                    : result.size() + " outcomes" + (hasNull ? " with a null" : "")) + " for " + events.size()
                    + " events";
            log.error("router: {} (a publisher bug); retrying them", broken);
            return nCopies(events.size(), PublishOutcome.retry(broken));
        }
        return result;
    }

    /**
     * Waits for a route's answer, at most its publisher's declared call timeout and a second more: a route that does
     * not answer in that time is unavailable for its own events, and the others' answers are not held up by it.
     */
    private static List<PublishOutcome> await(Route route, CompletableFuture<List<PublishOutcome>> answer, int events) {
        Duration bound = route.publisher().callLimits().callTimeout();
        try {
            return bound == null ? answer.get()
                    : answer.get(bound.plusSeconds(1).toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            log.warn("router: route '{}' did not answer within its {} ms call timeout; its {} events are given back",
                    route.name(), bound.toMillis(), events);
            return nCopies(events, PublishOutcome.unavailable("route '" + route.name() + "' did not answer within its "
                    + bound.toMillis() + " ms call timeout"));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return nCopies(events, PublishOutcome.notSent("route '" + route.name() + "': interrupted while waiting"));
        } catch (ExecutionException e) {
            return nCopies(events, PublishOutcome.unknown("route '" + route.name() + "': " + e.getCause()));
        }
    }

    private static List<PublishOutcome> nCopies(int n, PublishOutcome outcome) {
        return java.util.Collections.nCopies(n, outcome);
    }

    /** The strictest limits of the routes' publishers, and the longest call timeout: routes are called at once. */
    @Override
    public CallLimits callLimits() {
        return limits;
    }

    /**
     * Stops the router's threads and closes the publishers built from settings; those given to the builder are the
     * caller's to close.
     */
    @Override
    public void close() {
        if (threads != null) {
            threads.shutdown();
        }
        for (Route r : routes) {
            if (r.owned()) {
                r.publisher().close();
            }
        }
    }

    private int routeOf(Event event) {
        for (int i = 0; i < routes.size(); i++) {
            if (routes.get(i).match().test(event)) {
                return i;
            }
        }
        return -1;
    }

    private static Predicate<Event> parseMatch(String route, String spec) {
        if (spec.trim().equals("*")) {
            return e -> true;
        }
        Predicate<Event> any = e -> false;
        for (String alternative : spec.split("\\|")) {
            String a = alternative.trim();
            Predicate<Event> one;
            if (a.startsWith("eventType:")) {
                String type = a.substring("eventType:".length());
                one = e -> e.type().equals(type);
            } else if (a.startsWith("aggregateType:")) {
                String type = a.substring("aggregateType:".length());
                one = e -> e.aggregateType().equals(type);
            } else if (a.startsWith("header:") && a.indexOf('=') > "header:".length()) {
                String name = a.substring("header:".length(), a.indexOf('='));
                String value = a.substring(a.indexOf('=') + 1);
                one = e -> value.equals(e.headers().get(name));
            } else {
                throw new InvalidConfigurationException("router: routes." + route + ".match = '" + spec + "': '" + a
                        + "' is not *, eventType:<type>, aggregateType:<type> or header:<name>=<value>");
            }
            any = any.or(one);
        }
        return any;
    }

    /** Routes to publishers you built, tried in the order added. */
    public static final class Builder {
        private final List<Route> routes = new ArrayList<>();

        private Builder() {
        }

        /**
         * @param name names the route in reasons and logs
         * @param match which events take this route
         * @param publisher where they go; not closed by the router
         * @return this builder
         */
        public Builder route(String name, Predicate<Event> match, Publisher publisher) {
            routes.add(new Route(Objects.requireNonNull(name, "name"), Objects.requireNonNull(match, "match"),
                    Objects.requireNonNull(publisher, "publisher"), false));
            return this;
        }

        /**
         * @return the router
         * @throws InvalidConfigurationException when no route was added
         */
        public RoutingPublisher build() {
            if (routes.isEmpty()) {
                throw new InvalidConfigurationException("router: at least one route is required");
            }
            return new RoutingPublisher(routes);
        }
    }
}
