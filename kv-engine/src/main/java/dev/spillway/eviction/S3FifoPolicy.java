package dev.spillway.eviction;

import java.util.function.LongPredicate;

/**
 * S3-FIFO (Yang et al., "FIFO queues are all you need for cache eviction", SOSP'23): a small
 * probationary FIFO that filters out one-hit wonders, a main FIFO with lazy promotion, and a ghost
 * queue that remembers recent small-queue victims.
 *
 * <p>Design:
 * <ul>
 *   <li>Each tracked key is an {@link Entry} in exactly one of two {@link LinkedKeyList} queues,
 *       {@code small} and {@code main}, with a frequency of 0 to 3 that a hit increments
 *       (saturating, the paper's two bits). Hits never move keys: that is the point of FIFO.</li>
 *   <li>An insert goes to {@code main} when the key is in the {@link GhostQueue} (it was evicted
 *       from {@code small} recently and came back, so it is reused), otherwise to {@code small},
 *       with frequency 0.</li>
 *   <li>An eviction takes from {@code small} when it holds at least its target (10% of the
 *       capacity, at least one key) or {@code main} has no candidate left, otherwise from
 *       {@code main}. A key of {@code small} hit at least once since insertion moves to the tail of
 *       {@code main} with frequency 0; otherwise it is the victim and its key goes to the ghost
 *       queue. A key of {@code main} with frequency above 0 goes back to the tail with one less;
 *       otherwise it is the victim. This repeats until a victim is found, choosing the queue again
 *       at each step: when promotions shrink {@code small} below its target, the victim comes from
 *       {@code main}. That is the paper's "promoting into a full main evicts from main", for a
 *       policy that returns exactly one victim per call.</li>
 *   <li>The ghost queue holds as many keys as {@code main} is meant to (capacity minus the small
 *       target, at least one), as in the paper.</li>
 * </ul>
 *
 * <p>Promotion threshold: the paper's Algorithm 1 and its original artifact promote at
 * {@code freq > 1} (two hits), while the paper's prose and the authors' later description promote
 * any object "reused since insertion". We use {@code freq >= 1}: the small queue holds only 10% of
 * the capacity, so a chunk must show its reuse within a short window, and for KV chunks a single
 * reuse in that window (a shared prefix seen again) is already the signal that separates it from
 * a one-hit wonder; demanding two would push many genuinely shared prefixes through the ghost
 * queue first and lose them once.
 *
 * <p>The predicate: only a would-be victim (a key at frequency 0) is put to it. Promotion and
 * the second chance in {@code main} move a key without evicting it, so they happen whether or not
 * the owner could evict the key now. (With the prefix-aware wrapper, which rejects every parent,
 * asking the predicate first left hit parents stuck in {@code small} and made a 300k-access
 * replay of prefix chains sixty times slower: 7 s instead of 0.12 s.) A rejected victim is
 * skipped where it stands rather than moved to the tail: each queue is walked with a cursor from
 * its head, and the rejected key keeps its place and frequency, so pinning does not cost it its
 * age. A queue whose cursor runs off its tail is not chosen again in this call, except that a
 * promotion gives {@code main} a new candidate at its tail.
 *
 * <p>Bounds, given that the predicate answers the same for a key throughout one call: a cursor
 * never wraps, a key of {@code small} is visited there once and, if promoted, reaches
 * {@code main} at frequency 0, and a key of {@code main} is visited at most four times (each
 * visit above 0 lowers its frequency, which is at most 3). So one call visits at most
 * {@code 4 * size()} keys and, since a key at 0 is either the victim or skipped for good, asks the
 * predicate about each key at most once.
 *
 * <p>Operations other than {@link #evict} are O(1); {@link #evict} is O(1) amortized when few keys
 * are rejected.
 */
final class S3FifoPolicy implements EvictionPolicy {

    private static final int MAX_FREQUENCY = 3;

    /** A tracked key, the queue it is in and its saturating hit count. */
    private static final class Entry extends LinkedKeyList.Node<Entry> {
        private LinkedKeyList<Entry> queue;
        private int frequency;

        Entry(long key) {
            super(key);
        }
    }

    private final KeyIndex<Entry> index = new KeyIndex<>("s3fifo");
    private final LinkedKeyList<Entry> small = new LinkedKeyList<>();
    private final LinkedKeyList<Entry> main = new LinkedKeyList<>();
    private final GhostQueue ghost;
    private final int smallTarget;

    /**
     * Creates an empty policy for a tier of {@code capacity} entries.
     *
     * @param capacity the number of entries the owner keeps; sizes the small and ghost queues
     */
    S3FifoPolicy(int capacity) {
        smallTarget = Math.max(1, capacity / 10);
        ghost = new GhostQueue(Math.max(1, capacity - smallTarget));
    }

    @Override
    public void onInsert(long key, long parent) {
        Entry entry = new Entry(key);
        index.add(entry);
        enqueue(ghost.forget(key) ? main : small, entry);
    }

    @Override
    public void onAccess(long key) {
        Entry entry = index.get(key);
        entry.frequency = Math.min(entry.frequency + 1, MAX_FREQUENCY);
    }

    @Override
    public void onRemove(long key) {
        Entry entry = index.remove(key);
        entry.queue.remove(entry);
    }

    @Override
    public long evict(LongPredicate evictable) {
        Entry nextInSmall = small.first();
        Entry nextInMain = main.first();
        while (nextInSmall != null || nextInMain != null) {
            boolean fromSmall = nextInSmall != null && (nextInMain == null || small.size() >= smallTarget);
            Entry candidate = fromSmall ? nextInSmall : nextInMain;
            Entry after = candidate.next();
            if (candidate.frequency > 0 && fromSmall) {
                // promotion: main's cursor, if it ran off the tail, gets the promoted key to visit
                small.remove(candidate);
                candidate.frequency = 0;
                enqueue(main, candidate);
                nextInMain = nextInMain == null ? candidate : nextInMain;
            } else if (candidate.frequency > 0) {
                // second chance: when the candidate was the tail already, it is also the next one
                candidate.frequency--;
                main.moveToLast(candidate);
                after = after == null ? candidate : after;
            } else if (evictable.test(candidate.key())) {
                index.remove(candidate.key());
                candidate.queue.remove(candidate);
                if (fromSmall) {
                    ghost.remember(candidate.key());
                }
                return candidate.key();
            }
            if (fromSmall) {
                nextInSmall = after;
            } else {
                nextInMain = after;
            }
        }
        return NONE;
    }

    @Override
    public int size() {
        return index.size();
    }

    @Override
    public String name() {
        return "s3fifo";
    }

    private static void enqueue(LinkedKeyList<Entry> queue, Entry entry) {
        queue.addLast(entry);
        entry.queue = queue;
    }
}
