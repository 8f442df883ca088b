package dev.spillway.gpu;

import java.util.concurrent.locks.LockSupport;

/**
 * One direction of the simulated host link (host to device, or device to host), shared by every
 * stream of a runtime as one direction of PCIe is.
 *
 * <p>The link is a timeline: a transfer reserves the interval from when the link is next free (or
 * now, if it is idle) for {@code bytes / bandwidth}, and its stream's worker is held until the end
 * of that interval. Transfers on different streams therefore queue behind each other and share the
 * bandwidth in total, while device-side work on those streams (kernels, device-to-device copies)
 * goes on meanwhile, which is what makes pipelining observable. The two directions are separate
 * links, so an upload and a download overlap, as on a full-duplex bus.
 *
 * <p>Thread-safe.
 */
final class SimLink {

    private final double bytesPerNanosecond;
    private long freeAtNanos;

    /**
     * Creates a link of {@code gbps} GB/s (10^9 bytes per second, which is one byte per
     * nanosecond); 0 makes an unlimited link whose transfers are never held.
     */
    SimLink(double gbps) {
        this.bytesPerNanosecond = gbps;
    }

    /**
     * Runs {@code copy} as a transfer of {@code bytes} bytes over this link, returning when the link
     * has carried them. The copy itself runs at once and its time counts towards the transfer, so
     * that the link's throughput is its bandwidth, not its bandwidth plus memory speed.
     */
    void transfer(long bytes, Runnable copy) {
        if (bytesPerNanosecond == 0) {
            copy.run();
            return;
        }
        long doneAt = reserve(bytes);
        copy.run();
        holdUntil(doneAt);
    }

    private synchronized long reserve(long bytes) {
        long now = System.nanoTime();
        long start = freeAtNanos - now > 0 ? freeAtNanos : now;
        freeAtNanos = start + (long) Math.ceil(bytes / bytesPerNanosecond);
        return freeAtNanos;
    }

    private static void holdUntil(long doneAt) {
        // parkNanos may return early (spuriously or on unpark), so park again for what is left. An
        // interrupt ends the hold: the worker is being stopped and the bytes are already copied.
        for (long left = doneAt - System.nanoTime(); left > 0; left = doneAt - System.nanoTime()) {
            if (Thread.currentThread().isInterrupted()) {
                return;
            }
            LockSupport.parkNanos(left);
        }
    }
}
