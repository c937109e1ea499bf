package dev.outbox.relay;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** {@code dev.outbox.relay.Main} in a JVM of its own, as {@code java -jar} runs it, with the environment given. */
final class RelayProcess implements AutoCloseable {

    final Process process;
    final Path out;
    final Path err;

    private RelayProcess(Process process, Path out, Path err) {
        this.process = process;
        this.out = out;
        this.err = err;
    }

    static RelayProcess start(Map<String, String> environment, String... args) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>(List.of(java, "-cp", classpath, Main.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().keySet().removeIf(k -> k.startsWith("OUTBOX_"));
        builder.environment().putAll(environment);
        builder.environment().putIfAbsent("AWS_ACCESS_KEY_ID", "test");
        builder.environment().putIfAbsent("AWS_SECRET_ACCESS_KEY", "test");
        builder.environment().putIfAbsent("AWS_REGION", "eu-west-1");
        Path out = Files.createTempFile("outbox-relay", ".out");
        Path err = Files.createTempFile("outbox-relay", ".err");
        builder.redirectOutput(out.toFile()).redirectError(err.toFile());
        return new RelayProcess(builder.start(), out, err);
    }

    /** Runs a command to its end: its exit code, standard output and error. */
    record Result(int code, String out, String err) {
    }

    static Result run(Map<String, String> environment, String... args) throws Exception {
        try (RelayProcess p = start(environment, args)) {
            if (!p.process.waitFor(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("outbox-relay " + String.join(" ", args) + " did not end");
            }
            return new Result(p.process.exitValue(), p.stdout(), p.stderr());
        }
    }

    String stdout() throws IOException {
        return Files.readString(out, StandardCharsets.UTF_8);
    }

    String stderr() throws IOException {
        return Files.readString(err, StandardCharsets.UTF_8);
    }

    /** Sends SIGTERM and waits for the exit; returns the exit code. */
    int terminate(Duration within) throws InterruptedException {
        process.destroy(); // SIGTERM on Unix
        if (!process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("the relay did not exit within " + within + " of SIGTERM");
        }
        return process.exitValue();
    }

    @Override
    public void close() throws IOException {
        process.destroyForcibly();
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
    }
}
