package dev.spillway.replay;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.Map;

/**
 * The peer: a Caffeine cache (W-TinyLFU) bounded by {@code maximumSize(capacity)}, its maintenance
 * run on the calling thread ({@code executor(Runnable::run)}) so that evictions happen inside the
 * access that causes them, as in the other models. A lookup asks {@code asMap().containsKey},
 * which Caffeine does not record as a use; an access is {@code get(key, loader)}, a recorded read
 * when present and an insert otherwise.
 */
final class CaffeineModel implements CacheModel {

    private final ChunkTrace trace;
    private final Cache<Long, Boolean> cache;
    private final Map<Long, Boolean> view;

    /** Creates an empty cache of {@code capacity >= 1} keys for {@code trace}. */
    CaffeineModel(ChunkTrace trace, int capacity) {
        this.trace = trace;
        this.cache = Caffeine.newBuilder().maximumSize(capacity).executor(Runnable::run).build();
        this.view = cache.asMap();
    }

    @Override
    public boolean contains(int position) {
        return view.containsKey(trace.key(position));
    }

    @Override
    public void access(int position, int parentPosition) {
        cache.get(trace.key(position), key -> Boolean.TRUE);
    }
}
