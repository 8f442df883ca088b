package dev.spillway.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of a second JVM for restart and crash tests: this JVM's java, the project's JVM
 * flags (surefire passes them as the system property {@code spillway.jvm.flags}) and this JVM's
 * class path, running {@code main} with {@code args}.
 */
public final class ChildJvm {

    private ChildJvm() {
    }

    /**
     * Returns the command that runs {@code main} in a new JVM.
     *
     * @throws AssertionError when the flags property is missing (the test was not run through Maven)
     */
    public static List<String> command(Class<?> main, String... args) {
        String flags = System.getProperty("spillway.jvm.flags");
        assertThat(flags).as("system property spillway.jvm.flags (surefire sets it; run through Maven)").isNotBlank();
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of(flags.trim().split("\\s+")));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        return command;
    }
}
