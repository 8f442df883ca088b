package dev.spillway.metrics;

import java.util.Arrays;

/**
 * The fixed bucket bounds a {@link Histogram} may use, one set per unit, so that every series of a
 * unit can be summed and compared across engines, and no caller tunes bounds for one machine.
 */
public enum Buckets {

    /** Durations in seconds: 50 µs (a small copy) to 10 s (a backend at its timeout), about 2.5x apart. */
    SECONDS(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    /** Sizes in bytes: 4 KiB (a chunk of a tiny model) to 4 GiB (a long prompt of a large one), 4x apart. */
    BYTES(4_096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864, 268_435_456, 1_073_741_824,
            4_294_967_296.0);

    private final double[] upperBounds;

    Buckets(double... upperBounds) {
        this.upperBounds = upperBounds;
    }

    /** Returns the finite upper bounds, ascending; the {@code +Inf} bucket follows the last. */
    public double[] upperBounds() {
        return upperBounds.clone();
    }

    /** Returns the index of the bucket that counts {@code value}: the first whose bound is at least it. */
    int indexOf(double value) {
        int found = Arrays.binarySearch(upperBounds, value);
        return found >= 0 ? found : -found - 1;
    }

    /** Returns the number of buckets, the {@code +Inf} bucket included. */
    int size() {
        return upperBounds.length + 1;
    }
}
