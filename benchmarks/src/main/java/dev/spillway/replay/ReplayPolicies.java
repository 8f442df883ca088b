package dev.spillway.replay;

import dev.spillway.eviction.EvictionPolicy;
import dev.spillway.eviction.PolicyKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The policies a replay can compare, by name: every Spillway {@link PolicyKind} under its
 * configuration name ({@code lru}, {@code s3fifo}, ...), each again prefix-aware with the suffix
 * {@code +prefix} (the names {@link EvictionPolicy#name} reports), then {@value #BELADY} (the
 * offline optimum of per-access hits) and {@value #CAFFEINE} (Caffeine's W-TinyLFU, the peer).
 */
public final class ReplayPolicies {

    /** Belady's MIN: evicts the key whose next access is farthest away. */
    public static final String BELADY = "belady";
    /** A Caffeine cache with {@code maximumSize(capacity)} and a same-thread executor. */
    public static final String CAFFEINE = "caffeine";
    /** Selects every policy of {@link #names}. */
    public static final String ALL = "all";

    private static final String PREFIX_SUFFIX = "+prefix";

    private ReplayPolicies() {
    }

    /** Returns every policy name, Spillway's first (plain, then prefix-aware), then belady and caffeine. */
    public static List<String> names() {
        List<String> names = new ArrayList<>();
        for (PolicyKind kind : PolicyKind.values()) {
            names.add(kind.configName());
        }
        for (PolicyKind kind : PolicyKind.values()) {
            names.add(kind.configName() + PREFIX_SUFFIX);
        }
        names.add(BELADY);
        names.add(CAFFEINE);
        return List.copyOf(names);
    }

    /** Returns the replay name of a Spillway policy configuration, as {@link EvictionPolicy#name} reports it. */
    public static String nameOf(PolicyKind kind, boolean prefixAware) {
        return kind.configName() + (prefixAware ? PREFIX_SUFFIX : "");
    }

    /**
     * Resolves a selection: {@value #ALL} or a comma-separated list of names, in any case.
     *
     * @return the names, in the order given (all of {@link #names} for {@value #ALL})
     * @throws IllegalArgumentException naming the value and the accepted names when one is unknown
     */
    public static List<String> select(String selection) {
        List<String> selected = new ArrayList<>();
        for (String part : selection.split(",", -1)) {
            String name = part.trim().toLowerCase(Locale.ROOT);
            if (name.equals(ALL)) {
                selected.addAll(names());
            } else if (names().contains(name)) {
                selected.add(name);
            } else {
                throw new IllegalArgumentException("policy '" + part.trim() + "': expected all or one of "
                        + String.join(", ", names()));
            }
        }
        return selected.stream().distinct().toList();
    }

    /**
     * Creates an empty cache model running the named policy over {@code trace}.
     *
     * @throws IllegalArgumentException when the name is not one of {@link #names}
     */
    static CacheModel model(String name, ChunkTrace trace, int capacity) {
        if (name.equals(BELADY)) {
            return new BeladyModel(trace, capacity);
        }
        if (name.equals(CAFFEINE)) {
            return new CaffeineModel(trace, capacity);
        }
        boolean prefixAware = name.endsWith(PREFIX_SUFFIX);
        String base = prefixAware ? name.substring(0, name.length() - PREFIX_SUFFIX.length()) : name;
        if (!names().contains(name)) {
            throw new IllegalArgumentException("policy '" + name + "': expected one of " + String.join(", ", names()));
        }
        return new PolicyModel(trace, EvictionPolicy.create(PolicyKind.parse(base), prefixAware, capacity), capacity);
    }
}
