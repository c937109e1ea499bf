package dev.outbox.spi;

import dev.outbox.InvalidConfigurationException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * Finds publishers on the classpath through {@link ServiceLoader}.
 *
 * <pre>{@code
 * try (Publisher publisher = Publishers.create("sqs", Map.of("queueUrl", url))) { ... }
 * }</pre>
 */
public final class Publishers {

    private Publishers() {
    }

    /**
     * Builds a publisher from the provider named {@code name}, or from the only provider on the classpath when
     * {@code name} is null.
     *
     * @param name the provider's name, such as {@code sqs}; null for the only one on the classpath
     * @param settings the provider's settings
     * @return a new publisher, which the caller closes
     * @throws InvalidConfigurationException when no provider matches, when {@code name} is null and there is
     *         not exactly one, or when the settings are wrong; the message lists the providers found
     */
    public static Publisher create(String name, Map<String, String> settings) {
        return find(name, Thread.currentThread().getContextClassLoader()).create(settings);
    }

    /**
     * Finds the provider named {@code name}, or the only provider when {@code name} is null.
     *
     * @param name the provider's name; null for the only one
     * @param classLoader where to look for providers
     * @return the provider
     * @throws InvalidConfigurationException when no provider matches; the message lists the providers found
     */
    public static PublisherProvider find(String name, ClassLoader classLoader) {
        List<PublisherProvider> found = new ArrayList<>();
        ServiceLoader.load(PublisherProvider.class, classLoader).forEach(found::add);
        List<String> names = found.stream().map(PublisherProvider::name).toList();
        if (name == null) {
            if (found.size() == 1) {
                return found.get(0);
            }
            throw new InvalidConfigurationException(found.isEmpty()
                    ? "no publisher on the classpath: add outbox-publisher-sqs or outbox-publisher-eventbridge"
                    : "several publishers on the classpath " + names + ": name the one to use");
        }
        return found.stream()
                .filter(p -> p.name().equals(name))
                .findFirst()
                .orElseThrow(() -> new InvalidConfigurationException(
                        "no publisher named '" + name + "' on the classpath; found " + names));
    }
}
