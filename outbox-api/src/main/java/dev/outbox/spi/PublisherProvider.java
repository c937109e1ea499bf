package dev.outbox.spi;

import java.util.Map;

/**
 * Builds a {@link Publisher} from string settings. Registered in
 * {@code META-INF/services/dev.outbox.spi.PublisherProvider}, so putting a publisher's jar on the classpath is
 * all it takes to use it; {@link Publishers} finds it.
 */
public interface PublisherProvider {

    /** @return the name users select this provider by, such as {@code sqs} or {@code eventbridge} */
    String name();

    /**
     * Builds a publisher. Settings come from properties or the environment, so every value is a string.
     *
     * @param settings the provider's settings; an unknown key is an error, so a typo is not silently ignored
     * @return a new publisher, which the caller closes
     * @throws dev.outbox.InvalidConfigurationException naming a missing, unknown or malformed setting
     */
    Publisher create(Map<String, String> settings);
}
