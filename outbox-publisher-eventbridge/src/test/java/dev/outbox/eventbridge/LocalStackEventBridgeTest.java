package dev.outbox.eventbridge;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.outbox.Event;
import dev.outbox.spi.PublishOutcome;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.localstack.LocalStackContainer;
import org.testcontainers.utility.DockerImageName;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.eventbridge.EventBridgeClient;

/** Against LocalStack's EventBridge, where a Docker engine runs; skipped (not failed) elsewhere. */
class LocalStackEventBridgeTest {

    static boolean dockerAvailable() {
        boolean mayRun = System.getenv("DOCKER_HOST") != null || Files.exists(Path.of("/var/run/docker.sock"));
        return mayRun && DockerClientFactory.instance().isDockerAvailable();
    }

    @Test
    void eventsArePublishedToLocalStacksDefaultBus() {
        assumeTrue(dockerAvailable(), "no Docker engine: LocalStack cannot run here");
        try (LocalStackContainer localstack = new LocalStackContainer(DockerImageName.parse("localstack/localstack:3.8"))
                .withServices(LocalStackContainer.EnabledService.named("events"))) {
            localstack.start();
            try (EventBridgeClient client = EventBridgeClient.builder().endpointOverride(localstack.getEndpoint())
                    .region(Region.of(localstack.getRegion()))
                    .credentialsProvider(StaticCredentialsProvider.create(
                            AwsBasicCredentials.create(localstack.getAccessKey(), localstack.getSecretKey())))
                    .build();
                 EventBridgePublisher publisher = EventBridgePublisher.builder().client(client)
                         .source("com.example.orders").build()) {
                List<PublishOutcome> outcomes = publisher.publish(List.of(
                        Event.of("order", "1", "order_placed", "{\"n\":1}"),
                        Event.of("order", "2", "order_placed", "{\"n\":2}")));
                assertTrue(outcomes.stream().allMatch(PublishOutcome::isPublished), outcomes.toString());
            }
        }
    }
}
