package dev.outbox;

import java.time.Duration;

/**
 * How a failed publication is retried: exponential backoff with jitter, capped, for a bounded number of
 * attempts. After the last attempt the event is dead and keeps its last error.
 *
 * <p>The delay before attempt {@code n + 1} after {@code n} failed attempts is
 * {@code min(maxDelay, initialDelay * multiplier^(n-1))}, then reduced by a random fraction of up to
 * {@code jitter} so that many relays do not retry in step.
 *
 * @param initialDelay delay after the first failure, at least 1 ms
 * @param maxDelay cap on any delay, at least {@code initialDelay}
 * @param multiplier growth per failure, 1.0 to 100.0
 * @param jitter fraction of the delay taken off at random, 0.0 (none) to 1.0
 * @param maxAttempts attempts before the event is dead, 1 to 1000
 */
public record RetryPolicy(Duration initialDelay, Duration maxDelay, double multiplier, double jitter, int maxAttempts) {

    /** 1 s, doubling, capped at 5 min, 20 % jitter, 10 attempts (about 13 minutes in all). */
    public static final RetryPolicy DEFAULT = new RetryPolicy(Duration.ofSeconds(1), Duration.ofMinutes(5), 2.0, 0.2, 10);

    /**
     * Validates every setting.
     *
     * @param initialDelay delay after the first failure
     * @param maxDelay cap on any delay
     * @param multiplier growth per failure
     * @param jitter fraction of each delay taken off at random
     * @param maxAttempts attempts before an event is dead
     * @throws InvalidConfigurationException naming the setting, its value and the allowed range
     */
    public RetryPolicy {
        if (initialDelay == null || initialDelay.toMillis() < 1) {
            throw new InvalidConfigurationException("retry initialDelay must be at least 1 ms, was " + initialDelay);
        }
        if (maxDelay == null || maxDelay.compareTo(initialDelay) < 0) {
            throw new InvalidConfigurationException(
                    "retry maxDelay must be at least initialDelay (" + initialDelay + "), was " + maxDelay);
        }
        if (!(multiplier >= 1.0 && multiplier <= 100.0)) {
            throw new InvalidConfigurationException("retry multiplier must be from 1.0 to 100.0, was " + multiplier);
        }
        if (!(jitter >= 0.0 && jitter <= 1.0)) {
            throw new InvalidConfigurationException("retry jitter must be from 0.0 to 1.0, was " + jitter);
        }
        if (maxAttempts < 1 || maxAttempts > 1000) {
            throw new InvalidConfigurationException("retry maxAttempts must be from 1 to 1000, was " + maxAttempts);
        }
    }

    /** @return a builder starting from {@link #DEFAULT} */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The delay before the next attempt.
     *
     * @param failedAttempts attempts that have failed so far, at least 1
     * @param random a value in [0, 1) that picks the jitter
     * @return the delay, between {@code (1 - jitter)} and 1 times the backoff
     */
    public Duration delayAfter(int failedAttempts, double random) {
        if (failedAttempts < 1) {
            throw new IllegalArgumentException("failedAttempts must be at least 1, was " + failedAttempts);
        }
        double backoff = initialDelay.toMillis() * Math.pow(multiplier, failedAttempts - 1);
        double capped = Math.min(backoff, maxDelay.toMillis());
        long millis = (long) Math.ceil(capped * (1.0 - jitter * random));
        return Duration.ofMillis(Math.max(1, millis));
    }

    /**
     * @param failedAttempts how many attempts have failed so far
     * @return true when an event that has failed {@code failedAttempts} times gets no further attempt
     */
    public boolean exhausted(int failedAttempts) {
        return failedAttempts >= maxAttempts;
    }

    /** Builds a {@link RetryPolicy}; validation happens in {@link #build()}. */
    public static final class Builder {
        private Duration initialDelay = DEFAULT.initialDelay;
        private Duration maxDelay = DEFAULT.maxDelay;
        private double multiplier = DEFAULT.multiplier;
        private double jitter = DEFAULT.jitter;
        private int maxAttempts = DEFAULT.maxAttempts;

        private Builder() {
        }

        /**
         * Delay after the first failure.
         *
         * @param initialDelay at least 1 ms
         * @return this builder
         */
        public Builder initialDelay(Duration initialDelay) {
            this.initialDelay = initialDelay;
            return this;
        }

        /**
         * Cap on any delay.
         *
         * @param maxDelay at least the initial delay
         * @return this builder
         */
        public Builder maxDelay(Duration maxDelay) {
            this.maxDelay = maxDelay;
            return this;
        }

        /**
         * Growth per failure.
         *
         * @param multiplier at least 1
         * @return this builder
         */
        public Builder multiplier(double multiplier) {
            this.multiplier = multiplier;
            return this;
        }

        /**
         * Fraction of each delay taken off at random.
         *
         * @param jitter from 0 to 1
         * @return this builder
         */
        public Builder jitter(double jitter) {
            this.jitter = jitter;
            return this;
        }

        /**
         * Attempts before the event is dead.
         *
         * @param maxAttempts at least 1
         * @return this builder
         */
        public Builder maxAttempts(int maxAttempts) {
            this.maxAttempts = maxAttempts;
            return this;
        }

        /**
         * @return the validated policy
         * @throws InvalidConfigurationException naming a setting out of range
         */
        public RetryPolicy build() {
            return new RetryPolicy(initialDelay, maxDelay, multiplier, jitter, maxAttempts);
        }
    }
}
