package dev.spillway.storage.chronicle;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

import dev.spillway.eviction.EvictionPolicy;
import dev.spillway.eviction.PolicyKind;
import dev.spillway.key.BlockKey;
import dev.spillway.layout.BlockFormat;
import dev.spillway.metrics.Counter;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import dev.spillway.storage.StorageException;
import dev.spillway.tier.Tier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The persistent local tier (G3): encoded blocks in fixed-size slots of a preallocated slab file,
 * found through a Chronicle Map index. Chronicle Map is a good index and a slow home for
 * multi-megabyte values, so it holds only where each block is; the bytes move with positional
 * {@link java.nio.channels.FileChannel} I/O straight between the slab and the caller's segments.
 * <pre>
 *   directory/
 *     index.cmap    ChronicleBlockIndex: BlockKey (48 B) -> IndexEntry (28 B)
 *                   (slab offset, length, XXH3-64 of the stored block, last access millis)
 *     blocks.slab   SlabFile:
 *                   +-------------+--------+--------+--------+-- ... --+----------------+
 *                   | header 4 KiB| slot 0 | slot 1 | slot 2 |         | slot count - 1 |
 *                   +-------------+--------+--------+--------+-- ... --+----------------+
 *                   slot bytes  = the largest encoded block of the layout (a full chunk)
 *                   slot count  = max_local_disk_size / slot bytes
 * </pre>
 * The byte layouts are specified in {@code docs/spec/disk-tier.md}.
 *
 * <p><b>Written before visible.</b> A put writes the whole block into a slot that no index entry
 * names, and only then puts the index entry; an index entry therefore always names a whole block,
 * and a process killed mid-write leaves at worst a torn block in a slot that nothing names, which
 * the next open counts as free (the page cache holds both writes past the process's death). The
 * slab is not forced per put: an fsync per block halves the write bandwidth, and the one failure it
 * would guard against, an operating-system crash persisting an entry before its block, is caught by
 * the checksums the recovery below reads. A slot is reused only after its entry is removed.
 *
 * <p><b>Recovery on open.</b> The slot table (free slots, owner of each slot, eviction order) lives
 * in memory and is rebuilt from the index. {@link DiskRecovery} opens the files: every entry is
 * checked against the header of the slot it names (after an unclean shutdown, which the slab
 * header's state word records, against the payload too), and an index that cannot be read or does
 * not agree with the slab is moved aside and rebuilt by scanning the slab's self-describing block
 * headers; a slab that cannot be read is moved aside and the tier starts empty. Damaged files thus
 * never fail the open. Corruption that happens later is caught at read time: the engine wraps
 * every backend in a {@code VerifyingBackend}, which checks each block it reads and deletes bad
 * copies.
 *
 * <p><b>Concurrency.</b> One monitor guards the metadata: the index mutations, the slot table and
 * the eviction policy. It is held for microseconds and never across payload I/O. A reader pins its
 * slot (a per-slot reader count, incremented under the monitor together with the index lookup)
 * before it reads and unpins it after. Removing, replacing or evicting a key unlinks its entry at
 * once, but a pinned slot is only marked retired and returns to the free list when its last reader
 * leaves; eviction skips pinned slots. So a slot is never rewritten under a reader, and a reader
 * never sees a slot that its entry no longer names (the lookup and the pin are one step).
 *
 * <p><b>Threads.</b> Operations run on two threads owned by the backend (one can write while the
 * other reads); callers get futures. Failures complete them with a {@link StorageException} naming
 * the backend, the operation and the file.
 */
public final class ChronicleBackend implements StorageBackend {

    /** The backend's name in logs, metrics and exceptions. */
    public static final String NAME = "chronicle";
    /** The index file's name inside the tier's directory. */
    public static final String INDEX_FILE = "index.cmap";
    /** The slab file's name inside the tier's directory. */
    public static final String SLAB_FILE = "blocks.slab";

    private static final Logger LOG = LoggerFactory.getLogger(ChronicleBackend.class);
    private static final int IO_THREADS = 2;

    /** Slot states. A slot is named by the index exactly when it is {@code LIVE}. */
    private static final byte FREE = 0;
    private static final byte WRITING = 1;
    private static final byte LIVE = 2;
    private static final byte RETIRED = 3;

    private final Path directory;
    private final SlabFile slab;
    private final ChronicleBlockIndex index;
    private final ExecutorService executor;
    private final Object lock = new Object();
    private final Counter evicted;

    // Guarded by lock.
    private final EvictionPolicy policy;
    private final byte[] states;
    private final BlockKey[] owners;
    private final int[] readers;
    private final int[] freeSlots;
    private int freeCount;
    private int liveCount;
    private boolean closed;

    private ChronicleBackend(Path directory, DiskRecovery.Opened opened, PolicyKind policyKind, SpillwayMetrics metrics) {
        this.directory = directory;
        this.slab = opened.slab();
        this.index = opened.index();
        this.evicted = metrics.counter("spillway_evicted_chunks_total", "Chunks a tier gave up for room",
                "tier", Tier.LOCAL.label(), "cause", "capacity");
        int slots = slab.slotCount();
        this.policy = EvictionPolicy.create(policyKind, false, slots);
        this.states = new byte[slots];
        this.owners = new BlockKey[slots];
        this.readers = new int[slots];
        this.freeSlots = new int[slots];
        fill(opened.residents());
        AtomicInteger thread = new AtomicInteger();
        this.executor = Executors.newFixedThreadPool(IO_THREADS, task -> {
            Thread t = new Thread(task, "spillway-chronicle-io-" + thread.incrementAndGet());
            // A backend that its owner forgets to close must not keep the JVM alive.
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Opens the tier in {@code directory}, creating the directory and its files when absent, and
     * rebuilds the slot table from the index. Damaged files never fail the open: they are moved
     * aside, rebuilt or replaced ({@link DiskRecovery}, {@code docs/spec/disk-tier.md}), each
     * recovery counted in {@code spillway_disk_recoveries_total{cause}} and logged as one WARN line.
     *
     * @param directory  the tier's directory
     * @param slotBytes  the size of every slot: the largest block the tier will hold
     * @param limitBytes the most bytes the slots may take; the tier has {@code limitBytes / slotBytes}
     *                   slots, fixed when the files are created
     * @param policyKind which block to evict when every slot is taken
     * @param metrics    counts the blocks evicted, as the disk tier's ({@code tier="G3"}), and the recoveries
     * @throws IllegalArgumentException when {@code slotBytes} is not in [1, 2^31) or the limit
     *                                  gives no slot or more than 2^31 - 1
     * @throws IOException              naming the file when the directory or a file cannot be
     *                                  created, written or renamed at all
     */
    public static ChronicleBackend open(Path directory, long slotBytes, long limitBytes, PolicyKind policyKind,
                                        SpillwayMetrics metrics) throws IOException {
        if (slotBytes < 1 || slotBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("slotBytes=" + slotBytes + ": expected 1.." + Integer.MAX_VALUE);
        }
        long slots = limitBytes / slotBytes;
        if (slots < 1 || slots > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("limitBytes=" + limitBytes + " holds " + slots + " slots of " + slotBytes
                    + " bytes: expected 1.." + Integer.MAX_VALUE);
        }
        Files.createDirectories(directory);
        DiskRecovery.Opened opened = DiskRecovery.open(directory, slotBytes, (int) slots, metrics);
        try {
            return new ChronicleBackend(directory, opened, policyKind, metrics);
        } catch (RuntimeException | Error e) {
            opened.index().close();
            // Not marked closed cleanly: the next open verifies again.
            opened.slab().abandon();
            throw e;
        }
    }

    /** Fills the slot table with the blocks the recovered index names. */
    private void fill(List<DiskRecovery.Resident> opened) {
        List<DiskRecovery.Resident> residents = new ArrayList<>(opened);
        // Oldest first, so that recency-based policies resume the order they had before the restart.
        residents.sort(Comparator.comparingLong(DiskRecovery.Resident::lastAccessMillis));
        for (DiskRecovery.Resident r : residents) {
            states[r.slot()] = LIVE;
            owners[r.slot()] = r.key();
            policy.onInsert(r.slot(), EvictionPolicy.NONE);
        }
        liveCount = residents.size();
        for (int slot = states.length - 1; slot >= 0; slot--) {
            if (states[slot] == FREE) {
                freeSlots[freeCount++] = slot;
            }
        }
        LOG.info("{} tier opened in {}: {} blocks in {} slots of {} bytes, {} policy{}", NAME, directory, liveCount,
                states.length, slab.slotBytes(), policy.name(),
                slab.uncleanShutdown() ? " (after an unclean shutdown: index repaired, checksums verified)" : "");
    }

    /**
     * The index entry's checksum: XXH3-64 of the block's first {@value BlockFormat#HEADER_BYTES} bytes,
     * its header, which holds the checksum of the payload. Hashing the header only keeps a put from
     * hashing megabytes the block's writer has hashed already; with the payload's own check
     * ({@link BlockFormat#selfConsistent}) it still tells a whole block from a torn one or from another block.
     */
    static long headerChecksum(MemorySegment block) {
        return BlockFormat.checksum(block.asSlice(0, Math.min(block.byteSize(), BlockFormat.HEADER_BYTES)));
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public CompletableFuture<Integer> exists(List<BlockKey> keys) {
        List<BlockKey> copy = List.copyOf(keys);
        return submit("exists", () -> {
            int present = 0;
            while (present < copy.size() && index.get(copy.get(present)).isPresent()) {
                present++;
            }
            return present;
        });
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException also when a block is empty or larger than a slot
     */
    @Override
    public CompletableFuture<Void> put(List<BlockKey> keys, List<MemorySegment> blocks) {
        requireSameSize(keys, blocks);
        for (MemorySegment block : blocks) {
            if (block.byteSize() < 1 || block.byteSize() > slab.slotBytes()) {
                throw new IllegalArgumentException("block size=" + block.byteSize() + ": expected 1.." + slab.slotBytes()
                        + " (the slot size of " + slab.file() + ")");
            }
        }
        List<BlockKey> keyCopy = List.copyOf(keys);
        List<MemorySegment> blockCopy = List.copyOf(blocks);
        return submit("put", () -> {
            store(keyCopy, blockCopy);
            return null;
        });
    }

    private void store(List<BlockKey> keys, List<MemorySegment> blocks) throws IOException {
        int[] slots = new int[keys.size()];
        Arrays.fill(slots, -1);
        try {
            long[] checksums = new long[keys.size()];
            for (int i = 0; i < slots.length; i++) {
                slots[i] = allocate();
                checksums[i] = headerChecksum(blocks.get(i));
                slab.write(slots[i], blocks.get(i));
            }
            long now = System.currentTimeMillis();
            synchronized (lock) {
                for (int i = 0; i < slots.length; i++) {
                    publish(keys.get(i), slots[i], (int) blocks.get(i).byteSize(), checksums[i], now);
                    slots[i] = -1;
                }
            }
        } finally {
            synchronized (lock) {
                for (int slot : slots) {
                    if (slot >= 0) {
                        states[slot] = FREE;
                        freeSlots[freeCount++] = slot;
                    }
                }
            }
        }
    }

    /** Takes a free slot, evicting a block when there is none; the slot is {@code WRITING} and named by no entry. */
    private int allocate() throws IOException {
        synchronized (lock) {
            int slot;
            if (freeCount > 0) {
                slot = freeSlots[--freeCount];
            } else {
                slot = (int) policy.evict(s -> readers[(int) s] == 0);
                if (slot == EvictionPolicy.NONE) {
                    throw new IOException("file=" + slab.file() + " has no slot to write into: all " + states.length
                            + " are being written or read");
                }
                // The entry goes before the slot is overwritten, so that it never names foreign bytes.
                index.remove(owners[slot]);
                owners[slot] = null;
                liveCount--;
                evicted.increment();
            }
            states[slot] = WRITING;
            return slot;
        }
    }

    /** Names a durable slot in the index, then lets go of the key's previous slot. Holds the lock. */
    private void publish(BlockKey key, int slot, int length, long checksum, long now) {
        Optional<IndexEntry> previous = index.get(key);
        index.put(key, new IndexEntry(slab.offset(slot), length, checksum, now));
        states[slot] = LIVE;
        owners[slot] = key;
        liveCount++;
        policy.onInsert(slot, EvictionPolicy.NONE);
        previous.ifPresent(entry -> unlink(slab.slotAt(entry.slabOffset())));
    }

    /** Forgets a slot whose entry is gone; it becomes free now or when its last reader leaves. Holds the lock. */
    private void unlink(int slot) {
        policy.onRemove(slot);
        owners[slot] = null;
        liveCount--;
        if (readers[slot] == 0) {
            states[slot] = FREE;
            freeSlots[freeCount++] = slot;
        } else {
            states[slot] = RETIRED;
        }
    }

    @Override
    public CompletableFuture<int[]> get(List<BlockKey> keys, List<MemorySegment> destinations) {
        requireSameSize(keys, destinations);
        List<BlockKey> keyCopy = List.copyOf(keys);
        List<MemorySegment> destinationCopy = List.copyOf(destinations);
        return submit("get", () -> {
            int[] lengths = new int[keyCopy.size()];
            for (int i = 0; i < lengths.length; i++) {
                lengths[i] = read(keyCopy.get(i), destinationCopy.get(i));
            }
            return lengths;
        });
    }

    private int read(BlockKey key, MemorySegment destination) throws IOException {
        int slot;
        int length;
        synchronized (lock) {
            Optional<IndexEntry> found = index.get(key);
            if (found.isEmpty() || found.get().length() > destination.byteSize()) {
                return MISSING;
            }
            IndexEntry entry = found.get();
            slot = slab.slotAt(entry.slabOffset());
            length = entry.length();
            readers[slot]++;
            policy.onAccess(slot);
            // The access time persists so that a restart resumes the recency order.
            index.put(key, new IndexEntry(entry.slabOffset(), length, entry.checksum(), System.currentTimeMillis()));
        }
        try {
            slab.read(slot, destination, length);
            return length;
        } finally {
            synchronized (lock) {
                if (--readers[slot] == 0 && states[slot] == RETIRED) {
                    states[slot] = FREE;
                    freeSlots[freeCount++] = slot;
                }
            }
        }
    }

    @Override
    public CompletableFuture<Void> remove(List<BlockKey> keys) {
        List<BlockKey> copy = List.copyOf(keys);
        return submit("remove", () -> {
            synchronized (lock) {
                for (BlockKey key : copy) {
                    Optional<IndexEntry> entry = index.get(key);
                    if (entry.isPresent()) {
                        index.remove(key);
                        unlink(slab.slotAt(entry.get().slabOffset()));
                    }
                }
            }
            return null;
        });
    }

    /** Returns the slots taken (each whole, whatever the size of its block), the slots' total and the blocks held. */
    @Override
    public Optional<Capacity> capacity() {
        synchronized (lock) {
            return Optional.of(new Capacity(liveCount * slab.slotBytes(), states.length * slab.slotBytes(), liveCount));
        }
    }

    /** Returns the index entry of {@code key}: where its block lies in the slab, for tests that damage it. */
    Optional<IndexEntry> entry(BlockKey key) {
        return index.get(key);
    }

    /**
     * Completes the pending operations, then closes the index and the slab, marking the slab closed
     * cleanly so that the next open skips checksum verification; idempotent.
     *
     * @throws StorageException naming the slab file when it cannot be marked closed
     */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        // Waits for the queued operations: their futures complete before close returns.
        executor.close();
        index.close();
        try {
            slab.close();
        } catch (IOException e) {
            throw new StorageException(NAME, "close", "file=" + slab.file() + ": " + e.getMessage(), e);
        }
    }

    private static void requireSameSize(List<BlockKey> keys, List<MemorySegment> segments) {
        if (keys.size() != segments.size()) {
            throw new IllegalArgumentException(keys.size() + " keys and " + segments.size() + " blocks: expected as many of each");
        }
    }

    /** One operation's body; it may fail with an I/O error. */
    @FunctionalInterface
    private interface Operation<T> {
        T run() throws IOException;
    }

    private <T> CompletableFuture<T> submit(String operation, Operation<T> body) {
        CompletableFuture<T> future = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                try {
                    future.complete(body.run());
                } catch (IOException | RuntimeException | InternalError e) {
                    // InternalError: a fault on the index's mapped file (truncated under the tier).
                    future.completeExceptionally(new StorageException(NAME, operation,
                            "directory=" + directory + ": " + e.getMessage(), e));
                }
            });
        } catch (RejectedExecutionException e) {
            future.completeExceptionally(new StorageException(NAME, operation, "directory=" + directory + ": backend is closed", e));
        }
        return future;
    }
}
