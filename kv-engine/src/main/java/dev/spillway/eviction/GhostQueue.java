package dev.spillway.eviction;

import java.util.Arrays;
import org.agrona.collections.Long2LongHashMap;

/**
 * S3-FIFO's ghost queue: the keys (no data) of the most recent small-queue victims, at most
 * {@code capacity} of them, oldest forgotten first.
 *
 * <p>Design: a ring of {@code capacity} key slots written in FIFO order, plus a primitive
 * {@code key -> slot} map for O(1) membership. {@link #forget} only drops the map entry and leaves
 * a stale key in the ring; when the ring later overwrites a slot it drops the overwritten key from
 * the map only if the map still points at that very slot, so a stale copy never evicts a newer
 * entry of the same key. No allocation after construction, no boxing.
 */
final class GhostQueue {

    private static final long EMPTY = -1L;

    private final long[] ring;
    private final Long2LongHashMap slotOf = new Long2LongHashMap(EMPTY);
    private int next;

    /** Creates an empty ghost queue holding at most {@code capacity >= 1} keys. */
    GhostQueue(int capacity) {
        ring = new long[capacity];
        Arrays.fill(ring, EMPTY);
    }

    /** Remembers {@code key} as the newest ghost, forgetting the oldest one when full. */
    void remember(long key) {
        long overwritten = ring[next];
        if (overwritten != EMPTY && slotOf.get(overwritten) == next) {
            slotOf.remove(overwritten);
        }
        ring[next] = key;
        slotOf.put(key, next);
        next = next + 1 == ring.length ? 0 : next + 1;
    }

    /** Forgets {@code key} and returns whether it was remembered. */
    boolean forget(long key) {
        return slotOf.remove(key) != EMPTY;
    }

    /** Returns the number of remembered keys. */
    int size() {
        return slotOf.size();
    }
}
