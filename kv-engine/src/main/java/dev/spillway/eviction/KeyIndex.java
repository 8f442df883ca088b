package dev.spillway.eviction;

import org.agrona.collections.Long2ObjectHashMap;

/**
 * The {@code key -> node} index of a policy, enforcing the caller-side rules of the
 * {@link EvictionPolicy} contract in one place: keys are {@code >= 0}, a tracked key is not
 * inserted again, and an untracked key is not touched or removed.
 *
 * <p>Backed by Agrona's open-addressing {@link Long2ObjectHashMap}, so keys are never boxed.
 *
 * @param <N> the policy's node type
 */
final class KeyIndex<N extends LinkedKeyList.Node<N>> {

    private final Long2ObjectHashMap<N> nodes = new Long2ObjectHashMap<>();
    private final String policyName;

    /** Creates an empty index whose error messages name {@code policyName}. */
    KeyIndex(String policyName) {
        this.policyName = policyName;
    }

    /**
     * Indexes a new node under its key.
     *
     * @throws IllegalArgumentException when the key is negative
     * @throws IllegalStateException    when the key is already tracked
     */
    void add(N node) {
        long key = node.key();
        if (key < 0) {
            throw new IllegalArgumentException("key must be >= 0, got " + key);
        }
        if (nodes.putIfAbsent(key, node) != null) {
            throw new IllegalStateException("key " + key + " is already tracked by " + policyName);
        }
    }

    /**
     * Returns the node of a tracked key.
     *
     * @throws IllegalStateException when the key is not tracked
     */
    N get(long key) {
        N node = nodes.get(key);
        if (node == null) {
            throw untracked(key);
        }
        return node;
    }

    /**
     * Stops indexing a tracked key and returns its node.
     *
     * @throws IllegalStateException when the key is not tracked
     */
    N remove(long key) {
        N node = nodes.remove(key);
        if (node == null) {
            throw untracked(key);
        }
        return node;
    }

    /** Returns the number of indexed keys. */
    int size() {
        return nodes.size();
    }

    private IllegalStateException untracked(long key) {
        return new IllegalStateException("key " + key + " is not tracked by " + policyName);
    }
}
