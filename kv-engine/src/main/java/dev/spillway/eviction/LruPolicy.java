package dev.spillway.eviction;

/** Least recently used goes first: a hit makes a key the newest, victims come from the oldest end. */
final class LruPolicy extends ListPolicy {

    /** Creates an empty policy named {@code lru}. */
    LruPolicy() {
        super("lru", true, false);
    }
}
