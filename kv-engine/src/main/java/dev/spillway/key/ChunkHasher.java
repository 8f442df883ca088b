package dev.spillway.key;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import net.openhft.hashing.LongHashFunction;
import net.openhft.hashing.LongTupleHashFunction;

/**
 * Names chunks by the seeded, chained XXH3-128 hash of their prefix, exactly as
 * {@code docs/spec/hashing.md} states it:
 *
 * <pre>
 *   seed = XXH3-128(u32le len(ns) | ns utf-8 | u32le len(model) | model utf-8 | u64le layout fingerprint)
 *   h_0  = seed
 *   h_i  = XXH3-128(u64le h_{i-1}.lo | u64le h_{i-1}.hi | chunk i tokens as i32le)
 * </pre>
 *
 * All XXH3 calls use XXH3's own seed 0; the chaining, not the XXH3 seed, carries the namespace.
 * A 128-bit value is written as its low 64 bits then its high 64 bits, both little-endian.
 *
 * <p>Thread-safe. Hashing allocates nothing: each thread reuses one scratch buffer, because the
 * lookup path runs it for every chunk of every prompt.
 */
public final class ChunkHasher {

    private static final LongTupleHashFunction XXH3_128 = LongTupleHashFunction.xx128();
    private static final LongHashFunction XXH3_64 = LongHashFunction.xx3();
    private static final ValueLayout.OfInt INT_LE =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG_LE =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int PREFIX_BYTES = 16;

    private final TokenChunker chunker;
    private final long seedLo;
    private final long seedHi;
    private final long namespaceHash;
    private final long modelHash;
    private final long layoutFingerprint;
    private final ThreadLocal<Scratch> scratch;

    /**
     * Creates a hasher for one namespace, model and KV layout.
     *
     * @param chunker           how prompts are cut
     * @param namespace         the tenant boundary: equal prompts under different namespaces never share a hash
     * @param modelId           the model identifier, as the engine names it
     * @param layoutFingerprint {@code KvLayout.fingerprint()} of the layout the chunks are stored in
     */
    public ChunkHasher(TokenChunker chunker, String namespace, String modelId, long layoutFingerprint) {
        this.chunker = chunker;
        long[] seed = seed(namespace, modelId, layoutFingerprint);
        this.seedLo = seed[0];
        this.seedHi = seed[1];
        this.namespaceHash = hash64(namespace);
        this.modelHash = hash64(modelId);
        this.layoutFingerprint = layoutFingerprint;
        int scratchBytes = PREFIX_BYTES + Integer.BYTES * chunker.chunkSize();
        this.scratch = ThreadLocal.withInitial(() -> new Scratch(scratchBytes));
    }

    /** Returns the chunker this hasher cuts prompts with. */
    public TokenChunker chunker() {
        return chunker;
    }

    /** Returns the low 64 bits of the chain seed {@code h_0}. */
    public long seedLo() {
        return seedLo;
    }

    /** Returns the high 64 bits of the chain seed {@code h_0}. */
    public long seedHi() {
        return seedHi;
    }

    /**
     * Returns the key under which the lower tiers store a chunk this hasher named: this hasher's
     * namespace, model and layout, with the chunk's chain hash and token count.
     */
    public BlockKey blockKey(long chainLo, long chainHi, int tokenCount) {
        return new BlockKey(namespaceHash, modelHash, layoutFingerprint, chainLo, chainHi, tokenCount);
    }

    /**
     * Computes the chain seed {@code h_0} for a namespace, model and layout.
     *
     * @return {@code {lo, hi}}
     */
    public static long[] seed(String namespace, String modelId, long layoutFingerprint) {
        byte[] ns = namespace.getBytes(StandardCharsets.UTF_8);
        byte[] model = modelId.getBytes(StandardCharsets.UTF_8);
        MemorySegment buf = MemorySegment.ofArray(new byte[4 + ns.length + 4 + model.length + 8]);
        long at = 0;
        buf.set(INT_LE, at, ns.length);
        MemorySegment.copy(MemorySegment.ofArray(ns), 0, buf, at += 4, ns.length);
        buf.set(INT_LE, at += ns.length, model.length);
        MemorySegment.copy(MemorySegment.ofArray(model), 0, buf, at += 4, model.length);
        buf.set(LONG_LE, at + model.length, layoutFingerprint);
        return XXH3_128.hashBytes((byte[]) buf.heapBase().orElseThrow());
    }

    /** Returns XXH3-64 (seed 0) of the UTF-8 bytes of {@code text}: the namespace and model hashes of a {@link BlockKey}. */
    public static long hash64(String text) {
        return XXH3_64.hashBytes(text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Hashes the chunks of {@code tokens[0, numTokens)} in prompt order.
     *
     * @param out receives {@code lo, hi} of chunk {@code i} at {@code out[2i], out[2i+1]}; must hold
     *            {@code 2 * chunker().chunkCount(numTokens)} longs
     * @return the number of chunks hashed
     */
    public int hashChunks(int[] tokens, int numTokens, long[] out) {
        return hashChunks(tokens, numTokens, out, chunker.chunkCount(numTokens));
    }

    /**
     * Hashes at most {@code maxChunks} leading chunks of {@code tokens[0, numTokens)}: callers that
     * stop at the first miss need not hash the rest.
     *
     * @return the number of chunks hashed
     */
    public int hashChunks(int[] tokens, int numTokens, long[] out, int maxChunks) {
        if (numTokens > tokens.length) {
            throw new IllegalArgumentException("numTokens=" + numTokens + ": expected at most tokens.length=" + tokens.length);
        }
        int chunks = Math.min(maxChunks, chunker.chunkCount(numTokens));
        Scratch s = scratch.get();
        long lo = seedLo;
        long hi = seedHi;
        for (int i = 0; i < chunks; i++) {
            int start = chunker.chunkStart(i);
            int length = chunker.chunkLength(numTokens, i);
            s.segment.set(LONG_LE, 0, lo);
            s.segment.set(LONG_LE, 8, hi);
            MemorySegment.copy(tokens, start, s.segment, INT_LE, PREFIX_BYTES, length);
            XXH3_128.hashBytes(s.bytes, 0, PREFIX_BYTES + Integer.BYTES * length, s.result);
            lo = s.result[0];
            hi = s.result[1];
            out[2 * i] = lo;
            out[2 * i + 1] = hi;
        }
        return chunks;
    }

    /** Per-thread buffers: the bytes hashed for one chunk, a segment view of them, and the result. */
    private static final class Scratch {
        final byte[] bytes;
        final MemorySegment segment;
        final long[] result = new long[2];

        Scratch(int size) {
            bytes = new byte[size];
            segment = MemorySegment.ofArray(bytes);
        }
    }
}
