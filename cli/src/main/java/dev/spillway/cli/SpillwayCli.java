package dev.spillway.cli;

import dev.spillway.config.ConfigException;
import dev.spillway.config.SpillwayConfig;
import dev.spillway.gpu.GpuException;
import java.io.PrintWriter;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * The {@code spillway} command. It runs in-process with an injected environment and output streams,
 * so that tests see exactly what a user sees; {@link #main} wires it to the real process.
 *
 * <p>A subcommand is a class in this package listed in {@code subcommands} below. It gets this
 * object through picocli's {@code @ParentCommand}, loads the configuration with
 * {@link #loadConfig()} and writes through its {@code CommandSpec}'s writers; a
 * {@link ConfigException} it lets escape becomes exit status {@value #EXIT_USAGE} with the message
 * on standard error and nothing more on standard output, and a {@link GpuException} becomes exit
 * status 1 with its message, the failing CUDA call and error, in the same way.
 */
@Command(name = "spillway",
        mixinStandardHelpOptions = true,
        versionProvider = SpillwayCli.ManifestVersion.class,
        description = "Spillway, a KV-cache offloading engine for LLM inference.",
        subcommands = {ConfigCommand.class, GpuInfoCommand.class, DemoCommand.class, ReplayCommand.class})
public final class SpillwayCli implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(SpillwayCli.class);

    /** Exit status of a configuration error, the same as picocli gives a usage error. */
    public static final int EXIT_USAGE = 2;

    /** Prefix of the message of a configuration error on standard error. */
    public static final String CONFIG_ERROR_PREFIX = "spillway: configuration error: ";

    /** Prefix of the message of a failed GPU operation on standard error. */
    public static final String GPU_ERROR_PREFIX = "spillway: GPU error: ";

    private final Map<String, String> env;
    private final PrintWriter out;
    private final PrintWriter err;

    @Spec
    private CommandSpec spec;

    /**
     * Creates the command for one environment.
     *
     * @param env the environment variables the configuration is loaded from
     * @param out where results go (standard output)
     * @param err where errors, warnings of machine-readable commands and usage go (standard error)
     */
    public SpillwayCli(Map<String, String> env, PrintWriter out, PrintWriter err) {
        this.env = Map.copyOf(env);
        this.out = Objects.requireNonNull(out, "out");
        this.err = Objects.requireNonNull(err, "err");
    }

    /** Runs the command with this process's environment and streams, and exits with its status. */
    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true, System.out.charset());
        PrintWriter err = new PrintWriter(System.err, true, System.err.charset());
        System.exit(new SpillwayCli(SpillwayConfig.environment(), out, err).execute(args));
    }

    /**
     * Parses and runs {@code args}, flushing both writers before it returns.
     *
     * @return the exit status: 0 on success, {@value #EXIT_USAGE} for a usage or configuration
     *         error, 1 for a GPU error or any other failure
     */
    public int execute(String... args) {
        CommandLine commandLine = new CommandLine(this)
                .setOut(out)
                .setErr(err)
                .setExecutionExceptionHandler(SpillwayCli::handle);
        try {
            return commandLine.execute(args);
        } finally {
            out.flush();
            err.flush();
        }
    }

    /**
     * Loads and checks the configuration from this command's environment.
     *
     * @throws ConfigException when it is invalid
     */
    SpillwayConfig loadConfig() {
        return SpillwayConfig.load(env);
    }

    /** Returns the environment this command was created with, for subcommands that configure an engine from it. */
    Map<String, String> environment() {
        return env;
    }

    /** Without a subcommand there is nothing to do: shows the usage and fails as a usage error does. */
    @Override
    public Integer call() {
        spec.commandLine().usage(err);
        return EXIT_USAGE;
    }

    private static int handle(Exception e, CommandLine commandLine, ParseResult parsed) throws Exception {
        if (e instanceof ConfigException) {
            // One line for the user; where it was thrown is for the log, at DEBUG.
            LOG.debug("configuration error", e);
            commandLine.getErr().println(CONFIG_ERROR_PREFIX + e.getMessage());
            return EXIT_USAGE;
        }
        if (e instanceof GpuException) {
            commandLine.getErr().println(GPU_ERROR_PREFIX + e.getMessage());
            return 1;
        }
        throw e;
    }

    /** The version from the jar's manifest, or {@code dev} when running from classes. */
    static final class ManifestVersion implements IVersionProvider {

        @Override
        public String[] getVersion() {
            String version = Objects.requireNonNullElse(
                    SpillwayCli.class.getPackage().getImplementationVersion(), "dev");
            return new String[] {"spillway " + version, "JVM ${java.version} (${java.vendor})"};
        }
    }
}
