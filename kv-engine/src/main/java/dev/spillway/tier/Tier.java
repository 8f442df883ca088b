package dev.spillway.tier;

/** The storage tiers, fastest first. Lookups walk them in this order. */
public enum Tier {
    /** G1: GPU memory. */
    DEVICE("G1"),
    /** G2: pinned host memory, the hot cache and the staging area of every transfer. */
    HOST("G2"),
    /** G3: the persistent local disk tier. */
    LOCAL("G3"),
    /** G4: the shared remote tier. */
    REMOTE("G4");

    private final String label;

    Tier(String label) {
        this.label = label;
    }

    /** Returns the short name used in metrics and reports ({@code G1}..{@code G4}). */
    public String label() {
        return label;
    }
}
