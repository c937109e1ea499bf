package dev.outbox.sqs;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.elasticmq.rest.sqs.SQSRestServer;
import org.elasticmq.rest.sqs.SQSRestServerBuilder;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.CreateQueueRequest;
import software.amazon.awssdk.services.sqs.model.DeleteMessageRequest;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageRequest;

/** A real SQS-compatible server (ElasticMQ) in this JVM, started once, on a free port. */
final class LocalSqs {

    private static SQSRestServer server;
    private static URI endpoint;
    private static SqsClient client;

    private LocalSqs() {
    }

    static synchronized URI endpoint() {
        if (server == null) {
            server = SQSRestServerBuilder.withInterface("127.0.0.1").withDynamicPort().start();
            int port = server.waitUntilStarted().localAddress().getPort();
            endpoint = URI.create("http://127.0.0.1:" + port);
            client = client(endpoint);
            Runtime.getRuntime().addShutdownHook(new Thread(server::stopAndWait, "local-sqs-stop"));
        }
        return endpoint;
    }

    static SqsClient client(URI endpoint) {
        return SqsClient.builder().endpointOverride(endpoint).region(Region.EU_WEST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                .build();
    }

    static synchronized SqsClient client() {
        endpoint();
        return client;
    }

    /** @return the URL of a new, empty queue */
    static String newQueue(boolean fifo) {
        String name = "q-" + UUID.randomUUID().toString().substring(0, 8) + (fifo ? ".fifo" : "");
        CreateQueueRequest.Builder request = CreateQueueRequest.builder().queueName(name);
        if (fifo) {
            request.attributes(Map.of(QueueAttributeName.FIFO_QUEUE, "true"));
        }
        return client().createQueue(request.build()).queueUrl();
    }

    /** Receives and deletes messages until {@code expected} arrived or nothing came for two seconds. */
    static List<Message> drain(String queueUrl, int expected) {
        List<Message> received = new ArrayList<>();
        int emptyPolls = 0;
        while (received.size() < expected && emptyPolls < 2) {
            List<Message> batch = client().receiveMessage(ReceiveMessageRequest.builder().queueUrl(queueUrl)
                    .maxNumberOfMessages(10).waitTimeSeconds(1).messageAttributeNames("All")
                    .messageSystemAttributeNamesWithStrings("All").build()).messages();
            emptyPolls = batch.isEmpty() ? emptyPolls + 1 : 0;
            for (Message m : batch) {
                received.add(m);
                client().deleteMessage(DeleteMessageRequest.builder().queueUrl(queueUrl)
                        .receiptHandle(m.receiptHandle()).build());
            }
        }
        return received;
    }
}
