package dev.spillway.config;

import java.util.Objects;

/**
 * One key of the effective configuration, as {@code spillway config} shows it.
 *
 * @param key    the snake_case key ({@code chunk_size})
 * @param value  the effective value: an {@link Integer}, {@link Long}, {@link Double}, {@link Boolean}
 *               or {@link String} as the key's type says, or {@code null} when the key is unset; a
 *               cache policy is its configuration name and a password in a remote URL is masked
 * @param source where the value came from: exactly {@code default}, {@code env:NAME} (for example
 *               {@code env:LMCACHE_CHUNK_SIZE}) or {@code file:PATH}
 */
public record ConfigEntry(String key, Object value, String source) {

    /** Checks that key and source are present; the value may be {@code null}. */
    public ConfigEntry {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(source, "source");
    }
}
