package dev.spillway.storage.redis.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * The temporary directory of a multi-process fixture's configuration files (cluster node files,
 * Sentinel configs), deleted once its servers are stopped.
 */
final class ConfigDirectory {

    private ConfigDirectory() {
    }

    /**
     * Deletes {@code directory} and everything in it; a no-op for null. A file that cannot be
     * deleted stays behind in java.io.tmpdir: small configuration files of servers already gone.
     */
    static void delete(Path directory) {
        if (directory == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(directory)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            // See above: nothing a test could act on.
        }
    }
}
