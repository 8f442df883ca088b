package dev.spillway.memory;

import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * Cuts one region into equal, 4 KiB aligned slots, hands them out and takes them back, and counts
 * the leases open on each. The region is host memory ({@link #SlotPool(MemorySegment, long)}), whose
 * slots are reachable as segments, or memory the host cannot address, such as a GPU's
 * ({@link #unmapped}), whose slots are known only by {@link #offset} and reached through copies.
 *
 * <pre>
 *   region: | slot 0 ......... pad | slot 1 ......... pad | ... | slot n-1 ........ pad |
 *           |<----- stride ------->|  stride = slotBytes rounded up to 4 KiB
 * </pre>
 *
 * <p>Thread-safe. {@link #acquire} returns {@link #NO_SLOT} rather than throwing when the pool is
 * empty, because a full pool on the store path is an expected event (the store is skipped).
 * Handing out a slot that is already out, or taking back one that is not, is impossible through
 * this class: {@link #release} of a free slot throws.
 */
public final class SlotPool {

    /** Returned by {@link #acquire} when every slot is out. */
    public static final int NO_SLOT = -1;

    /** The host memory the slots are cut from; {@code null} for memory the host cannot address. */
    private final MemorySegment region;
    private final long slotBytes;
    private final long stride;
    private final int capacity;
    private final int[] freeStack;
    private final BitSet out;
    private final AtomicIntegerArray refs;
    private int freeCount;

    /**
     * Creates a pool over {@code region}.
     *
     * @param slotBytes the usable bytes of one slot, {@code >= 1}
     * @throws IllegalArgumentException when the region cannot hold a single slot
     */
    public SlotPool(MemorySegment region, long slotBytes) {
        this(region, region.byteSize(), slotBytes);
    }

    /**
     * Creates a pool over {@code regionBytes} bytes of memory the host cannot address (device
     * memory): its slots have no {@link #segment}, and leases on them carry none.
     *
     * @param slotBytes the usable bytes of one slot, {@code >= 1}
     * @throws IllegalArgumentException when the region cannot hold a single slot
     */
    public static SlotPool unmapped(long regionBytes, long slotBytes) {
        return new SlotPool(null, regionBytes, slotBytes);
    }

    private SlotPool(MemorySegment region, long regionBytes, long slotBytes) {
        if (slotBytes < 1) {
            throw new IllegalArgumentException("slot size=" + slotBytes + ": expected at least 1 byte");
        }
        this.stride = (slotBytes + HostArena.ALIGNMENT - 1) / HostArena.ALIGNMENT * HostArena.ALIGNMENT;
        long slots = regionBytes / stride;
        if (slots < 1) {
            throw new IllegalArgumentException("pool region of " + regionBytes + " bytes: expected room for at least one "
                    + stride + "-byte slot");
        }
        if (slots > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("pool of " + slots + " slots: expected fewer than 2^31");
        }
        this.region = region;
        this.slotBytes = slotBytes;
        this.capacity = (int) slots;
        this.freeStack = new int[capacity];
        for (int i = 0; i < capacity; i++) {
            freeStack[i] = capacity - 1 - i;
        }
        this.freeCount = capacity;
        this.out = new BitSet(capacity);
        this.refs = new AtomicIntegerArray(capacity);
    }

    /** Returns the number of slots. */
    public int capacity() {
        return capacity;
    }

    /** Returns the usable bytes of one slot. */
    public long slotBytes() {
        return slotBytes;
    }

    /** Returns the distance between the starts of two neighbouring slots. */
    public long stride() {
        return stride;
    }

    /** Returns a slot, or {@link #NO_SLOT} when all are out. */
    public synchronized int acquire() {
        if (freeCount == 0) {
            return NO_SLOT;
        }
        int slot = freeStack[--freeCount];
        out.set(slot);
        return slot;
    }

    /**
     * Takes a slot back.
     *
     * @throws IllegalStateException when the slot is not out or still has open leases
     */
    public synchronized void release(int slot) {
        checkIndex(slot);
        if (!out.get(slot)) {
            throw new IllegalStateException("slot " + slot + " released but it is not handed out");
        }
        if (refs.get(slot) != 0) {
            throw new IllegalStateException("slot " + slot + " released with " + refs.get(slot) + " open leases");
        }
        out.clear(slot);
        freeStack[freeCount++] = slot;
    }

    /** Returns the number of slots handed out. */
    public synchronized int inUse() {
        return capacity - freeCount;
    }

    /** Returns whether {@code slot} is handed out. */
    public synchronized boolean isOut(int slot) {
        checkIndex(slot);
        return out.get(slot);
    }

    /** Returns where slot {@code slot} starts in the region, in bytes. */
    public long offset(int slot) {
        checkIndex(slot);
        return slot * stride;
    }

    /**
     * Returns slot {@code slot}'s usable bytes as a segment.
     *
     * @throws IllegalStateException when the pool is {@link #unmapped}
     */
    public MemorySegment segment(int slot) {
        return segment(slot, slotBytes);
    }

    /**
     * Returns the first {@code bytes} bytes of slot {@code slot}.
     *
     * @throws IllegalStateException when the pool is {@link #unmapped}
     */
    public MemorySegment segment(int slot, long bytes) {
        checkIndex(slot);
        if (bytes < 0 || bytes > slotBytes) {
            throw new IllegalArgumentException("bytes=" + bytes + ": expected 0.." + slotBytes);
        }
        if (region == null) {
            throw new IllegalStateException("slot " + slot + " is in memory the host cannot address; copy it out instead");
        }
        return region.asSlice(slot * stride, bytes);
    }

    /**
     * Opens a lease on a handed-out slot; the caller must hold whatever lock keeps the slot from
     * being released meanwhile.
     *
     * @param tokens the number of tokens the slot holds, carried by the lease for its reader
     * @param bytes  the bytes of the slot the lease covers; an {@link #unmapped} pool's lease carries
     *               no segment of them
     */
    public BlockLease lease(int slot, int tokens, long bytes) {
        MemorySegment bytesLeased = region == null ? null : segment(slot, bytes);
        refs.incrementAndGet(slot);
        return new BlockLease(this, slot, tokens, bytesLeased);
    }

    /** Returns the number of open leases on {@code slot}. */
    public int leases(int slot) {
        return refs.get(slot);
    }

    /** Returns the number of open leases on all slots. */
    public int totalLeases() {
        int total = 0;
        for (int i = 0; i < capacity; i++) {
            total += refs.get(i);
        }
        return total;
    }

    void retain(int slot) {
        refs.incrementAndGet(slot);
    }

    void unref(int slot) {
        if (refs.decrementAndGet(slot) < 0) {
            refs.incrementAndGet(slot);
            throw new IllegalStateException("slot " + slot + ": lease closed more often than opened");
        }
    }

    private void checkIndex(int slot) {
        if (slot < 0 || slot >= capacity) {
            throw new IndexOutOfBoundsException("slot=" + slot + ": expected 0.." + (capacity - 1));
        }
    }
}
