package dev.outbox.jdbc;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import javax.sql.DataSource;

/** Data sources that misbehave on purpose: a statement whose answer comes late, a connection that cannot be had. */
public final class SlowStatements {

    private SlowStatements() {
    }

    /**
     * @return {@code db}, except that the first statement prepared with SQL containing {@code marker} answers
     *         {@code millis} after the database ran it
     */
    static DataSource delayingFirst(DataSource db, String marker, long millis) {
        AtomicBoolean pending = new AtomicBoolean(true);
        return delaying(db, marker, () -> pending.getAndSet(false) ? millis : 0);
    }

    /**
     * @return {@code db}, except that a statement prepared with SQL containing {@code marker} answers, with
     *         {@code chance}, from {@code minMillis} to {@code maxMillis} after the database ran it
     */
    public static DataSource delayingSome(DataSource db, String marker, double chance, int minMillis, int maxMillis) {
        return delaying(db, marker, () -> ThreadLocalRandom.current().nextDouble() < chance
                ? ThreadLocalRandom.current().nextInt(minMillis, maxMillis + 1) : 0);
    }

    private static DataSource delaying(DataSource db, String marker, LongSupplier delayMillis) {
        return proxy(DataSource.class, db, (method, args, result) -> {
            if (method.getName().equals("getConnection")) {
                Connection connection = (Connection) result;
                return proxy(Connection.class, connection, (m, a, r) -> {
                    if (m.getName().equals("prepareStatement") && a != null && a[0] instanceof String sql
                            && sql.contains(marker)) {
                        return proxy(PreparedStatement.class, (PreparedStatement) r, (sm, sa, sr) -> {
                            if (sm.getName().startsWith("execute")) {
                                long millis = delayMillis.getAsLong();
                                if (millis > 0) {
                                    Thread.sleep(millis);
                                }
                            }
                            return sr;
                        });
                    }
                    return r;
                });
            }
            return result;
        });
    }

    /** @return {@code db}, except that borrowing a connection throws {@link OutOfMemoryError} once {@code fail} is set */
    public static DataSource failingConnections(DataSource db, AtomicBoolean fail) {
        return (DataSource) Proxy.newProxyInstance(SlowStatements.class.getClassLoader(), new Class<?>[] {DataSource.class},
                (p, method, args) -> {
                    if (method.getName().equals("getConnection") && fail.getAndSet(false)) {
                        throw new OutOfMemoryError("no memory for a connection (test)");
                    }
                    return invoke(method, db, args);
                });
    }

    /** What to answer after the real call returned {@code result}. */
    private interface After {
        Object apply(Method method, Object[] args, Object result) throws Exception;
    }

    @SuppressWarnings("unchecked")
    private static <T> T proxy(Class<T> type, T target, After after) {
        InvocationHandler handler = (p, method, args) -> after.apply(method, args, invoke(method, target, args));
        return (T) Proxy.newProxyInstance(SlowStatements.class.getClassLoader(), new Class<?>[] {type}, handler);
    }

    private static Object invoke(Method method, Object target, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
