package dev.spillway.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs the JMH suites with JMH's own command line ({@code -h} lists it), adding to every fork the
 * JVM flags the parent pom defines for the whole project, so benchmarks run exactly as tests do.
 */
public final class BenchMain {

    private BenchMain() {
    }

    /**
     * Parses JMH options and runs the selected benchmarks.
     *
     * @param args JMH arguments, for example {@code LookupBenchmark -prof gc}
     */
    public static void main(String[] args) throws RunnerException, IOException {
        CommandLineOptions options;
        try {
            options = new CommandLineOptions(args);
        } catch (CommandLineOptionException e) {
            System.err.println("benchmarks: " + e.getMessage());
            System.exit(2);
            return;
        }
        if (options.shouldHelp()) {
            options.showHelp();
            return;
        }
        if (options.shouldList()) {
            new Runner(options).list();
            return;
        }
        new Runner(new OptionsBuilder().parent(options).jvmArgsAppend(jvmFlags()).build()).run();
    }

    private static String[] jvmFlags() throws IOException {
        try (InputStream in = BenchMain.class.getResourceAsStream("/jvm.flags")) {
            if (in == null) {
                throw new IOException("jvm.flags resource missing from the benchmarks jar; rebuild it with Maven");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim().split("\\s+");
        }
    }
}
