package dev.spillway.storage;

import java.net.URI;
import java.util.Set;

import dev.spillway.config.SpillwayConfig;
import dev.spillway.layout.KvLayout;
import dev.spillway.metrics.SpillwayMetrics;

/**
 * Opens one kind of {@link StorageBackend}; found with {@link java.util.ServiceLoader} so that the
 * Chronicle and Redis backends live in their own modules and kv-engine links neither.
 */
public interface StorageBackendProvider {

    /** Returns the URL schemes this provider opens, for example {@code file} or {@code redis, rediss}. */
    Set<String> schemes();

    /**
     * Opens a backend.
     *
     * @param url    the backend's URL, its scheme one of {@link #schemes()}
     * @param config the validated configuration (sizes, timeouts, TTLs)
     * @param layout the layout of the blocks it will store, which bounds their size (a disk tier
     *               sizes its slots by it)
     * @param metrics the engine's registry, for what the backend counts itself (a breaker's trips)
     * @throws StorageException when the backend cannot be opened, naming the URL and why
     */
    StorageBackend open(URI url, SpillwayConfig config, KvLayout layout, SpillwayMetrics metrics);
}
