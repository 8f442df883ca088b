package dev.spillway.eviction;

import java.util.function.LongPredicate;

/**
 * The policies that are one ordered list of the tracked keys: LRU, FIFO and MRU differ only in
 * whether a hit moves the key to the tail and from which end a victim is taken.
 *
 * <p>Design: a {@link KeyIndex} maps each key to its node in one {@link LinkedKeyList}; the list is
 * ordered by insertion, or by last use when hits reorder. Insert, access and remove are O(1). A
 * victim is found by walking from the chosen end and taking the first key the predicate accepts:
 * at most {@link #size()} keys are examined, and the rejected ones keep their place.
 */
abstract sealed class ListPolicy implements EvictionPolicy permits LruPolicy, FifoPolicy, MruPolicy {

    private static final class Entry extends LinkedKeyList.Node<Entry> {
        Entry(long key) {
            super(key);
        }
    }

    private final String name;
    private final boolean hitMovesToTail;
    private final boolean evictFromTail;
    private final KeyIndex<Entry> index;
    private final LinkedKeyList<Entry> order = new LinkedKeyList<>();

    /**
     * Creates an empty list policy.
     *
     * @param name           the configuration name
     * @param hitMovesToTail whether {@link #onAccess} makes the key the newest
     * @param evictFromTail  whether victims are taken from the newest end instead of the oldest
     */
    ListPolicy(String name, boolean hitMovesToTail, boolean evictFromTail) {
        this.name = name;
        this.hitMovesToTail = hitMovesToTail;
        this.evictFromTail = evictFromTail;
        this.index = new KeyIndex<>(name);
    }

    @Override
    public final void onInsert(long key, long parent) {
        Entry entry = new Entry(key);
        index.add(entry);
        order.addLast(entry);
    }

    @Override
    public final void onAccess(long key) {
        Entry entry = index.get(key);
        if (hitMovesToTail) {
            order.moveToLast(entry);
        }
    }

    @Override
    public final void onRemove(long key) {
        order.remove(index.remove(key));
    }

    @Override
    public final long evict(LongPredicate evictable) {
        Entry victim = evictFromTail ? order.findLast(evictable) : order.findFirst(evictable);
        if (victim == null) {
            return NONE;
        }
        order.remove(victim);
        index.remove(victim.key());
        return victim.key();
    }

    @Override
    public final int size() {
        return index.size();
    }

    @Override
    public final String name() {
        return name;
    }
}
