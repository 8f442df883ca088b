package dev.spillway.eviction;

/** Most recently used goes first: a hit makes a key the newest, victims come from the newest end. */
final class MruPolicy extends ListPolicy {

    /** Creates an empty policy named {@code mru}. */
    MruPolicy() {
        super("mru", true, true);
    }
}
