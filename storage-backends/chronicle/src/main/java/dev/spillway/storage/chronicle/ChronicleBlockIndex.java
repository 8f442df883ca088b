package dev.spillway.storage.chronicle;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;

import dev.spillway.key.BlockKey;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ChronicleMapBuilder;

/**
 * The persistent index of the disk tier: which blocks the tier holds and where, in a Chronicle Map
 * persisted to one file. Every entry put before {@link #close} is found again by the next
 * {@link #open} of the same file, in this process or another.
 *
 * <p>Keys are the {@value BlockKey#BYTES}-byte binary form of a {@link BlockKey}; values are the
 * {@value IndexEntry#BYTES}-byte form of an {@link IndexEntry}. Both are constant-size byte arrays,
 * so Chronicle Map stores them as they are.
 *
 * <p>The file also holds one metadata entry that makes it self-describing: the capacity it was
 * created with and the format version. Chronicle Map fixes its sizing when it creates the file and
 * ignores the sizing asked for when it reopens one, so {@link #open} compares the two and refuses a
 * mismatch instead of failing later, at an unpredictable put. Its key can never be a block's key:
 * <pre>
 *   key   (48 bytes): 0xFF x 48    (token count -1 and reserved word -1, both invalid in a BlockKey)
 *   value (28 bytes, little-endian):
 *   0                   8         12                                      28
 *   +-------------------+---------+---------------------------------------+
 *   | max entries       | version | zero                                  |
 *   +-------------------+---------+---------------------------------------+
 * </pre>
 *
 * <p>Thread-safe. One instance at a time may have a file open: the entry count that enforces
 * {@code maxEntries} is kept by the instance.
 */
public final class ChronicleBlockIndex implements AutoCloseable {

    /** The version of the key, value and metadata layouts above; bump it when any of them changes. */
    private static final int FORMAT_VERSION = 1;
    private static final byte[] META_KEY = new byte[BlockKey.BYTES];

    static {
        Arrays.fill(META_KEY, (byte) 0xFF);
    }

    private final Path file;
    private final ChronicleMap<byte[], byte[]> map;
    private final long maxEntries;
    /** Entries other than the metadata entry; also reserves room before an insert, see {@link #put}. */
    private final AtomicLong entries;

    private ChronicleBlockIndex(Path file, ChronicleMap<byte[], byte[]> map, long maxEntries) {
        this.file = file;
        this.map = map;
        this.maxEntries = maxEntries;
        this.entries = new AtomicLong(map.longSize() - 1);
    }

    /**
     * Opens the index persisted in {@code file}, creating the file when it is absent or empty.
     *
     * @param file       the index file; its directory must exist
     * @param maxEntries the most entries the index holds; fixed when the file is created, so a
     *                   later open of the same file must pass the same value
     * @throws IllegalArgumentException when {@code maxEntries < 1}, or differs from the value the
     *                                  existing file was created with
     * @throws IOException              when the file cannot be created or read, or is not a block
     *                                  index of this format version
     */
    public static ChronicleBlockIndex open(Path file, long maxEntries) throws IOException {
        return open(file, maxEntries, false);
    }

    /**
     * Opens the index like {@link #open(Path, long)}, first repairing the file when {@code recover}
     * is set: a process killed inside a put leaves its segment lock held, and Chronicle Map would
     * otherwise wait for that lock (then fail) at the next access to the segment. Recovery resets
     * every lock and rebuilds the segments' bookkeeping; it must not run while another process has
     * the file open.
     *
     * @param recover whether the last process that had the file open may have died without
     *                closing it
     * @throws IllegalArgumentException as {@link #open(Path, long)}
     * @throws IOException              as {@link #open(Path, long)}
     */
    public static ChronicleBlockIndex open(Path file, long maxEntries, boolean recover) throws IOException {
        Objects.requireNonNull(file, "file");
        if (maxEntries < 1) {
            throw new IllegalArgumentException("maxEntries=" + maxEntries + ": expected >= 1");
        }
        boolean creating = !Files.exists(file) || Files.size(file) == 0;
        ChronicleMap<byte[], byte[]> map;
        try {
            ChronicleMapBuilder<byte[], byte[]> builder = ChronicleMap.of(byte[].class, byte[].class)
                    .name("spillway-block-index")
                    .constantKeySizeBySample(new byte[BlockKey.BYTES])
                    .constantValueSizeBySample(new byte[IndexEntry.BYTES])
                    .entries(maxEntries + 1);
            map = recover && !creating
                    ? builder.recoverPersistedTo(file.toFile(), true)
                    : builder.createPersistedTo(file.toFile());
        } catch (IOException e) {
            // Chronicle's messages do not always name the file.
            throw new IOException("cannot open block index file=" + file + ": " + e.getMessage(), e);
        }
        try {
            if (creating) {
                map.put(META_KEY, metadata(maxEntries));
            } else {
                checkMetadata(map.get(META_KEY), file, maxEntries);
            }
            return new ChronicleBlockIndex(file, map, maxEntries);
        } catch (IOException | RuntimeException e) {
            map.close();
            throw e;
        }
    }

    private static byte[] metadata(long maxEntries) {
        byte[] value = new byte[IndexEntry.BYTES];
        ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN).putLong(maxEntries).putInt(FORMAT_VERSION);
        return value;
    }

    private static void checkMetadata(byte[] value, Path file, long maxEntries) throws IOException {
        if (value == null || value.length != IndexEntry.BYTES) {
            throw new IOException("block index file=" + file + " has no Spillway metadata entry: expected a file written by "
                    + ChronicleBlockIndex.class.getSimpleName() + " (format version " + FORMAT_VERSION + ")");
        }
        ByteBuffer buf = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN);
        long createdMaxEntries = buf.getLong();
        int version = buf.getInt();
        if (version != FORMAT_VERSION) {
            throw new IOException("block index file=" + file + " has format version " + version + ": expected "
                    + FORMAT_VERSION);
        }
        if (createdMaxEntries != maxEntries) {
            throw new IllegalArgumentException("maxEntries=" + maxEntries + ": block index file=" + file
                    + " was created with maxEntries=" + createdMaxEntries
                    + " (the capacity is fixed at creation; delete the file to change it)");
        }
    }

    /** Returns the entry of {@code key}, or empty when the index does not hold it. */
    public Optional<IndexEntry> get(BlockKey key) {
        byte[] value = map.get(key.toBytes());
        return value == null ? Optional.empty() : Optional.of(IndexEntry.fromBytes(value));
    }

    /**
     * Maps {@code key} to {@code entry}, replacing any entry it had. Replacing always succeeds;
     * adding a key succeeds while the index holds fewer than {@code maxEntries} entries.
     *
     * @throws IllegalStateException when the index is full and does not hold {@code key}
     */
    public void put(BlockKey key, IndexEntry entry) {
        byte[] k = key.toBytes();
        byte[] v = entry.toBytes();
        if (map.replace(k, v) != null) {
            return;
        }
        // Reserving room before the insert keeps concurrent inserters from overshooting maxEntries.
        long held;
        do {
            held = entries.get();
            if (held >= maxEntries) {
                throw new IllegalStateException("block index file=" + file + " is full: it holds maxEntries="
                        + maxEntries + " entries; remove one before adding " + key);
            }
        } while (!entries.compareAndSet(held, held + 1));
        boolean added = false;
        try {
            // Not added when another thread inserted the same key since the replace above.
            added = map.put(k, v) == null;
        } finally {
            if (!added) {
                entries.decrementAndGet();
            }
        }
    }

    /** Removes the entry of {@code key}; returns whether the index held it. */
    public boolean remove(BlockKey key) {
        if (map.remove(key.toBytes()) == null) {
            return false;
        }
        entries.decrementAndGet();
        return true;
    }

    /** Returns the number of entries. */
    public long size() {
        return entries.get();
    }

    /**
     * Passes every entry to {@code action}, in no particular order. {@code action} may call
     * {@link #put} and {@link #remove}; entries changed during the walk may or may not be passed.
     *
     * @throws IllegalArgumentException when a stored key is not a valid {@link BlockKey}
     */
    public void forEach(BiConsumer<BlockKey, IndexEntry> action) {
        for (Map.Entry<byte[], byte[]> e : map.entrySet()) {
            byte[] k = e.getKey();
            if (!Arrays.equals(k, META_KEY)) {
                action.accept(BlockKey.readFrom(MemorySegment.ofArray(k), 0), IndexEntry.fromBytes(e.getValue()));
            }
        }
    }

    /**
     * Unmaps the file; idempotent. Every put is in the mapped file as soon as it returns, so a
     * process that exits without closing loses nothing; an operating-system crash may lose recent
     * puts, because Chronicle Map does not sync the file.
     */
    @Override
    public void close() {
        map.close();
    }
}
