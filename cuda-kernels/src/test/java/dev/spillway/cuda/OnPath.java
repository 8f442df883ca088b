package dev.spillway.cuda;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

import dev.spillway.config.SpillwayConfig;

/** Finds a command the way the shell does, so tests can decide what to expect from the PATH alone. */
final class OnPath {

    private OnPath() {
    }

    /** Returns the first executable file named {@code command} in a directory of {@code PATH}. */
    static Optional<Path> find(String command) {
        String path = SpillwayConfig.environment().getOrDefault("PATH", "");
        return Arrays.stream(path.split(File.pathSeparator))
                .filter(dir -> !dir.isEmpty())
                .map(dir -> Path.of(dir, command))
                .filter(Files::isExecutable)
                .findFirst();
    }
}
