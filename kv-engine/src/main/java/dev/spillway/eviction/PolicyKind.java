package dev.spillway.eviction;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The eviction policies Spillway offers, by their configuration names. */
public enum PolicyKind {
    /** Least recently used goes first (the default, as in LMCache). */
    LRU("lru"),
    /** First in, first out; hits do not reorder. */
    FIFO("fifo"),
    /** Least frequently used goes first; ties go to the least recently used. */
    LFU("lfu"),
    /** Most recently used goes first (for scans that will not come back soon). */
    MRU("mru"),
    /** S3-FIFO: a small probationary FIFO, a main FIFO and a ghost queue of recent victims. */
    S3FIFO("s3fifo");

    private final String configName;

    PolicyKind(String configName) {
        this.configName = configName;
    }

    /** Returns the name used in configuration ({@code lru}, {@code s3fifo}, ...). */
    public String configName() {
        return configName;
    }

    /**
     * Creates an empty policy of this kind.
     *
     * @param capacity the number of entries the owner keeps, {@code >= 1}; only S3-FIFO sizes its
     *                 queues by it
     * @throws IllegalArgumentException when {@code capacity < 1}
     */
    EvictionPolicy create(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("eviction policy capacity must be at least 1, got " + capacity);
        }
        return switch (this) {
            case LRU -> new LruPolicy();
            case FIFO -> new FifoPolicy();
            case LFU -> new LfuPolicy();
            case MRU -> new MruPolicy();
            case S3FIFO -> new S3FifoPolicy(capacity);
        };
    }

    /**
     * Parses a configuration name, ignoring case.
     *
     * @throws IllegalArgumentException naming the value and the accepted names when it is unknown
     */
    public static PolicyKind parse(String name) {
        String wanted = name.trim().toLowerCase(Locale.ROOT).replace("-", "").replace("_", "");
        for (PolicyKind kind : values()) {
            if (kind.configName.equals(wanted)) {
                return kind;
            }
        }
        throw new IllegalArgumentException("unknown cache policy '" + name + "', expected one of " + names());
    }

    /** Returns the accepted names, comma separated. */
    public static String names() {
        return Arrays.stream(values()).map(PolicyKind::configName).collect(Collectors.joining(", "));
    }
}
