package dev.spillway.eviction;

import java.util.function.LongPredicate;

/**
 * Least frequently used goes first; among keys with the same count, the least recently used.
 *
 * <p>Design (the O(1) LFU of Shah, Mitra and Matani): a key's count starts at 1 on insert and grows
 * by 1 per hit. Keys with the same count share a {@link Bucket}; the buckets form a
 * {@link LinkedKeyList} in increasing count with no empty bucket, and each bucket holds its keys
 * in a {@link LinkedKeyList} ordered by when they entered it. Since every use (insert or hit)
 * moves a key into a new bucket at that bucket's tail, the order inside a bucket is exactly
 * least-recently-used first, which is the tie-break. A hit moves the key to the bucket of
 * {@code count + 1}, created right after its current bucket when missing, and drops the old bucket
 * if it became empty: O(1) for insert, access and remove.
 *
 * <p>Eviction walks the buckets from the lowest count and each bucket from its oldest key, and
 * takes the first key the predicate accepts: at most {@link #size()} keys are examined, and the
 * rejected ones keep their count and place.
 */
final class LfuPolicy implements EvictionPolicy {

    /** A tracked key and the bucket of its current count. */
    private static final class Entry extends LinkedKeyList.Node<Entry> {
        private Bucket bucket;

        Entry(long key) {
            super(key);
        }
    }

    /** The keys sharing one count; the node's key is the count itself. */
    private static final class Bucket extends LinkedKeyList.Node<Bucket> {
        private final LinkedKeyList<Entry> entries = new LinkedKeyList<>();

        Bucket(long count) {
            super(count);
        }

        long count() {
            return key();
        }
    }

    private final KeyIndex<Entry> index = new KeyIndex<>("lfu");
    private final LinkedKeyList<Bucket> buckets = new LinkedKeyList<>();

    @Override
    public void onInsert(long key, long parent) {
        Entry entry = new Entry(key);
        index.add(entry);
        Bucket lowest = buckets.first();
        if (lowest == null || lowest.count() != 1) {
            lowest = new Bucket(1);
            buckets.addFirst(lowest);
        }
        enter(lowest, entry);
    }

    @Override
    public void onAccess(long key) {
        Entry entry = index.get(key);
        Bucket current = entry.bucket;
        Bucket higher = current.next();
        if (higher == null || higher.count() != current.count() + 1) {
            higher = new Bucket(current.count() + 1);
            buckets.addAfter(current, higher);
        }
        leave(entry);
        enter(higher, entry);
    }

    @Override
    public void onRemove(long key) {
        leave(index.remove(key));
    }

    @Override
    public long evict(LongPredicate evictable) {
        for (Bucket bucket = buckets.first(); bucket != null; bucket = bucket.next()) {
            Entry victim = bucket.entries.findFirst(evictable);
            if (victim != null) {
                index.remove(victim.key());
                leave(victim);
                return victim.key();
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
        return "lfu";
    }

    private static void enter(Bucket bucket, Entry entry) {
        bucket.entries.addLast(entry);
        entry.bucket = bucket;
    }

    /** Takes the entry out of its bucket, dropping the bucket when it empties. */
    private void leave(Entry entry) {
        Bucket bucket = entry.bucket;
        bucket.entries.remove(entry);
        entry.bucket = null;
        if (bucket.entries.isEmpty()) {
            buckets.remove(bucket);
        }
    }
}
