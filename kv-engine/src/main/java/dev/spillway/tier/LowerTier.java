package dev.spillway.tier;

import dev.spillway.storage.VerifyingBackend;

/**
 * A tier below host memory as {@link TieredStore} takes it: a backend, verified so that nothing it
 * returns reaches the engine unchecked, and how the store talks to it.
 *
 * @param tier          {@link Tier#LOCAL} (G3) or {@link Tier#REMOTE} (G4)
 * @param backend       the backend; the store that takes it closes it
 * @param timeoutMillis how long the store waits for any one call: a lookup's {@code exists}, a
 *                      retrieve's {@code get}, a write-behind {@code put}; a call past it is a miss or
 *                      a dropped write
 * @param admitAfter    how many stores of a chunk it takes before the chunk is written to this tier;
 *                      1 writes every chunk newly stored in host memory
 * @param queueChunks   how many chunks may wait to be written to this tier; a chunk that finds the
 *                      queue full is not written to it
 */
public record LowerTier(Tier tier, VerifyingBackend backend, long timeoutMillis, int admitAfter, int queueChunks) {

    /** Validates every field and names the first bad one. */
    public LowerTier {
        if (tier != Tier.LOCAL && tier != Tier.REMOTE) {
            throw new IllegalArgumentException("LowerTier.tier=" + tier + ": expected LOCAL or REMOTE");
        }
        if (timeoutMillis < 1) {
            throw new IllegalArgumentException("LowerTier.timeoutMillis=" + timeoutMillis + ": expected >= 1");
        }
        if (admitAfter < 1) {
            throw new IllegalArgumentException("LowerTier.admitAfter=" + admitAfter + ": expected >= 1");
        }
        if (queueChunks < 1) {
            throw new IllegalArgumentException("LowerTier.queueChunks=" + queueChunks + ": expected >= 1");
        }
    }
}
