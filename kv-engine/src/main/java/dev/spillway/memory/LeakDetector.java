package dev.spillway.memory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Remembers where every open {@link BlockLease} was opened, when the system property
 * {@code spillway.leakDetection} is {@code true}, so that a test can fail on a lease nobody closed
 * and say who opened it. Off, it costs one static boolean check per lease.
 */
public final class LeakDetector {

    private static final boolean ENABLED = Boolean.getBoolean("spillway.leakDetection");
    private static final Map<BlockLease, Throwable> OPEN = new ConcurrentHashMap<>();

    private LeakDetector() {
    }

    /** Returns whether leases are being tracked. */
    public static boolean enabled() {
        return ENABLED;
    }

    static void opened(BlockLease lease) {
        if (ENABLED) {
            OPEN.put(lease, new Throwable("lease on slot " + lease.slot() + " opened here"));
        }
    }

    static void closed(BlockLease lease) {
        if (ENABLED) {
            OPEN.remove(lease);
        }
    }

    /**
     * Returns the opening sites of the leases open now and forgets them, so that one leaking test
     * does not fail the tests after it.
     */
    public static List<Throwable> drainOpen() {
        List<Throwable> sites = new ArrayList<>();
        for (BlockLease lease : List.copyOf(OPEN.keySet())) {
            Throwable site = OPEN.remove(lease);
            if (site != null) {
                sites.add(site);
            }
        }
        return sites;
    }
}
