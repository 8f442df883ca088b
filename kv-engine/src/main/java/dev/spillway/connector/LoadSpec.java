package dev.spillway.connector;

/**
 * What the worker loads for one request in a step: the chunks of {@code tokens[0, readTokens)}
 * from Spillway into the paged cache, writing only positions {@code [firstToken, endToken)} (the
 * engine computed the positions before {@code firstToken} itself, and computes {@code endToken}
 * on).
 *
 * @param requestId   the request's id
 * @param tokens      the prompt's tokens
 * @param readTokens  the whole-chunk prefix to read, {@code >= endToken}
 * @param firstToken  the first position to write
 * @param endToken    one past the last position to write
 * @param slotMapping the paged-cache slot of each position in {@code [0, readTokens)}; negative outside
 *                    {@code [firstToken, endToken)}
 * @param blockIds    the request's blocks, to report the positions that could not be loaded
 * @param blockSize   the engine's tokens per block
 */
public record LoadSpec(String requestId, int[] tokens, int readTokens, int firstToken, int endToken,
                       int[] slotMapping, int[] blockIds, int blockSize) {
}
