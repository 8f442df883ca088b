package dev.spillway.storage.chronicle;

import java.io.IOException;
import java.net.URI;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Set;

import dev.spillway.config.ConfigException;
import dev.spillway.config.ConfigKey;
import dev.spillway.config.SpillwayConfig;
import dev.spillway.layout.BlockFormat;
import dev.spillway.layout.KvLayout;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import dev.spillway.storage.StorageBackendProvider;
import dev.spillway.storage.StorageException;

/**
 * Opens the disk tier, {@link ChronicleBackend}, for {@code file://} URLs (a plain path reaches it
 * through {@code StorageBackends}). Slots are sized for a full chunk of the layout; the tier's size
 * and eviction policy come from {@code max_local_disk_size} and {@code cache_policy}.
 *
 * <p>Before opening, the settings are checked against the machine: the directory must exist or be
 * creatable, and be a writable directory, and the bytes the tier would newly take (its size less
 * the capacity of the slab file already there) must fit in the free space of its file system. A
 * failed check is a {@link ConfigException} naming the variable, its value and the reason.
 */
public final class ChronicleBackendProvider implements StorageBackendProvider {

    @Override
    public Set<String> schemes() {
        return Set.of("file");
    }

    /**
     * {@inheritDoc}
     *
     * <p>Prefix-aware eviction is not applied here even when configured: it needs each chunk's
     * parent, which a backend is never told.
     *
     * @throws ConfigException naming {@code local_disk} when the directory cannot be created, is not
     *                         a directory or is not writable, or naming {@code max_local_disk_size}
     *                         when its file system has too little free space for the tier
     */
    @Override
    public StorageBackend open(URI url, SpillwayConfig config, KvLayout layout, SpillwayMetrics metrics) {
        Path directory;
        try {
            directory = Path.of(url);
        } catch (IllegalArgumentException e) {
            throw new StorageException(ChronicleBackend.NAME, "open", "url=" + url + ": " + e.getMessage(), e);
        }
        checkDirectory(directory, config);
        checkFreeSpace(directory, config);
        try {
            long slotBytes = BlockFormat.encodedBytes(layout, layout.chunkTokens());
            return ChronicleBackend.open(directory, slotBytes, config.maxLocalDiskBytes(), config.cachePolicy(),
                    metrics);
        } catch (IOException | IllegalArgumentException e) {
            throw new StorageException(ChronicleBackend.NAME, "open", "url=" + url + ": " + e.getMessage(), e);
        }
    }

    /** Creates the directory if need be and checks that it is a writable directory. */
    static void checkDirectory(Path directory, SpillwayConfig config) {
        String problem = null;
        try {
            Files.createDirectories(directory);
            if (!Files.isDirectory(directory)) {
                problem = "it is not a directory";
            } else if (!Files.isWritable(directory)) {
                problem = "the directory is not writable";
            }
        } catch (IOException e) {
            problem = "the directory cannot be created (" + reason(e) + ")";
        }
        if (problem != null) {
            throw new ConfigException(config.variable(ConfigKey.LOCAL_DISK), config.written(ConfigKey.LOCAL_DISK),
                    problem, "a directory that exists or can be created, and is writable");
        }
    }

    /**
     * Checks that the bytes the tier would newly need, its configured size less the capacity of
     * the slab file already in {@code directory}, fit in the usable space of its file system.
     */
    static void checkFreeSpace(Path directory, SpillwayConfig config) {
        long existing = SlabFile.existingCapacity(directory.resolve(ChronicleBackend.SLAB_FILE));
        long needed = Math.max(0, config.maxLocalDiskBytes() - existing);
        long usable;
        try {
            usable = Files.getFileStore(directory).getUsableSpace();
        } catch (IOException e) {
            throw new ConfigException(config.variable(ConfigKey.LOCAL_DISK), config.written(ConfigKey.LOCAL_DISK),
                    "the free space of its file system cannot be read (" + reason(e) + ")",
                    "a directory on a file system whose free space can be read");
        }
        if (needed > usable) {
            long atMost = existing > Long.MAX_VALUE - usable ? Long.MAX_VALUE : usable + existing;
            throw new ConfigException(config.variable(ConfigKey.MAX_LOCAL_DISK_SIZE),
                    config.written(ConfigKey.MAX_LOCAL_DISK_SIZE),
                    "the file system of " + directory + " has " + SpillwayConfig.formatGiB(usable) + " free"
                            + (existing > 0 ? " beside the " + SpillwayConfig.formatGiB(existing) + " of its " + ChronicleBackend.SLAB_FILE : ""),
                    "at most " + SpillwayConfig.formatGiB(atMost));
        }
    }

    private static String reason(IOException e) {
        if (e instanceof FileSystemException fs && fs.getReason() != null) {
            return fs.getReason();
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "a file of that name exists";
        }
        return e.getMessage();
    }
}
