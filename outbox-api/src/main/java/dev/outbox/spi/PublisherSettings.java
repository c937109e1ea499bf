package dev.outbox.spi;

import dev.outbox.InvalidConfigurationException;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads a provider's string settings with errors that name the provider, the key and the value.
 *
 * @param provider the provider's name, used in messages
 * @param values the raw settings
 */
public record PublisherSettings(String provider, Map<String, String> values) {

    /**
     * Copies the settings and refuses keys outside {@code known}, so a misspelt key is an error.
     *
     * @param provider the provider's name, used in messages
     * @param values the settings as given
     * @param known every key the provider understands
     * @return the checked settings
     * @throws InvalidConfigurationException naming the unknown keys and the known ones
     */
    public static PublisherSettings of(String provider, Map<String, String> values, Set<String> known) {
        if (values == null) {
            throw new InvalidConfigurationException(provider + " publisher: settings must not be null");
        }
        Set<String> unknown = new TreeSet<>(values.keySet());
        unknown.removeAll(known);
        if (!unknown.isEmpty()) {
            throw new InvalidConfigurationException(provider + " publisher: unknown setting(s) " + unknown
                    + "; known settings are " + new TreeSet<>(known));
        }
        return new PublisherSettings(provider, Map.copyOf(values));
    }

    /**
     * @param key the setting's name
     * @return the trimmed value, or empty when absent or blank
     */
    public Optional<String> optional(String key) {
        String value = values.get(key);
        return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.trim());
    }

    /**
     * @param key the setting's name
     * @return the trimmed value
     * @throws InvalidConfigurationException when the key is absent or blank
     */
    public String required(String key) {
        return optional(key).orElseThrow(() -> invalid(key, null, "is required"));
    }

    /**
     * @param key the setting's name
     * @return the URI, or empty when absent
     * @throws InvalidConfigurationException when present but not an absolute URI
     */
    public Optional<URI> uri(String key) {
        return optional(key).map(v -> {
            try {
                URI uri = new URI(v);
                if (!uri.isAbsolute() || uri.getHost() == null) {
                    throw invalid(key, v, "must be an absolute URI such as https://host:port");
                }
                return uri;
            } catch (URISyntaxException e) {
                throw invalid(key, v, "is not a URI: " + e.getReason());
            }
        });
    }

    /**
     * @param key the setting's name
     * @param defaultValue used when absent
     * @param min smallest allowed
     * @param max largest allowed
     * @return the value
     * @throws InvalidConfigurationException when present but not an integer from min to max
     */
    public int integer(String key, int defaultValue, int min, int max) {
        Optional<String> raw = optional(key);
        if (raw.isEmpty()) {
            return defaultValue;
        }
        try {
            int value = Integer.parseInt(raw.get());
            if (value < min || value > max) {
                throw invalid(key, raw.get(), "must be from " + min + " to " + max);
            }
            return value;
        } catch (NumberFormatException e) {
            throw invalid(key, raw.get(), "is not an integer");
        }
    }

    /**
     * @param key the setting's name
     * @param defaultValue used when absent
     * @return the value
     * @throws InvalidConfigurationException when present but neither {@code true} nor {@code false}
     */
    public boolean bool(String key, boolean defaultValue) {
        Optional<String> raw = optional(key);
        if (raw.isEmpty()) {
            return defaultValue;
        }
        return switch (raw.get().toLowerCase(java.util.Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw invalid(key, raw.get(), "must be true or false");
        };
    }

    /**
     * Reads an ISO-8601 duration ({@code PT5S}) or a number of milliseconds.
     *
     * @param key the setting's name
     * @param defaultValue used when absent
     * @param min shortest allowed
     * @param max longest allowed
     * @return the value
     * @throws InvalidConfigurationException when present but malformed or outside min to max
     */
    public Duration duration(String key, Duration defaultValue, Duration min, Duration max) {
        Optional<String> raw = optional(key);
        if (raw.isEmpty()) {
            return defaultValue;
        }
        Duration value;
        try {
            value = raw.get().chars().allMatch(Character::isDigit)
                    ? Duration.ofMillis(Long.parseLong(raw.get()))
                    : Duration.parse(raw.get());
        } catch (DateTimeParseException | NumberFormatException e) {
            throw invalid(key, raw.get(), "is not a duration (PT5S) or a number of milliseconds");
        }
        if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
            throw invalid(key, raw.get(), "must be from " + min + " to " + max);
        }
        return value;
    }

    /**
     * @param key the setting's name
     * @param value the value given, or null
     * @param rule what the value breaks, such as {@code is required}
     * @return an exception whose message names the provider, the key and the value
     */
    public InvalidConfigurationException invalid(String key, String value, String rule) {
        return new InvalidConfigurationException(provider + " publisher: setting '" + key + "'"
                + (value == null ? "" : " = '" + value + "'") + " " + rule);
    }
}
