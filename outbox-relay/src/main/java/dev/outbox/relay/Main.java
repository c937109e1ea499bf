package dev.outbox.relay;

import dev.outbox.InvalidConfigurationException;
import dev.outbox.OutboxException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code java -jar outbox-relay-<version>-all.jar [command]}: with no command, or {@code serve}, the relay service
 * ({@link RelayService}); the other commands are an operator's: {@code stats}, {@code dead list|requeue|discard},
 * {@code purge}, {@code schema}, {@code create}, {@code migrate}. Settings come from the environment
 * ({@link RelayConfig}). Exit
 * codes: 0 done; 1 the database or the broker failed; 2 a command line or a setting is wrong, its one line naming it.
 */
@Command(name = "outbox-relay", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "The outbox relay as a service, and an operator's commands on the outbox table.%n"
                + "Settings come from OUTBOX_* environment variables (or the properties file OUTBOX_CONFIG names).",
        subcommands = {Commands.Serve.class, Commands.Stats.class, Commands.Dead.class, Commands.Purge.class,
                Commands.Schema.class, Commands.Create.class, Commands.Migrate.class})
public final class Main implements java.util.concurrent.Callable<Integer> {

    /** Exit code: done. */
    public static final int OK = 0;
    /** Exit code: the database or the broker failed. */
    public static final int FAILED = 1;
    /** Exit code: the command line or a setting is wrong. */
    public static final int USAGE = 2;

    /** Runs the service when no command is given. */
    @Override
    public Integer call() {
        return new Commands.Serve().call();
    }

    /**
     * Runs the command line and exits with its code.
     *
     * @param args the command and its options
     */
    public static void main(String[] args) {
        if (args.length > 0 && !args[0].equals("serve") && !args[0].startsWith("-")) {
            // An operator's command prints its answer; the log says only what went wrong.
            System.setProperty(LOG_LEVEL, System.getProperty(LOG_LEVEL, "warn"));
        }
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    private static final String LOG_LEVEL = "org.slf4j.simpleLogger.defaultLogLevel";

    /**
     * Runs the command line without exiting, for tests and embedding.
     *
     * @param args the command and its options
     * @param out where results go
     * @param err where errors go, one line each
     * @return the exit code
     */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine line = new CommandLine(new Main());
        line.setOut(out);
        line.setErr(err);
        line.setExecutionExceptionHandler((e, commandLine, parsed) -> {
            if (e instanceof InvalidConfigurationException) {
                commandLine.getErr().println("outbox-relay: " + e.getMessage());
                return USAGE;
            }
            if (e instanceof OutboxException) {
                commandLine.getErr().println("outbox-relay: " + e.getMessage());
                return FAILED;
            }
            throw e;
        });
        return line.execute(args);
    }

    /** The version printed by {@code --version}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Main.class.getPackage().getImplementationVersion();
            return new String[] {"outbox-relay " + (version == null ? "(development)" : version)};
        }
    }
}
