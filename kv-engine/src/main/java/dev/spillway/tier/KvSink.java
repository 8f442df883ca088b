package dev.spillway.tier;

import java.lang.foreign.MemorySegment;

/**
 * Receives the KV bytes of the chunks a retrieve finds: the engine side of a retrieve. Chunks
 * arrive in prompt order, starting with chunk 0, with no gaps.
 */
@FunctionalInterface
public interface KvSink {

    /**
     * Takes one chunk's KV. {@code src} is valid only during the call.
     *
     * @param chunk      the chunk's index in the prompt
     * @param startToken the prompt position of the chunk's first token
     * @param tokens     the chunk's token count
     * @param src        {@code layout.payloadBytes(tokens)} bytes, {@code [layer][K|V][token][head][dim]}
     */
    void write(int chunk, int startToken, int tokens, MemorySegment src);
}
