package dev.spillway.connector;

/**
 * What the worker saves for one request in a step: the chunks of {@code tokens[0, numTokens)} that
 * Spillway does not hold yet, read from the paged cache once the step has computed them.
 *
 * @param requestId   the request's id
 * @param tokens      the prompt's tokens
 * @param numTokens   the prefix to store: whole chunks, or the whole prompt when partial chunks are saved
 * @param slotMapping the paged-cache slot of each position in {@code [0, numTokens)}
 */
public record SaveSpec(String requestId, int[] tokens, int numTokens, int[] slotMapping) {
}
