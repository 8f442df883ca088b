package dev.spillway.eviction;

import java.util.function.LongPredicate;
import org.agrona.collections.Long2ObjectHashMap;

/**
 * Wraps a policy so that a chunk is never evicted while a later chunk of its prefix chain is
 * tracked: leaves go first. A lookup only hits a contiguous prefix, so a chunk whose predecessor
 * is gone can never be hit again, while evicting a parent would strand all its descendants.
 *
 * <p>Design: for each tracked key a {@link Link} records its parent's link (from
 * {@link #onInsert}'s {@code parent}; {@link #NONE} or an untracked parent means no parent) and its
 * number of tracked children. {@link #evict} delegates to the base policy with a predicate that
 * also rejects keys with children, so the base's order and scan bounds apply unchanged among the
 * evictable leaves. When a key leaves (evicted or removed) its parent's child count drops, which
 * may make the parent a leaf.
 *
 * <p>{@link #onRemove} of a key that still has children is allowed (its owner dropped it): the
 * children become parentless. Their links still point at the removed key's link, which is no longer
 * in the map: their later departure only decrements that dead link, never a new link of the same
 * key inserted again, because links are matched by identity and not by key.
 *
 * <p>A pinned leaf (rejected by the owner's predicate) therefore protects all of its ancestors.
 * {@link #evict} may return {@link #NONE} while some key with children is acceptable to the
 * owner's predicate: that is this policy's purpose. The wrapper adds O(1) to each call of the base,
 * and one map lookup per key the base examines in {@link #evict}. It cannot spare the base the
 * examination of parents: a base that finds its victims at one end of a list (LRU, FIFO) walks
 * past the parents gathered there on every eviction.
 */
final class PrefixAwarePolicy implements EvictionPolicy {

    /** A tracked key's place in its prefix chain. */
    private static final class Link {
        private Link parent;
        private int children;

        Link(Link parent) {
            this.parent = parent;
        }
    }

    private final EvictionPolicy base;
    private final Long2ObjectHashMap<Link> links = new Long2ObjectHashMap<>();

    /** Wraps {@code base}, which must be empty and is owned by this wrapper from now on. */
    PrefixAwarePolicy(EvictionPolicy base) {
        this.base = base;
    }

    @Override
    public void onInsert(long key, long parent) {
        base.onInsert(key, parent);
        Link parentLink = parent == NONE ? null : links.get(parent);
        if (parentLink != null) {
            parentLink.children++;
        }
        links.put(key, new Link(parentLink));
    }

    @Override
    public void onAccess(long key) {
        base.onAccess(key);
    }

    @Override
    public void onRemove(long key) {
        base.onRemove(key);
        leave(links.remove(key));
    }

    @Override
    public long evict(LongPredicate evictable) {
        long victim = base.evict(key -> links.get(key).children == 0 && evictable.test(key));
        if (victim != NONE) {
            leave(links.remove(victim));
        }
        return victim;
    }

    @Override
    public int size() {
        return base.size();
    }

    @Override
    public String name() {
        return base.name() + "+prefix";
    }

    /** Releases the parent of a departing key; a dead link must not keep its ancestors reachable. */
    private static void leave(Link link) {
        if (link.parent != null) {
            link.parent.children--;
            link.parent = null;
        }
    }
}
