package dev.outbox.relay;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.outbox.InvalidConfigurationException;
import dev.outbox.RelayListener;
import dev.outbox.jdbc.Database;
import dev.outbox.jdbc.DeadEvent;
import dev.outbox.jdbc.OutboxSchema;
import dev.outbox.jdbc.OutboxStats;
import dev.outbox.jdbc.OutboxTable;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** The commands of {@link Main}, one class each. */
final class Commands {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Commands() {
    }

    /** Runs {@code work} on the table's operations, from the environment's settings. */
    static <T> T withOutbox(Function<RelayResources, T> work) {
        try (RelayResources resources = RelayResources.open(RelayConfig.fromEnvironment(), false,
                RelayListener.NONE)) {
            return work.apply(resources);
        }
    }

    static void printJson(PrintWriter out, Object node) {
        try {
            out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Duration duration(String option, String value) {
        try {
            return RelayConfig.parseDuration(value);
        } catch (DateTimeParseException | NumberFormatException e) {
            throw new InvalidConfigurationException(option + " '" + value + "' is not a duration such as P7D or PT12H");
        }
    }

    /** The relay service, until SIGTERM or SIGINT. */
    @Command(name = "serve", mixinStandardHelpOptions = true,
            description = "Run the relay: its loops, /health and /metrics, until SIGTERM.")
    static final class Serve implements Callable<Integer> {
        @Override
        public Integer call() {
            RelayConfig config = RelayConfig.fromEnvironment();
            CountDownLatch stop = new CountDownLatch(1);
            RelayService service;
            try {
                service = RelayService.start(config);
            } catch (IOException e) {
                throw new InvalidConfigurationException("OUTBOX_HTTP_PORT = " + config.httpPort()
                        + " cannot be served: " + e.getMessage());
            }
            for (String signal : new String[] {"TERM", "INT"}) {
                sun.misc.Signal.handle(new sun.misc.Signal(signal), s -> stop.countDown());
            }
            try {
                stop.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return service.stop() ? Main.OK : Main.FAILED;
        }
    }

    /** Pending, in flight, dead, oldest pending age. */
    @Command(name = "stats", mixinStandardHelpOptions = true, description = "Show the outbox's counts.")
    static final class Stats implements Callable<Integer> {
        @Option(names = "--json", description = "Print JSON, for scripts.")
        boolean json;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            OutboxStats stats = withOutbox(r -> r.operations().stats());
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                ObjectNode node = JSON.createObjectNode();
                node.put("pending", stats.pending());
                node.put("inFlight", stats.inFlight());
                node.put("dead", stats.dead());
                node.put("oldestPendingAgeSeconds", stats.oldestPendingAge().toMillis() / 1000.0);
                node.put("exact", stats.exact());
                printJson(out, node);
            } else {
                out.printf("pending              %d%nin flight            %d%ndead                 %d%n"
                        + "oldest pending age   %s%ncounts               %s%n", stats.pending(), stats.inFlight(),
                        stats.dead(), stats.oldestPendingAge(), stats.exact() ? "exact" : "estimated above 2,000");
            }
            return Main.OK;
        }
    }

    /** Dead events: list, requeue, discard. */
    @Command(name = "dead", mixinStandardHelpOptions = true, description = "List, requeue or discard dead events.",
            subcommands = {DeadList.class, DeadRequeue.class, DeadDiscard.class})
    static final class Dead implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            spec.commandLine().usage(spec.commandLine().getErr());
            return Main.USAGE;
        }
    }

    /** Lists dead events, oldest first. */
    @Command(name = "list", mixinStandardHelpOptions = true, description = "List dead events, oldest first.")
    static final class DeadList implements Callable<Integer> {
        @Option(names = "--limit", defaultValue = "100", description = "Most events to list, 1 to 10000 (100).")
        int limit;

        @Option(names = "--json", description = "Print JSON, for scripts.")
        boolean json;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            List<DeadEvent> dead = withOutbox(r -> r.operations().listDead(limit));
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                ArrayNode array = JSON.createArrayNode();
                for (DeadEvent d : dead) {
                    ObjectNode node = array.addObject();
                    node.put("id", d.id().toString());
                    node.put("aggregateType", d.aggregateType());
                    node.put("aggregateId", d.aggregateId());
                    node.put("type", d.type());
                    node.put("attempts", d.attempts());
                    node.put("deadAt", d.deadAt() == null ? null : d.deadAt().toString());
                    node.put("lastError", d.lastError());
                    node.put("readable", d.readable());
                    node.put("payload", d.payload());
                    node.put("headers", d.headers());
                }
                printJson(out, array);
            } else {
                out.printf("%-36s  %-30s  %-24s  %8s  %s%n", "id", "aggregate", "type", "attempts", "last error");
                for (DeadEvent d : dead) {
                    out.printf("%-36s  %-30s  %-24s  %8d  %s%n", d.id(), clip(d.aggregateType() + "/"
                            + d.aggregateId(), 30), clip(d.type(), 24), d.attempts(), clip(d.lastError(), 120));
                }
                out.printf("%d dead events%s%n", dead.size(), dead.size() == limit ? " (the first " + limit + ")" : "");
            }
            return Main.OK;
        }

        private static String clip(String s, int width) {
            if (s == null) {
                return "";
            }
            String flat = s.replace('\n', ' ');
            return flat.length() <= width ? flat : flat.substring(0, width - 3) + "...";
        }
    }

    /** Makes dead events pending again. */
    @Command(name = "requeue", mixinStandardHelpOptions = true,
            description = "Make dead events pending again, with fresh attempts: by id, of a type, or all.")
    static final class DeadRequeue implements Callable<Integer> {
        @ArgGroup(exclusive = true, multiplicity = "1")
        Which which;

        static final class Which {
            @Parameters(arity = "1..*", description = "Event ids.")
            List<String> ids;

            @Option(names = "--type", description = "Every dead event of this type.")
            String type;

            @Option(names = "--all", description = "Every dead event.")
            boolean all;
        }

        @Option(names = "--json", description = "Print JSON, for scripts.")
        boolean json;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            List<UUID> ids = which.ids == null ? null : uuids(which.ids);
            int n = withOutbox(r -> which.all ? r.operations().requeueAllDead()
                    : which.type != null ? r.operations().requeueDeadOfType(which.type)
                    : r.operations().requeueDead(ids));
            report(spec.commandLine().getOut(), json, "requeued", n);
            return Main.OK;
        }
    }

    /** Deletes dead events, releasing their aggregates. */
    @Command(name = "discard", mixinStandardHelpOptions = true,
            description = "Delete dead events by id; later events of their aggregates are then published.")
    static final class DeadDiscard implements Callable<Integer> {
        @Parameters(arity = "1..*", description = "Event ids.")
        List<String> ids;

        @Option(names = "--json", description = "Print JSON, for scripts.")
        boolean json;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            List<UUID> parsed = uuids(ids);
            int n = withOutbox(r -> r.operations().discardDead(parsed));
            report(spec.commandLine().getOut(), json, "discarded", n);
            return Main.OK;
        }
    }

    /** Deletes old published events. */
    @Command(name = "purge", mixinStandardHelpOptions = true,
            description = "Delete events published longer ago than the given time.")
    static final class Purge implements Callable<Integer> {
        @Option(names = "--older-than", required = true, description = "ISO-8601 duration, such as P7D or PT12H.")
        String olderThan;

        @Option(names = "--batch", defaultValue = "10000", description = "Rows per transaction (10000).")
        int batch;

        @Option(names = "--json", description = "Print JSON, for scripts.")
        boolean json;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            Duration retention = duration("--older-than", olderThan);
            long n = withOutbox(r -> r.operations().purgePublished(retention, batch));
            report(spec.commandLine().getOut(), json, "purged", n);
            return Main.OK;
        }
    }

    /** Prints the DDL. */
    @Command(name = "schema", mixinStandardHelpOptions = true, description = "Print the DDL for a table.")
    static final class Schema implements Callable<Integer> {
        @ArgGroup(exclusive = true, multiplicity = "1")
        Dialect dialect;

        static final class Dialect {
            @Option(names = "--postgres", description = "PostgreSQL 12 or later.")
            boolean postgres;

            @Option(names = "--mysql", description = "MySQL 8.0.16 or later, MariaDB 10.6 or later.")
            boolean mysql;

            @Option(names = "--rotated", description = "A rotated PostgreSQL table: four partitions, which purge"
                    + " empties with TRUNCATE.")
            boolean rotated;
        }

        @Parameters(index = "0", description = "The table, optionally with a schema: app.outbox_event.")
        String table;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            int dot = table.indexOf('.');
            OutboxTable t = dot < 0 ? OutboxTable.named(table)
                    : new OutboxTable(table.substring(0, dot), table.substring(dot + 1));
            spec.commandLine().getOut().println(dialect.rotated ? OutboxSchema.postgresRotated(t)
                    : OutboxSchema.ddl(dialect.mysql ? Database.MYSQL : Database.POSTGRESQL, t));
            return Main.OK;
        }
    }

    /** Creates the table and its indexes. */
    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create the table (OUTBOX_TABLE) and its indexes, unless they exist.")
    static final class Create implements Callable<Integer> {
        @Option(names = "--rotated", description = "A rotated table (PostgreSQL): four partitions, which purge empties"
                + " with TRUNCATE, so the table's size stays bounded by the retention while a long transaction holds"
                + " the horizon.")
        boolean rotated;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            OutboxTable table = withOutbox(r -> {
                if (rotated) {
                    OutboxSchema.createRotated(r.dataSource(), r.config().table());
                } else {
                    OutboxSchema.create(r.dataSource(), r.config().table());
                }
                return r.config().table();
            });
            spec.commandLine().getOut().println("created " + table);
            return Main.OK;
        }
    }

    /** Brings a table made by an earlier version up to date. */
    @Command(name = "migrate", mixinStandardHelpOptions = true,
            description = "Bring the table (OUTBOX_TABLE) made by an earlier version up to date; safe to run again.")
    static final class Migrate implements Callable<Integer> {
        @Option(names = "--json", description = "Print JSON, for scripts.")
        boolean json;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            OutboxTable table = withOutbox(r -> {
                OutboxSchema.migrate(r.dataSource(), r.config().table());
                return r.config().table();
            });
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                printJson(out, JSON.createObjectNode().put("migrated", table.toString()));
            } else {
                out.println("migrated " + table);
            }
            return Main.OK;
        }
    }

    static List<UUID> uuids(List<String> ids) {
        List<UUID> parsed = new ArrayList<>(ids.size());
        for (String id : ids) {
            try {
                parsed.add(UUID.fromString(id));
            } catch (IllegalArgumentException e) {
                throw new InvalidConfigurationException("'" + id + "' is not an event id (a UUID)");
            }
        }
        return parsed;
    }

    static void report(PrintWriter out, boolean json, String what, long n) {
        if (json) {
            printJson(out, JSON.createObjectNode().put(what, n));
        } else {
            out.println(what + " " + n);
        }
    }
}
