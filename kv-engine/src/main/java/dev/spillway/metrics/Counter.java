package dev.spillway.metrics;

import java.util.concurrent.atomic.LongAdder;

/**
 * A monotonically increasing count, cheap to bump from many threads (a {@link LongAdder}), named
 * as a Prometheus series: {@code spillway_stored_chunks_total{tier="G2"}}.
 */
public final class Counter {

    private final MetricId id;
    private final LongAdder value = new LongAdder();

    Counter(MetricId id) {
        this.id = id;
    }

    /** Returns the series this counter feeds. */
    public MetricId id() {
        return id;
    }

    /** Adds one. */
    public void increment() {
        value.increment();
    }

    /**
     * Adds {@code delta}.
     *
     * @throws IllegalArgumentException when {@code delta < 0}: counters never go down
     */
    public void add(long delta) {
        if (delta < 0) {
            throw new IllegalArgumentException("counter " + id + " delta=" + delta + ": expected >= 0");
        }
        value.add(delta);
    }

    /** Returns the current total. */
    public long get() {
        return value.sum();
    }
}
