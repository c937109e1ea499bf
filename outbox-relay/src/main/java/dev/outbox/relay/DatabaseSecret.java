package dev.outbox.relay;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.outbox.InvalidConfigurationException;
import java.io.IOException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;
import software.amazon.awssdk.services.secretsmanager.model.GetSecretValueRequest;

/**
 * A database user and password read from an AWS Secrets Manager secret whose value is a JSON object with
 * {@code username} and {@code password}, the form RDS and the console write. Read once at start; the SDK's default
 * chains give the region and credentials (a Lambda's or a task's role), and {@code AWS_ENDPOINT_URL_SECRETS_MANAGER}
 * an endpoint of your own (a VPC endpoint).
 *
 * @param user the database user
 * @param password the database password
 */
public record DatabaseSecret(String user, String password) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param secretArn the secret's ARN or name
     * @return its user and password
     * @throws InvalidConfigurationException when the secret cannot be read or is not of that form, naming the secret
     *         but never its value
     */
    public static DatabaseSecret read(String secretArn) {
        String value;
        try (SecretsManagerClient client = SecretsManagerClient.create()) {
            value = client.getSecretValue(GetSecretValueRequest.builder().secretId(secretArn).build()).secretString();
        } catch (SdkException e) {
            throw new InvalidConfigurationException("OUTBOX_JDBC_SECRET_ARN = '" + secretArn + "' cannot be read: "
                    + e.getMessage());
        }
        try {
            JsonNode secret = JSON.readTree(value == null ? "" : value);
            if (secret == null || !secret.path("username").isTextual() || !secret.path("password").isTextual()) {
                throw new IOException("not a JSON object with username and password");
            }
            return new DatabaseSecret(secret.get("username").asText(), secret.get("password").asText());
        } catch (IOException e) {
            throw new InvalidConfigurationException("OUTBOX_JDBC_SECRET_ARN = '" + secretArn + "': its value is "
                    + "not a JSON object with username and password");
        }
    }

    /** @return the user, the password hidden */
    @Override
    public String toString() {
        return "DatabaseSecret[user=" + user + ", password=***]";
    }
}
