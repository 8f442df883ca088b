package dev.spillway.replay;

import java.util.Arrays;

/**
 * Belady's MIN, the offline reference: a full cache evicts the resident key whose next access is
 * farthest in the future (keys never accessed again first). For plain per-access hits no policy
 * does better; for prefix hits it is a reference, not a bound.
 *
 * <p>Design: the next use of every access is precomputed in one backward pass
 * ({@link ChunkTrace#nextUses}). Resident keys sit in a max-heap of {@code long}s packing
 * {@code nextUse << 32 | id}; a touch pushes the key again with its new next use instead of
 * updating it in place, and a popped entry whose next use is no longer the key's current one, or
 * whose key is gone, is stale and skipped. Each access pushes at most one entry, so the heap stays
 * within the trace's length and every step is {@code O(log n)}. Ties among keys never used again
 * go to the highest id, which changes no hit count.
 */
final class BeladyModel implements CacheModel {

    private final ChunkTrace trace;
    private final int capacity;
    private final int[] nextUses;
    /** By id: the next use of a resident key, or -1 when it is not resident. */
    private final int[] residentNext;
    private long[] heap = new long[1024];
    private int heapSize;
    private int size;

    /** Creates an empty cache of {@code capacity >= 1} keys for {@code trace}. */
    BeladyModel(ChunkTrace trace, int capacity) {
        this.trace = trace;
        this.capacity = capacity;
        this.nextUses = trace.nextUses();
        this.residentNext = new int[trace.distinctChunks()];
        Arrays.fill(residentNext, -1);
    }

    @Override
    public boolean contains(int position) {
        return residentNext[trace.id(position)] >= 0;
    }

    @Override
    public void access(int position, int parentPosition) {
        int id = trace.id(position);
        if (residentNext[id] < 0) {
            if (size >= capacity) {
                evict();
            }
            size++;
        }
        residentNext[id] = nextUses[position];
        push((long) nextUses[position] << 32 | id);
    }

    private void evict() {
        while (true) {
            long top = pop();
            int id = (int) top;
            int next = (int) (top >>> 32);
            if (residentNext[id] == next) {
                residentNext[id] = -1;
                size--;
                return;
            }
        }
    }

    private void push(long entry) {
        if (heapSize == heap.length) {
            heap = Arrays.copyOf(heap, 2 * heap.length);
        }
        int i = heapSize++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (heap[parent] >= entry) {
                break;
            }
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = entry;
    }

    private long pop() {
        long top = heap[0];
        long last = heap[--heapSize];
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= heapSize) {
                break;
            }
            if (child + 1 < heapSize && heap[child + 1] > heap[child]) {
                child++;
            }
            if (heap[child] <= last) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = last;
        return top;
    }
}
