package dev.spillway.eviction;

import java.util.function.LongPredicate;

/**
 * An intrusive doubly-linked list of key nodes: the one ordering structure shared by the policies.
 *
 * <p>Design: the links live in the nodes themselves ({@link Node}), so a policy that keeps a
 * {@code key -> node} index can move or unlink any tracked key in O(1) without searching and
 * without allocating per operation. Each policy subclasses {@link Node} to carry its own state
 * (a frequency, the list the node is in) and uses as many lists as it needs: LRU, FIFO and MRU use
 * one, S3-FIFO one per queue, LFU one per frequency bucket plus one list of the buckets themselves.
 * The first node is the oldest ("head"), the last node the newest ("tail").
 *
 * <p>A node is in at most one list at a time; callers guarantee it (the list does not check, to
 * stay cheap). Not thread-safe.
 *
 * @param <N> the policy's node type
 */
final class LinkedKeyList<N extends LinkedKeyList.Node<N>> {

    /**
     * A list node named by a {@code long} key; subclasses add the owning policy's state.
     *
     * @param <N> the concrete node type, so that links need no casts
     */
    abstract static class Node<N extends Node<N>> {
        private final long key;
        /** Written only by {@link LinkedKeyList}; package-private so that it can reach it through {@code N}. */
        N prev;
        /** Written only by {@link LinkedKeyList}. */
        N next;

        Node(long key) {
            this.key = key;
        }

        /** Returns the key this node stands for. */
        final long key() {
            return key;
        }

        /** Returns the next (newer) node, or {@code null} at the tail. */
        final N next() {
            return next;
        }

        /** Returns the previous (older) node, or {@code null} at the head. */
        final N prev() {
            return prev;
        }
    }

    private N head;
    private N tail;
    private int size;

    /** Returns the number of nodes in the list. */
    int size() {
        return size;
    }

    /** Returns whether the list holds no node. */
    boolean isEmpty() {
        return size == 0;
    }

    /** Returns the oldest node, or {@code null} when empty. */
    N first() {
        return head;
    }

    /** Returns the newest node, or {@code null} when empty. */
    N last() {
        return tail;
    }

    /** Appends an unlinked node at the tail. */
    void addLast(N node) {
        node.prev = tail;
        node.next = null;
        if (tail == null) {
            head = node;
        } else {
            tail.next = node;
        }
        tail = node;
        size++;
    }

    /** Prepends an unlinked node at the head. */
    void addFirst(N node) {
        node.prev = null;
        node.next = head;
        if (head == null) {
            tail = node;
        } else {
            head.prev = node;
        }
        head = node;
        size++;
    }

    /** Links an unlinked node right after {@code anchor}, which is in this list. */
    void addAfter(N anchor, N node) {
        N following = anchor.next;
        if (following == null) {
            addLast(node);
            return;
        }
        node.prev = anchor;
        node.next = following;
        anchor.next = node;
        following.prev = node;
        size++;
    }

    /** Unlinks a node of this list. */
    void remove(N node) {
        N before = node.prev;
        N after = node.next;
        if (before == null) {
            head = after;
        } else {
            before.next = after;
        }
        if (after == null) {
            tail = before;
        } else {
            after.prev = before;
        }
        node.prev = null;
        node.next = null;
        size--;
    }

    /** Moves a node of this list to the tail. */
    void moveToLast(N node) {
        if (node != tail) {
            remove(node);
            addLast(node);
        }
    }

    /**
     * Returns the oldest node whose key {@code accepted} takes, examining each node at most once
     * and changing nothing, or {@code null} when none is accepted.
     */
    N findFirst(LongPredicate accepted) {
        for (N node = head; node != null; node = node.next) {
            if (accepted.test(node.key())) {
                return node;
            }
        }
        return null;
    }

    /**
     * Returns the newest node whose key {@code accepted} takes, examining each node at most once
     * and changing nothing, or {@code null} when none is accepted.
     */
    N findLast(LongPredicate accepted) {
        for (N node = tail; node != null; node = node.prev) {
            if (accepted.test(node.key())) {
                return node;
            }
        }
        return null;
    }
}
