package dev.spillway.metrics;

import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/**
 * A distribution of observed values over fixed {@link Buckets}, exported as a Prometheus histogram
 * ({@code _bucket}, {@code _sum}, {@code _count}): for example
 * {@code spillway_transfer_seconds{path="load"}}.
 *
 * <p>Lock-free: an observation bumps one {@link LongAdder} and one {@link DoubleAdder}, so many
 * threads observe at once without contention. A reader concurrent with observations may see an
 * observation in its bucket and not yet in the sum; the count is always the buckets' total.
 */
public final class Histogram {

    private final MetricId id;
    private final Buckets buckets;
    private final LongAdder[] counts;
    private final DoubleAdder sum = new DoubleAdder();

    Histogram(MetricId id, Buckets buckets) {
        this.id = id;
        this.buckets = buckets;
        this.counts = new LongAdder[buckets.size()];
        for (int i = 0; i < counts.length; i++) {
            counts[i] = new LongAdder();
        }
    }

    /** Returns the series this histogram feeds. */
    public MetricId id() {
        return id;
    }

    /** Returns the bucket bounds this histogram counts into. */
    public Buckets buckets() {
        return buckets;
    }

    /**
     * Counts one observation of {@code value} in the first bucket whose bound is at least it.
     *
     * @throws IllegalArgumentException when {@code value} is negative or not a number: every
     *                                  Spillway histogram measures a size or a duration
     */
    public void observe(double value) {
        if (!(value >= 0)) {
            throw new IllegalArgumentException("histogram " + id + " value=" + value + ": expected >= 0");
        }
        counts[buckets.indexOf(value)].increment();
        sum.add(value);
    }

    /**
     * Returns each bucket's own count (not cumulative), in the order of
     * {@link Buckets#upperBounds()}, then the {@code +Inf} bucket's.
     */
    public long[] bucketCounts() {
        long[] result = new long[counts.length];
        for (int i = 0; i < counts.length; i++) {
            result[i] = counts[i].sum();
        }
        return result;
    }

    /** Returns the number of observations. */
    public long count() {
        long total = 0;
        for (LongAdder count : counts) {
            total += count.sum();
        }
        return total;
    }

    /** Returns the sum of every observed value. */
    public double sum() {
        return sum.sum();
    }
}
