package dev.spillway.transfer;

import dev.spillway.metrics.Buckets;
import dev.spillway.metrics.Histogram;
import dev.spillway.metrics.SpillwayMetrics;

/**
 * The bytes and the seconds of each transfer on one path ({@code load}: host tier to the engine's
 * paged cache; {@code save}: the other way), as histograms, so that an operator sees the bandwidth a
 * path reaches and how its transfers spread.
 *
 * @param bytes   the bytes of each transfer
 * @param seconds the time each transfer took, from its start to its last byte
 */
record TransferMeter(Histogram bytes, Histogram seconds) {

    /** Returns the histograms of {@code path} in {@code metrics}. */
    static TransferMeter of(SpillwayMetrics metrics, String path) {
        return new TransferMeter(
                metrics.histogram(Buckets.BYTES, "spillway_transfer_bytes",
                        "Bytes of one transfer between the host tier and the engine's paged cache", "path", path),
                metrics.histogram(Buckets.SECONDS, "spillway_transfer_seconds",
                        "Time one transfer between the host tier and the engine's paged cache took", "path", path));
    }

    /** Records one transfer of {@code bytes} that started at {@code startNanos} ({@link System#nanoTime}) and ends now. */
    void record(long bytes, long startNanos) {
        this.bytes.observe(bytes);
        seconds.observe((System.nanoTime() - startNanos) / 1e9);
    }
}
