package dev.spillway.storage;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import java.util.TreeSet;

import dev.spillway.config.SpillwayConfig;
import dev.spillway.layout.KvLayout;
import dev.spillway.metrics.SpillwayMetrics;

/** Finds the provider of a backend URL's scheme and opens it. */
public final class StorageBackends {

    private StorageBackends() {
    }

    /**
     * Opens the backend named by {@code url}: a {@code scheme://} URL, or a plain path, which means
     * {@code file://} (the local disk tier), for blocks of {@code layout}.
     *
     * @throws IllegalArgumentException naming the URL when it does not parse or no provider on the
     *                                  class path serves its scheme (listing those that are)
     * @param metrics the registry the backend and its {@link MeteredBackend} wrapper count into
     * @return the backend, wrapped so that every operation is counted
     * @throws StorageException         when the provider cannot open it
     */
    public static StorageBackend open(String url, SpillwayConfig config, KvLayout layout,
                                      SpillwayMetrics metrics) {
        URI uri = toUri(url);
        String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
        List<StorageBackendProvider> providers = new ArrayList<>();
        ServiceLoader.load(StorageBackendProvider.class).forEach(providers::add);
        for (StorageBackendProvider provider : providers) {
            if (provider.schemes().contains(scheme)) {
                return new MeteredBackend(provider.open(uri, config, layout, metrics), metrics);
            }
        }
        TreeSet<String> known = new TreeSet<>();
        providers.forEach(provider -> known.addAll(provider.schemes()));
        throw new IllegalArgumentException("backend URL '" + url + "': no storage backend on the class path serves scheme '"
                + scheme + "'; expected one of " + (known.isEmpty() ? "(none: add storage-chronicle or storage-redis)" : known));
    }

    private static URI toUri(String url) {
        if (!url.contains("://")) {
            return Path.of(url).toAbsolutePath().toUri();
        }
        try {
            URI uri = new URI(url);
            if (uri.getScheme() == null) {
                throw new IllegalArgumentException("backend URL '" + url + "': expected scheme://...");
            }
            return uri;
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("backend URL '" + url + "': " + e.getMessage(), e);
        }
    }
}
