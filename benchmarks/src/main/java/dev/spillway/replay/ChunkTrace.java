package dev.spillway.replay;

import java.util.Arrays;

/**
 * A chunk-key stream to replay: requests in order, each the {@code long} keys of its chunks in
 * prompt order and its prompt length in tokens. A Mooncake trace becomes one through
 * {@link MooncakeTraceReader#read}; any other workload (for example the chunk hashes of an
 * engine's prompts, numbered densely) through {@link #builder}.
 *
 * <p>Within a request, each chunk extends the prefix of the chunk before it: that previous chunk
 * is the parent a prefix-aware policy is told about.
 *
 * <p>Design: all accesses are kept flat in one {@code long[]} with request boundaries in an
 * {@code int[]}, a few bytes per chunk, so that a trace of millions of chunks replays from arrays.
 * Each access also gets a dense id ({@code 0..distinctChunks()-1}, by key order) so that replay
 * bookkeeping, and Belady's next-use table, are arrays rather than hash maps. Immutable.
 */
public final class ChunkTrace {

    private final String name;
    private final int chunkSize;
    private final long[] keys;
    private final int[] requestStarts;
    private final long[] inputTokens;
    private final long totalInputTokens;
    private final long[] distinctKeys;
    private final int[] ids;

    private ChunkTrace(String name, int chunkSize, long[] keys, int[] requestStarts, long[] inputTokens) {
        this.name = name;
        this.chunkSize = chunkSize;
        this.keys = keys;
        this.requestStarts = requestStarts;
        this.inputTokens = inputTokens;
        this.totalInputTokens = Arrays.stream(inputTokens).sum();
        long[] sorted = keys.clone();
        Arrays.sort(sorted);
        int distinct = 0;
        for (int i = 0; i < sorted.length; i++) {
            if (i == 0 || sorted[i] != sorted[i - 1]) {
                sorted[distinct++] = sorted[i];
            }
        }
        this.distinctKeys = Arrays.copyOf(sorted, distinct);
        this.ids = new int[keys.length];
        for (int p = 0; p < keys.length; p++) {
            ids[p] = Arrays.binarySearch(distinctKeys, keys[p]);
        }
    }

    /**
     * Starts a trace.
     *
     * @param name      what reports call it, for example the file name
     * @param chunkSize tokens per chunk, {@code >= 1}: a hit chunk counts this many hit tokens
     * @throws IllegalArgumentException when {@code chunkSize < 1}
     */
    public static Builder builder(String name, int chunkSize) {
        return new Builder(name, chunkSize);
    }

    /** Returns the trace's name. */
    public String name() {
        return name;
    }

    /** Returns the tokens per chunk. */
    public int chunkSize() {
        return chunkSize;
    }

    /** Returns the number of requests. */
    public int requests() {
        return inputTokens.length;
    }

    /** Returns the number of chunk accesses, over all requests. */
    public int chunks() {
        return keys.length;
    }

    /** Returns the number of distinct chunk keys. */
    public int distinctChunks() {
        return distinctKeys.length;
    }

    /** Returns the sum of the requests' prompt lengths, in tokens. */
    public long inputTokens() {
        return totalInputTokens;
    }

    /** Returns the prompt length of request {@code r}, in tokens. */
    public long inputTokens(int r) {
        return inputTokens[r];
    }

    /** Returns a copy of the chunk keys of request {@code r}, in prompt order. */
    public long[] requestKeys(int r) {
        return Arrays.copyOfRange(keys, requestStarts[r], requestStarts[r + 1]);
    }

    /**
     * Returns {@code ceil(fraction * distinctChunks())}, at least 1: the capacity that holds that
     * share of the trace's distinct chunks.
     *
     * @throws IllegalArgumentException naming the value unless {@code 0 < fraction <= 1}
     */
    public int capacityFor(double fraction) {
        if (!(fraction > 0 && fraction <= 1)) {
            throw new IllegalArgumentException("capacity fraction " + fraction + ": expected a number in (0, 1]");
        }
        return (int) Math.max(1, Math.ceil(fraction * distinctKeys.length));
    }

    /** Returns the position in the flat access order of request {@code r}'s first chunk. */
    int requestStart(int r) {
        return requestStarts[r];
    }

    /** Returns the position just after request {@code r}'s last chunk. */
    int requestEnd(int r) {
        return requestStarts[r + 1];
    }

    /** Returns the key accessed at {@code position}. */
    long key(int position) {
        return keys[position];
    }

    /** Returns the dense id of the key accessed at {@code position}. */
    int id(int position) {
        return ids[position];
    }

    /** Returns the dense id of {@code key}, which must occur in the trace. */
    int idOf(long key) {
        int id = Arrays.binarySearch(distinctKeys, key);
        if (id < 0) {
            throw new IllegalStateException("key " + key + " does not occur in trace " + name);
        }
        return id;
    }

    /**
     * Returns, for each position, the next position that accesses the same key, or
     * {@link Integer#MAX_VALUE} when there is none. Computed on each call, in one backward pass.
     */
    int[] nextUses() {
        int[] next = new int[keys.length];
        int[] seen = new int[distinctKeys.length];
        Arrays.fill(seen, Integer.MAX_VALUE);
        for (int p = keys.length - 1; p >= 0; p--) {
            next[p] = seen[ids[p]];
            seen[ids[p]] = p;
        }
        return next;
    }

    /** Collects requests in order; not thread-safe, and used once. */
    public static final class Builder {

        private final String name;
        private final int chunkSize;
        private long[] keys = new long[1024];
        private int size;
        private int[] requestStarts = new int[257];
        private long[] inputTokens = new long[256];
        private int requests;

        private Builder(String name, int chunkSize) {
            if (chunkSize < 1) {
                throw new IllegalArgumentException("chunk size " + chunkSize + ": expected at least 1");
            }
            this.name = name;
            this.chunkSize = chunkSize;
        }

        /**
         * Appends a request.
         *
         * @param chunkKeys   its chunk keys in prompt order, each {@code >= 0}; copied
         * @param inputTokens its prompt length in tokens, {@code >= 0}
         * @return this builder
         * @throws IllegalArgumentException naming the value when a key or the length is negative
         */
        public Builder addRequest(long[] chunkKeys, long inputTokens) {
            if (inputTokens < 0) {
                throw new IllegalArgumentException("input tokens " + inputTokens + ": expected >= 0");
            }
            for (long key : chunkKeys) {
                if (key < 0) {
                    throw new IllegalArgumentException("chunk key " + key + ": expected >= 0");
                }
            }
            if (size + chunkKeys.length > keys.length) {
                keys = Arrays.copyOf(keys, Math.max(size + chunkKeys.length, 2 * keys.length));
            }
            System.arraycopy(chunkKeys, 0, keys, size, chunkKeys.length);
            size += chunkKeys.length;
            if (requests == this.inputTokens.length) {
                this.inputTokens = Arrays.copyOf(this.inputTokens, 2 * requests);
                requestStarts = Arrays.copyOf(requestStarts, 2 * requests + 1);
            }
            this.inputTokens[requests++] = inputTokens;
            requestStarts[requests] = size;
            return this;
        }

        /** Returns the trace of the requests added so far. */
        public ChunkTrace build() {
            return new ChunkTrace(name, chunkSize, Arrays.copyOf(keys, size), Arrays.copyOf(requestStarts, requests + 1),
                    Arrays.copyOf(inputTokens, requests));
        }
    }
}
