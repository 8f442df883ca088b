package dev.spillway.tier;

import java.lang.foreign.MemorySegment;

/**
 * Supplies the KV bytes of the chunks a store writes: the engine side of a store.
 */
@FunctionalInterface
public interface KvSource {

    /**
     * Copies one chunk's KV into {@code dst}, in the payload order of {@code docs/spec/block-format.md}
     * ({@code [layer][K|V][token][head][dim]}).
     *
     * @param chunk      the chunk's index in the prompt
     * @param startToken the prompt position of the chunk's first token
     * @param tokens     the chunk's token count
     * @param dst        exactly {@code layout.payloadBytes(tokens)} bytes to fill
     */
    void read(int chunk, int startToken, int tokens, MemorySegment dst);
}
