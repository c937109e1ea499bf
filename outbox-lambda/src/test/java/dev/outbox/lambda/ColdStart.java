package dev.outbox.lambda;

import com.amazonaws.services.lambda.runtime.Context;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Proxy;
import java.util.Map;

/**
 * Measures a cold start as Lambda makes one, in a fresh JVM: the handler built from the environment, then one
 * invocation. Prints the time from the JVM's start and from the handler's class being loaded to the first claim.
 * {@code java -cp outbox-lambda/target/outbox-lambda-<version>-all.jar:outbox-lambda/target/test-classes
 * dev.outbox.lambda.ColdStart}, with the function's {@code OUTBOX_*} variables set.
 */
public final class ColdStart {

    private ColdStart() {
    }

    /** A context whose remaining time counts down from {@code millis} as the invocation runs, as Lambda's does. */
    static Context context(long millis) {
        long deadline = System.currentTimeMillis() + millis;
        return (Context) Proxy.newProxyInstance(Context.class.getClassLoader(), new Class<?>[] {Context.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getRemainingTimeInMillis" -> (int) Math.max(0, deadline - System.currentTimeMillis());
                    case "getAwsRequestId" -> "request-1";
                    case "getFunctionName" -> "outbox-relay";
                    case "getMemoryLimitInMB" -> 512;
                    case "toString" -> "test context";
                    default -> null;
                });
    }

    /** @param args none */
    public static void main(String[] args) {
        long jvmStart = ManagementFactory.getRuntimeMXBean().getStartTime();
        long initStart = System.currentTimeMillis();
        ScheduledRelayHandler handler = new ScheduledRelayHandler();
        long initMillis = System.currentTimeMillis() - initStart;
        Map<String, Object> answer = handler.handleRequest(Map.of(), context(60_000));
        long firstAnswer = System.currentTimeMillis();
        System.out.printf("init (handler built) %d ms; class load to first claim %s ms; JVM start to first answer %d ms%n",
                initMillis, answer.get("coldStartMillis"), firstAnswer - jvmStart);
        handler.close();
    }
}
