package dev.spillway.storage.chronicle;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Set;

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
     */
    @Override
    public StorageBackend open(URI url, SpillwayConfig config, KvLayout layout, SpillwayMetrics metrics) {
        try {
            Path directory = Path.of(url);
            long slotBytes = BlockFormat.encodedBytes(layout, layout.chunkTokens());
            return ChronicleBackend.open(directory, slotBytes, config.maxLocalDiskBytes(), config.cachePolicy(),
                    metrics);
        } catch (IOException | IllegalArgumentException e) {
            throw new StorageException(ChronicleBackend.NAME, "open", "url=" + url + ": " + e.getMessage(), e);
        }
    }
}
