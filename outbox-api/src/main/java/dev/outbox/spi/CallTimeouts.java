package dev.outbox.spi;

import dev.outbox.InvalidConfigurationException;
import java.time.Duration;
import java.util.Set;

/**
 * Bounds on a broker call, for publishers that build their own SDK client: the whole call including SDK retries,
 * each try, and how many tries the SDK makes. Bounded calls let the relay stop starting calls in time for a
 * batch's lease, and keep SDK retries from multiplying with the relay's own (at most {@code maxAttempts} sends per
 * relay attempt).
 *
 * @param callTimeout the longest one call takes, SDK retries included: 100 ms to 5 min
 * @param attemptTimeout the longest one try takes: 100 ms up to {@code callTimeout}
 * @param maxAttempts tries the SDK makes per call, 1 (no SDK retry) to 10
 */
public record CallTimeouts(Duration callTimeout, Duration attemptTimeout, int maxAttempts) {

    // Declared before DEFAULT: static fields initialise in order, and DEFAULT's constructor reads them.
    private static final Duration MIN = Duration.ofMillis(100);
    private static final Duration MAX = Duration.ofMinutes(5);

    /** 10 s per call, 3 s per try, 2 tries. */
    public static final CallTimeouts DEFAULT = new CallTimeouts(Duration.ofSeconds(10), Duration.ofSeconds(3), 2);

    /** The setting keys {@link #from(PublisherSettings)} reads. */
    public static final Set<String> KEYS = Set.of("callTimeout", "attemptTimeout", "maxAttempts");

    /**
     * Checks the bounds.
     *
     * @param callTimeout the longest one call takes
     * @param attemptTimeout the longest one try takes
     * @param maxAttempts tries per call
     * @throws InvalidConfigurationException naming a value out of range
     */
    public CallTimeouts {
        if (callTimeout == null || callTimeout.compareTo(MIN) < 0 || callTimeout.compareTo(MAX) > 0) {
            throw new InvalidConfigurationException("callTimeout must be from " + MIN + " to " + MAX + ", was "
                    + callTimeout);
        }
        if (attemptTimeout == null || attemptTimeout.compareTo(MIN) < 0 || attemptTimeout.compareTo(callTimeout) > 0) {
            throw new InvalidConfigurationException("attemptTimeout must be from " + MIN + " to callTimeout ("
                    + callTimeout + "), was " + attemptTimeout);
        }
        if (maxAttempts < 1 || maxAttempts > 10) {
            throw new InvalidConfigurationException("maxAttempts must be from 1 to 10, was " + maxAttempts);
        }
    }

    /**
     * The bound a publisher declares in its {@link CallLimits}: the {@code apiCallTimeout} of its SDK client. A client
     * the user passed in without one is kept as it is, with a warning, since its calls may then hang as long as the
     * network lets them.
     *
     * @param publisher names the publisher in the warning, such as {@code sqs}
     * @param apiCallTimeout the client's {@code overrideConfiguration().apiCallTimeout()}
     * @param builtByPublisher whether the publisher built the client (with {@link #DEFAULT} or given bounds)
     * @return the client's call timeout, or null when it has none
     */
    public static Duration ofClient(String publisher, java.util.Optional<Duration> apiCallTimeout,
                                    boolean builtByPublisher) {
        if (apiCallTimeout.isEmpty() && !builtByPublisher) {
            org.slf4j.LoggerFactory.getLogger(CallTimeouts.class).warn("{} publisher: the client given has no"
                    + " apiCallTimeout, so a call may hang for as long as the network lets it; the relay then stops"
                    + " starting calls a third of the lease before it ends. Set"
                    + " ClientOverrideConfiguration.apiCallTimeout (and a bounded retry strategy) on it", publisher);
        }
        return apiCallTimeout.orElse(null);
    }

    /**
     * Reads {@code callTimeout}, {@code attemptTimeout} (ISO-8601 such as {@code PT3S}, or milliseconds) and
     * {@code maxAttempts}, each defaulting to {@link #DEFAULT}'s.
     *
     * @param settings a publisher's settings
     * @return the bounds
     * @throws InvalidConfigurationException naming the setting that is malformed or out of range
     */
    public static CallTimeouts from(PublisherSettings settings) {
        Duration call = settings.duration("callTimeout", DEFAULT.callTimeout, MIN, MAX);
        Duration attempt = settings.duration("attemptTimeout", DEFAULT.attemptTimeout.compareTo(call) > 0
                ? call : DEFAULT.attemptTimeout, MIN, MAX);
        int attempts = settings.integer("maxAttempts", DEFAULT.maxAttempts, 1, 10);
        try {
            return new CallTimeouts(call, attempt, attempts);
        } catch (InvalidConfigurationException e) {
            throw new InvalidConfigurationException(settings.provider() + " publisher: " + e.getMessage());
        }
    }
}
