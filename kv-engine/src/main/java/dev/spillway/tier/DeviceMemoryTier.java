package dev.spillway.tier;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.function.Consumer;
import java.util.function.IntFunction;

import dev.spillway.eviction.EvictionPolicy;
import dev.spillway.gpu.CopyStream;
import dev.spillway.gpu.DeviceBuffer;
import dev.spillway.gpu.GpuException;
import dev.spillway.gpu.GpuRuntime;
import dev.spillway.gpu.PinnedBuffer;
import dev.spillway.memory.BlockLease;
import dev.spillway.memory.SlotPool;
import dev.spillway.metrics.Counter;
import dev.spillway.metrics.SpillwayMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * G1: chunks in slots of one device arena (one {@link GpuRuntime#allocateDevice}). The slot
 * bookkeeping, pins and eviction are {@link SlotTier}'s; what is G1's own is that a slot's bytes are
 * device memory, which the host reaches only through copies, so a lease on a G1 slot carries no
 * segment and {@link #copyOut} is the way to its bytes.
 *
 * <h2>Design</h2>
 * Every copy is an async copy on a stream between a slot and page-locked host memory, followed by a
 * wait on that stream: a slot is published only once its bytes have landed and the copy reported
 * success, and a copy out returns only once its bytes are in host memory. Pageable memory never
 * goes down this path: the host side of a copy is either the host tier's pinned region (G2 slots)
 * or one of the tier's pinned staging buffers.
 *
 * <p>Streams and staging: the tier has {@code copyStreams} streams and as many staging buffers of
 * one chunk each, in two pools. A copy takes an idle stream, so that a stream is fed by one thread
 * at a time, as the runtime requires, and gives it back as soon as its copy has completed; a copy
 * waits for a stream, never for the tier's lock. A thread takes at most one staging buffer and then
 * at most one stream, always in that order, so the pools cannot deadlock; and no stream is held
 * while a caller's source or reader runs, so a reader that stores (a copy straight from a G2 slot
 * needs no staging) cannot wait on itself.
 *
 * <p>Stores: {@link #store(long[], int, int, int, KvSource)} lets the source fill a staging buffer,
 * then copies it host-to-device; {@link #storeFrom} copies a chunk that sits in a G2 slot straight
 * from that slot, which is how {@link TieredStore} stores (G2 is the pinned staging of every store).
 * Out of the tier, {@link #copyOut} copies a chunk into pinned host memory (a G2 slot), and
 * {@link #readOut} into a staging buffer, for a reader with no slot to copy into.
 *
 * <p>Demotion: when a store evicts a victim, the {@link #evicted} hook, running in that store with
 * no lock held and before the slot is overwritten, stores the victim into G2 with a source that
 * copies it device-to-host straight into the G2 slot. When G2 holds the chunk already its store
 * answers PRESENT without calling the source, so nothing is copied. A demoted chunk keeps the
 * lower-tier bits it had, so write-back may write it again, never miss it; it has no parent in G2,
 * since G1 does not keep the chain.
 *
 * <p>Failures never become wrong KV: a failed copy is counted ({@code spillway_gpu_copy_errors_total}
 * by direction). A failed host-to-device copy skips the store (cause {@code copy_failed}) and the
 * slot goes back unpublished. A failed device-to-host copy throws {@link GpuException} out of
 * {@link #copyOut}, so the G2 store it feeds gives its slot back unpublished, and the chunk is a
 * miss for the retrieve or a lost demotion.
 */
final class DeviceMemoryTier extends SlotTier {

    private static final Logger LOG = LoggerFactory.getLogger(DeviceMemoryTier.class);

    private final DeviceBuffer arena;
    private final HostMemoryTier below;
    private final PinnedBuffer belowRegion;
    /** Every stream and staging buffer, idle or not, to release at close. */
    private final List<CopyStream> streams = new ArrayList<>();
    private final List<PinnedBuffer> stagingBuffers = new ArrayList<>();
    private final ArrayBlockingQueue<CopyStream> idleStreams;
    private final ArrayBlockingQueue<PinnedBuffer> idleStaging;

    private final Counter hostToDeviceErrors;
    private final Counter deviceToHostErrors;
    private final Counter skippedCopyFailed;
    private final Counter demotedCopied;
    private final Counter demotedPresent;
    private final Counter demotedSkipped;
    private final Counter demotedFailed;

    private DeviceMemoryTier(DeviceTierSpec spec, DeviceBuffer arena, long chunkBytes, int payloadBytesPerToken,
                             HostMemoryTier below, PinnedBuffer belowRegion, IntFunction<EvictionPolicy> policy,
                             SpillwayMetrics metrics) {
        super(Tier.DEVICE, SlotPool.unmapped(arena.byteSize(), chunkBytes), payloadBytesPerToken, policy, metrics);
        this.arena = arena;
        this.below = below;
        this.belowRegion = belowRegion;
        this.idleStreams = new ArrayBlockingQueue<>(spec.copyStreams());
        this.idleStaging = new ArrayBlockingQueue<>(spec.copyStreams());
        String tier = Tier.DEVICE.label();
        this.hostToDeviceErrors = copyErrors(metrics, tier, "host_to_device");
        this.deviceToHostErrors = copyErrors(metrics, tier, "device_to_host");
        this.skippedCopyFailed = skipped(metrics, Tier.DEVICE, "copy_failed");
        this.demotedCopied = demoted(metrics, tier, "copied");
        this.demotedPresent = demoted(metrics, tier, "present");
        this.demotedSkipped = demoted(metrics, tier, "skipped");
        this.demotedFailed = demoted(metrics, tier, "failed");
        try {
            for (int i = 0; i < spec.copyStreams(); i++) {
                streams.add(spec.runtime().createStream());
                stagingBuffers.add(spec.runtime().allocatePinned(chunkBytes));
            }
        } catch (RuntimeException | Error e) {
            releaseOwned();
            throw e;
        }
        idleStreams.addAll(streams);
        idleStaging.addAll(stagingBuffers);
    }

    /**
     * Allocates a device tier of {@code spec.bytes()} bytes above {@code below}.
     *
     * @param chunkBytes           the payload bytes of a full chunk: the slot size
     * @param payloadBytesPerToken the payload bytes of one token, across all layers
     * @param below                the host tier that evicted chunks are demoted into and that copies
     *                             out land in; its region must be the runtime's pinned memory
     * @throws IllegalArgumentException when {@code below} is not in pinned memory, or the arena cannot
     *                                  hold one chunk
     * @throws GpuException             when the runtime cannot allocate the arena, its streams or staging
     */
    static DeviceMemoryTier create(DeviceTierSpec spec, long chunkBytes, int payloadBytesPerToken, HostMemoryTier below,
                                   IntFunction<EvictionPolicy> policy, SpillwayMetrics metrics) {
        if (!(below.region() instanceof PinnedBuffer pinned)) {
            throw new IllegalArgumentException("host tier memory " + below.region().getClass().getSimpleName()
                    + ": expected the GPU runtime's pinned memory under a GPU tier, so that copies are async-safe");
        }
        DeviceBuffer arena = spec.runtime().allocateDevice(spec.bytes());
        try {
            return new DeviceMemoryTier(spec, arena, chunkBytes, payloadBytesPerToken, below, pinned, policy, metrics);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private static Counter copyErrors(SpillwayMetrics metrics, String tier, String direction) {
        return metrics.counter("spillway_gpu_copy_errors_total",
                "Copies between a GPU tier and host memory that failed; the chunk became a miss or a skipped store",
                "tier", tier, "direction", direction);
    }

    private static Counter demoted(SpillwayMetrics metrics, String tier, String outcome) {
        return metrics.counter("spillway_demoted_chunks_total",
                "Chunks a tier evicted and handed to the tier below: copied, present there already, skipped for"
                        + " want of room, or lost to a failed copy", "tier", tier, "outcome", outcome);
    }

    /** Stores a chunk that {@code source} writes into pinned staging, then copies it to the device. */
    @Override
    public int store(long[] hashes, int chunk, int startToken, int chunkTokens, KvSource source) {
        return store(hashes, chunk, chunkTokens, 0, (slot, bytes) -> {
            PinnedBuffer staging = take(idleStaging);
            try {
                source.read(chunk, startToken, chunkTokens, staging.segment().asSlice(0, bytes));
                return copyIn(staging, 0, slot, bytes);
            } finally {
                idleStaging.add(staging);
            }
        });
    }

    /**
     * Stores a chunk held in a G2 slot of the host tier below, copying it straight from that slot.
     *
     * @param staged     a lease on the chunk's G2 slot, open for the whole call
     * @param cleanTiers the lower tiers that hold the chunk already
     * @return as {@link #store(long[], int, int, int, KvSource)}
     */
    int storeFrom(long[] hashes, int chunk, BlockLease staged, int cleanTiers) {
        long offset = offsetBelow(staged.segment());
        return store(hashes, chunk, staged.tokens(), cleanTiers, (slot, bytes) -> copyIn(belowRegion, offset, slot, bytes));
    }

    private boolean copyIn(PinnedBuffer src, long srcOffset, int slot, long bytes) {
        CopyStream stream = take(idleStreams);
        try {
            stream.copyHostToDevice(src, srcOffset, arena, pool.offset(slot), bytes);
            stream.synchronize();
            return true;
        } catch (GpuException e) {
            hostToDeviceErrors.increment();
            skippedCopyFailed.increment();
            LOG.debug("G1: a host-to-device copy failed; the chunk is not stored in G1", e);
            return false;
        } finally {
            idleStreams.add(stream);
        }
    }

    /**
     * Copies a leased chunk into page-locked host memory and waits until it has landed.
     *
     * @param dst       page-locked memory of the same runtime
     * @param dstOffset where in {@code dst} the chunk's {@code layout.payloadBytes(lease.tokens())}
     *                  bytes go
     * @throws GpuException             when the copy failed (counted); what {@code dst} holds then is
     *                                  undefined
     * @throws IllegalArgumentException when the lease is not on one of this tier's slots, or the
     *                                  bytes do not fit in {@code dst}
     */
    void copyOut(BlockLease lease, PinnedBuffer dst, long dstOffset) {
        checkOwn(lease);
        copyOut(lease.slot(), payloadBytes(lease.tokens()), dst, dstOffset);
    }

    private void checkOwn(BlockLease lease) {
        if (!lease.belongsTo(pool) || lease.isClosed()) {
            throw new IllegalArgumentException("lease on slot " + lease.slot() + ": expected an open lease of tier G1");
        }
    }

    /**
     * Returns a source for a store into the host tier below that copies the leased chunk into the
     * slot being stored, throwing {@link GpuException} out of the store when the copy fails.
     */
    KvSource copierFrom(BlockLease lease) {
        return (chunk, startToken, chunkTokens, dst) -> copyOut(lease, belowRegion, offsetBelow(dst));
    }

    /**
     * Copies a leased chunk into pinned staging and hands it to {@code reader}, which must not keep
     * it: for a reader with no host slot to copy into. The staging buffer is held while the reader
     * runs, no stream is.
     *
     * @throws GpuException when the copy failed (counted); {@code reader} is not called then
     */
    void readOut(BlockLease lease, Consumer<MemorySegment> reader) {
        checkOwn(lease);
        long bytes = payloadBytes(lease.tokens());
        PinnedBuffer staging = take(idleStaging);
        try {
            copyOut(lease.slot(), bytes, staging, 0);
            reader.accept(staging.segment().asSlice(0, bytes));
        } finally {
            idleStaging.add(staging);
        }
    }

    private void copyOut(int slot, long bytes, PinnedBuffer dst, long dstOffset) {
        CopyStream stream = take(idleStreams);
        try {
            stream.copyDeviceToHost(arena, pool.offset(slot), dst, dstOffset, bytes);
            stream.synchronize();
        } catch (GpuException e) {
            deviceToHostErrors.increment();
            throw e;
        } finally {
            idleStreams.add(stream);
        }
    }

    /** Demotes a victim into the host tier below unless it holds the chunk already (see the class comment). */
    @Override
    void evicted(int slot, long hashLo, long hashHi, int chunkTokens, int cleanTiers) {
        long bytes = payloadBytes(chunkTokens);
        try {
            int outcome = below.store(new long[] {hashLo, hashHi}, 0, 0, chunkTokens,
                    (chunk, startToken, count, dst) -> copyOut(slot, bytes, belowRegion, offsetBelow(dst)), cleanTiers);
            (outcome == STORED ? demotedCopied : outcome == PRESENT ? demotedPresent : demotedSkipped).increment();
        } catch (GpuException e) {
            demotedFailed.increment();
            LOG.debug("G1: demoting a chunk into G2 failed; the chunk is dropped", e);
        }
    }

    /** Returns where {@code slice}, a G2 slot, starts in the host tier's pinned region. */
    private long offsetBelow(MemorySegment slice) {
        MemorySegment region = belowRegion.segment();
        long offset = slice.address() - region.address();
        if (offset < 0 || offset + slice.byteSize() > region.byteSize()) {
            throw new IllegalArgumentException("host memory of " + slice.byteSize()
                    + " bytes: expected a slice of the host tier's pinned region");
        }
        return offset;
    }

    /** Takes an idle stream or staging buffer, waiting for one; an interrupt is kept for the caller, not acted on. */
    private static <T> T take(ArrayBlockingQueue<T> idle) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return idle.take();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    void releaseMemory() {
        try {
            releaseOwned();
        } finally {
            arena.close();
        }
    }

    /** Closes the streams (each waits for its queued work), then the staging buffers. */
    private void releaseOwned() {
        try {
            streams.forEach(CopyStream::close);
        } finally {
            stagingBuffers.forEach(PinnedBuffer::close);
        }
    }
}
