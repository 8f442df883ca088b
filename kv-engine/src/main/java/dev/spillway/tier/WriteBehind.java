package dev.spillway.tier;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import dev.spillway.key.BlockKey;
import dev.spillway.key.ChunkHasher;
import dev.spillway.layout.BlockFormat;
import dev.spillway.layout.KvLayout;
import dev.spillway.memory.BlockLease;
import dev.spillway.metrics.Counter;
import dev.spillway.metrics.SpillwayMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes chunks held in host memory down to one lower tier in the background: each chunk newly
 * stored (write-through, {@link #offer}) or each chunk host memory evicts (write-back,
 * {@link #offerEvicted}).
 *
 * <h2>Design</h2>
 * One bounded queue and one daemon worker per lower tier, so that a slow or dead tier never holds
 * up a request or another tier: a store only offers the chunk's hash, and when the queue is full the
 * write to this tier is dropped and counted. The worker copies the chunk's bytes out of host memory
 * only when it gets to the chunk, under a {@link MemoryTier#peek} lease (so writing a chunk down
 * does not make it look hot to the eviction policy), into a buffer of its own where it encodes the
 * block; the lease is closed before the backend is called. A chunk evicted meanwhile is skipped: its
 * KV is gone, and the engine stores it again when it computes it again. A put that fails or times
 * out is counted and its chunks dropped; nothing reaches the request path.
 *
 * <p>Batches: the worker takes the next chunk and whatever else is queued behind it, up to a
 * batch's capacity (the bound of one lower-tier call that {@link TieredStore} also gives a
 * retrieve's read-ahead), and writes them with one {@code put}. A put costs a round trip and, for
 * an asynchronous backend, two thread hand-offs, whatever it carries, so chunks that queue up while
 * a put is in flight (a prompt's chunks arrive together) share the next one. A lone chunk is
 * written at once, not held back to wait for company.
 *
 * <p>Write-back: an evicted chunk comes with a lease on its draining slot instead of a hash to look
 * up (see {@link SlotTier}); the worker copies out of that lease, exactly as out of a peek, and
 * closing it is what lets host memory reuse the slot. A full queue drops the chunk and closes the
 * lease at once, so a stalled tier never holds host memory beyond its queue.
 *
 * <p>Write-back at close ({@link #offerResident}): the chunks still resident in host memory were
 * never evicted, so they are queued by hash, as under write-through, when the store closes. Here
 * a full queue is waited on rather than dropped (close is not the request path), up to the close
 * deadline; the chunks not queued by then, and those still queued when the worker stops, are
 * counted (cause {@code closed}).
 *
 * <p>Admission ({@code admitAfter > 1}): stores are counted per chunk in a direct-mapped table of
 * {@value #ADMISSION_SLOTS} entries indexed by the chain hash, about 320 KiB whatever the traffic.
 * An entry remembers the one chunk that used it last, so a collision makes the table forget the
 * earlier chunk's count, which only delays that chunk's admission; it never admits a chunk early.
 * Under write-back the stores are still counted when they happen ({@link #countStore}) and an
 * evicted chunk is written only if its count reached {@code admitAfter} by then.
 */
final class WriteBehind implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(WriteBehind.class);
    private static final int ADMISSION_SLOTS = 1 << 14;
    private static final long JOIN_MILLIS = 10_000;

    private final LowerTier lower;
    private final MemoryTier host;
    private final ChunkHasher hasher;
    private final KvLayout layout;
    private final ArrayBlockingQueue<Pending> queue;
    /** Chunks offered and not yet finished: queued or being written. Guarded by itself for waits. */
    private final AtomicInteger unfinished = new AtomicInteger();
    private final long[] admitLo;
    private final long[] admitHi;
    private final int[] admitCount;
    private final Thread worker;
    /** The worker's encode buffers, one per chunk of a batch. */
    private final BlockBuffers buffers;

    private final Counter written;
    private final Counter dropped;
    private final Counter evicted;
    private final Counter putErrors;
    private final Counter failed;
    private final Counter closed;

    /**
     * @param batchChunks the most chunks one put carries, at least 1
     */
    WriteBehind(LowerTier lower, MemoryTier host, ChunkHasher hasher, KvLayout layout, int batchChunks,
                SpillwayMetrics metrics) {
        this.lower = lower;
        this.host = host;
        this.hasher = hasher;
        this.layout = layout;
        this.queue = new ArrayBlockingQueue<>(lower.queueChunks());
        boolean counting = lower.admitAfter() > 1;
        this.admitLo = counting ? new long[ADMISSION_SLOTS] : null;
        this.admitHi = counting ? new long[ADMISSION_SLOTS] : null;
        this.admitCount = counting ? new int[ADMISSION_SLOTS] : null;
        this.buffers = new BlockBuffers(BlockFormat.encodedBytes(layout, layout.chunkTokens()), batchChunks);
        String tier = lower.tier().label();
        this.written = metrics.counter("spillway_stored_chunks_total", "Chunks written into a tier", "tier", tier);
        this.dropped = metrics.counter("spillway_write_behind_dropped_total",
                "Chunks not written to a lower tier because its write-behind queue was full", "tier", tier);
        this.evicted = metrics.counter("spillway_skipped_chunks_total", "Chunks a tier did not store",
                "tier", tier, "cause", "evicted");
        this.putErrors = TieredStore.backendErrors(metrics, lower.tier(), "put");
        this.failed = metrics.counter("spillway_skipped_chunks_total", "Chunks a tier did not store",
                "tier", tier, "cause", "failed");
        this.closed = metrics.counter("spillway_skipped_chunks_total", "Chunks a tier did not store",
                "tier", tier, "cause", "closed");
        metrics.gauge(queue::size, "spillway_write_behind_queue_depth", "Chunks waiting to be written to a lower tier",
                "tier", tier);
        this.worker = Thread.ofPlatform().daemon().name("spillway-write-behind-" + tier).start(this::run);
    }

    /**
     * Queues a chunk that a store found or put in host memory, if this tier admits it now.
     *
     * @param newlyStored whether the store put the chunk in host memory ({@code false}: it was there)
     */
    void offer(long lo, long hi, boolean newlyStored) {
        if (lower.admitAfter() == 1 ? !newlyStored : !admit(lo, hi)) {
            return;
        }
        enqueue(new Pending(lo, hi, null));
    }

    /** Counts one store of a chunk towards its admission, under write-back; writes nothing. */
    void countStore(long lo, long hi) {
        if (lower.admitAfter() > 1) {
            admit(lo, hi);
        }
    }

    /**
     * Queues a chunk that host memory evicts, under write-back, if this tier admitted it.
     *
     * @param drained a lease on the chunk's draining slot, owned from now on: closed once the bytes
     *                are copied, or at once when the chunk is not queued
     * @return whether the chunk was queued
     */
    boolean offerEvicted(long lo, long hi, BlockLease drained) {
        if (admitted(lo, hi) && enqueue(new Pending(lo, hi, drained))) {
            return true;
        }
        drained.close();
        return false;
    }

    /**
     * Queues, as the store closes under write-back, every chunk of {@code resident} that this tier
     * admitted and does not hold already, waiting for room in the queue until {@code deadlineNanos}.
     * The chunks not queued by then, or when the calling thread is interrupted, are counted.
     *
     * @param tierBit this tier's bit in {@link HostMemoryTier.Resident#cleanTiers}
     * @return how many chunks could not be queued
     */
    int offerResident(List<HostMemoryTier.Resident> resident, int tierBit, long deadlineNanos) {
        for (int i = 0; i < resident.size(); i++) {
            HostMemoryTier.Resident chunk = resident.get(i);
            if ((chunk.cleanTiers() & tierBit) != 0 || !admitted(chunk.hashLo(), chunk.hashHi())) {
                continue;
            }
            unfinished.incrementAndGet();
            boolean queued;
            try {
                queued = queue.offer(new Pending(chunk.hashLo(), chunk.hashHi(), null),
                        deadlineNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                queued = false;
            }
            if (!queued) {
                finished();
                int missed = unwritten(resident.subList(i, resident.size()), tierBit);
                closed.add(missed);
                return missed;
            }
        }
        return 0;
    }

    /** Counts the chunks of {@code resident} that {@link #offerResident} would queue. */
    private int unwritten(List<HostMemoryTier.Resident> resident, int tierBit) {
        int count = 0;
        for (HostMemoryTier.Resident chunk : resident) {
            if ((chunk.cleanTiers() & tierBit) == 0 && admitted(chunk.hashLo(), chunk.hashHi())) {
                count++;
            }
        }
        return count;
    }

    /** Queues a chunk, or counts it dropped when the queue is full; returns whether it was queued. */
    private boolean enqueue(Pending chunk) {
        unfinished.incrementAndGet();
        if (!queue.offer(chunk)) {
            dropped.increment();
            finished();
            return false;
        }
        return true;
    }

    /** Counts one store of a chunk; true exactly when the count reaches {@code admitAfter}. */
    private synchronized boolean admit(long lo, long hi) {
        int slot = (int) lo & (ADMISSION_SLOTS - 1);
        if (admitLo[slot] != lo || admitHi[slot] != hi) {
            admitLo[slot] = lo;
            admitHi[slot] = hi;
            admitCount[slot] = 0;
        }
        if (admitCount[slot] == lower.admitAfter()) {
            return false;
        }
        return ++admitCount[slot] == lower.admitAfter();
    }

    /** Says whether a chunk's stores have reached {@code admitAfter}, without counting one. */
    private synchronized boolean admitted(long lo, long hi) {
        if (lower.admitAfter() == 1) {
            return true;
        }
        int slot = (int) lo & (ADMISSION_SLOTS - 1);
        return admitLo[slot] == lo && admitHi[slot] == hi && admitCount[slot] == lower.admitAfter();
    }

    /**
     * Waits until every chunk queued so far is written, skipped or dropped.
     *
     * @return whether that happened before {@code deadlineNanos} ({@link System#nanoTime()})
     */
    boolean flush(long deadlineNanos) throws InterruptedException {
        synchronized (unfinished) {
            while (unfinished.get() > 0) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(unfinished, left);
            }
            return true;
        }
    }

    private void finished() {
        if (unfinished.decrementAndGet() == 0) {
            synchronized (unfinished) {
                unfinished.notifyAll();
            }
        }
    }

    private void run() {
        List<Pending> batch = new ArrayList<>(buffers.capacity());
        while (true) {
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                return;
            }
            queue.drainTo(batch, buffers.capacity() - 1);
            try {
                write(batch);
            } catch (InterruptedException e) {
                return;
            } finally {
                for (int i = 0; i < batch.size(); i++) {
                    finished();
                }
                batch.clear();
            }
        }
    }

    /** Encodes the chunks of {@code batch} still in host memory and puts them with one call. */
    private void write(List<Pending> batch) throws InterruptedException {
        List<BlockKey> keys = new ArrayList<>(batch.size());
        List<MemorySegment> blocks = new ArrayList<>(batch.size());
        for (Pending chunk : batch) {
            // Each chunk on its own: its lease (a draining slot under write-back) is closed whatever
            // happens to the others.
            try (BlockLease lease = chunk.drained() != null ? chunk.drained() : host.peek(chunk.lo(), chunk.hi())) {
                if (lease == null) {
                    evicted.increment();
                    continue;
                }
                BlockKey key = hasher.blockKey(chunk.lo(), chunk.hi(), lease.tokens());
                MemorySegment block = buffers.get(keys.size()).asSlice(0, BlockFormat.encodedBytes(layout, lease.tokens()));
                MemorySegment.copy(lease.segment(), 0, block, BlockFormat.HEADER_BYTES, lease.segment().byteSize());
                BlockFormat.writeHeader(block, key, layout);
                keys.add(key);
                blocks.add(block);
            } catch (RuntimeException e) {
                failed.increment();
                LOG.debug("{}: encoding a chunk to write failed", lower.tier().label(), e);
            }
        }
        if (keys.isEmpty()) {
            return;
        }
        try {
            lower.backend().put(keys, blocks).get(lower.timeoutMillis(), TimeUnit.MILLISECONDS);
            written.add(keys.size());
        } catch (ExecutionException | RuntimeException e) {
            putFailed(keys.size());
            LOG.debug("{}: put of {} chunks failed", lower.tier().label(), keys.size(),
                    e instanceof ExecutionException ? e.getCause() : e);
        } catch (TimeoutException e) {
            putFailed(keys.size());
            for (int place = 0; place < keys.size(); place++) {
                buffers.giveUp(place);
            }
        }
    }

    private void putFailed(int chunks) {
        putErrors.increment();
        failed.add(chunks);
    }

    /**
     * Stops the worker; what is still queued is not written but counted (cause {@code closed}), and
     * the draining slots it held are given back. Call {@link #flush} first to write it.
     */
    @Override
    public void close() {
        worker.interrupt();
        try {
            worker.join(JOIN_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Pending chunk = queue.poll(); chunk != null; chunk = queue.poll()) {
            closed.increment();
            if (chunk.drained() != null) {
                chunk.drained().close();
            }
        }
    }

    /**
     * A chunk waiting to be written, by its chain hash; under write-back with a lease on its
     * draining slot, else {@code drained} is {@code null} and the worker looks it up.
     */
    private record Pending(long lo, long hi, BlockLease drained) {
    }
}
