package dev.spillway.storage.chronicle;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

import dev.spillway.key.BlockKey;
import dev.spillway.layout.BlockFormat;
import dev.spillway.metrics.Counter;
import dev.spillway.metrics.SpillwayMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens the disk tier's two files so that whatever is in them, the tier opens: a cache must never
 * be the reason an inference server does not start. The recovery is specified in
 * {@code docs/spec/disk-tier.md}; in short:
 * <pre>
 *   blocks.slab  unreadable (short, bad magic or version, a directory) ....... moved aside, tier starts empty
 *                created for another slot size or count ...................... moved aside, tier starts empty
 *   index.cmap   cannot be opened or walked (Chronicle header, entries) ....... moved aside, rebuilt by a scan
 *                absent while the slab exists ................................ rebuilt by a scan
 *                an entry that does not name the intact block of its key .... moved aside, rebuilt by a scan
 * </pre>
 * "Moved aside" renames the file to {@code NAME.damaged-<UTC time>} in the same directory: it is
 * kept for diagnosis, never deleted. A scan reads every slot's 96-byte header and re-indexes a slot
 * only when its header is intact and its payload matches the header's checksum
 * ({@link BlockFormat#selfConsistent}), so a rebuilt index names only whole blocks. Each recovery
 * increments {@code spillway_disk_recoveries_total{cause}} and logs one WARN line naming the file
 * and the cause.
 *
 * <p>Every entry of an index that opens is checked against the header of the slot it names (one
 * 96-byte read per block: its checksum, its key and its length), after a clean close as after a
 * crash; after an unclean shutdown the payload is checked too. Damage to a payload that appears
 * after this check is caught where each block is read: the engine verifies every block it reads.
 */
final class DiskRecovery {

    /** Why a file of the tier was repaired or replaced: the {@code cause} label of the recoveries counter. */
    enum Cause {
        /** The slab file is not a slab file of this version, is too short to hold its header, or is not a file. */
        SLAB_UNREADABLE("slab_unreadable"),
        /** The slab file was created for another slot size or count (another layout or size). */
        SLAB_GEOMETRY("slab_geometry"),
        /** The index file cannot be opened or walked. */
        INDEX_UNREADABLE("index_unreadable"),
        /** The index file is absent while the slab exists. */
        INDEX_MISSING("index_missing"),
        /** An index entry does not name the intact block of its key. */
        INDEX_MISMATCH("index_mismatch");

        private final String label;

        Cause(String label) {
            this.label = label;
        }

        /** Returns the metric label value. */
        String label() {
            return label;
        }
    }

    /** A block the opened tier holds: its key, its slot and when it was last stored or read. */
    record Resident(BlockKey key, int slot, long lastAccessMillis) {
    }

    /** The tier's files, open, and the blocks they hold. */
    record Opened(SlabFile slab, ChronicleBlockIndex index, List<Resident> residents) {
    }

    private record Check(List<Resident> residents, int disagreeing) {
    }

    private static final Logger LOG = LoggerFactory.getLogger(DiskRecovery.class);
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'")
            .withZone(ZoneOffset.UTC);

    private final Path directory;
    private final Path slabFile;
    private final Path indexFile;
    private final long slotBytes;
    private final int slots;
    private final Counter[] recoveries = new Counter[Cause.values().length];

    private DiskRecovery(Path directory, long slotBytes, int slots, SpillwayMetrics metrics) {
        this.directory = directory;
        this.slabFile = directory.resolve(ChronicleBackend.SLAB_FILE);
        this.indexFile = directory.resolve(ChronicleBackend.INDEX_FILE);
        this.slotBytes = slotBytes;
        this.slots = slots;
        for (Cause cause : Cause.values()) {
            recoveries[cause.ordinal()] = metrics.counter("spillway_disk_recoveries_total",
                    "Times the disk tier moved aside, rebuilt or replaced a damaged file at open", "cause", cause.label());
        }
    }

    /**
     * Opens the slab and the index in {@code directory} (which exists), recovering from any damage
     * in either as the class comment says.
     *
     * @throws IOException only when a file cannot be created or renamed at all (the directory is not
     *                     writable, the disk failed): damage in the files is never a reason
     */
    static Opened open(Path directory, long slotBytes, int slots, SpillwayMetrics metrics) throws IOException {
        DiskRecovery recovery = new DiskRecovery(directory, slotBytes, slots, metrics);
        SlabFile slab = recovery.openSlab();
        try {
            return recovery.openIndex(slab);
        } catch (IOException | RuntimeException | Error e) {
            slab.abandon();
            throw e;
        }
    }

    private SlabFile openSlab() throws IOException {
        Cause cause;
        Throwable problem;
        try {
            if (!Files.exists(slabFile, LinkOption.NOFOLLOW_LINKS) || Files.isRegularFile(slabFile, LinkOption.NOFOLLOW_LINKS)) {
                return SlabFile.open(slabFile, slotBytes, slots);
            }
            cause = Cause.SLAB_UNREADABLE;
            problem = new IOException("not a regular file");
        } catch (SlabFile.ForeignGeometry e) {
            cause = Cause.SLAB_GEOMETRY;
            problem = e;
        } catch (IOException | RuntimeException e) {
            cause = Cause.SLAB_UNREADABLE;
            problem = e;
        }
        // The index names slots of the slab that is going: it goes too, and the tier starts empty.
        Path slabAside = moveAside(slabFile);
        Path indexAside = Files.exists(indexFile, LinkOption.NOFOLLOW_LINKS) ? moveAside(indexFile) : null;
        SlabFile slab = SlabFile.open(slabFile, slotBytes, slots);
        recovered(cause, slabFile, problem, "moved aside to " + slabAside.getFileName()
                + (indexAside == null ? "" : " with its index (to " + indexAside.getFileName() + ")")
                + "; the tier starts empty");
        return slab;
    }

    private Opened openIndex(SlabFile slab) throws IOException {
        if (Files.exists(indexFile, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(indexFile, LinkOption.NOFOLLOW_LINKS)) {
            return rebuild(slab, null, Cause.INDEX_UNREADABLE, new IOException("not a regular file"));
        }
        boolean existed = Files.exists(indexFile) && Files.size(indexFile) > 0;
        ChronicleBlockIndex index;
        try {
            index = ChronicleBlockIndex.open(indexFile, slots, existed && slab.uncleanShutdown());
        } catch (IOException | RuntimeException | InternalError e) {
            // InternalError: a fault reading the mapped file (one shorter than its header says).
            return rebuild(slab, null, Cause.INDEX_UNREADABLE, e);
        }
        if (!existed && !slab.created()) {
            return rebuild(slab, index, Cause.INDEX_MISSING, null);
        }
        Check check;
        try {
            check = check(slab, index);
        } catch (IOException | RuntimeException | InternalError e) {
            return rebuild(slab, index, Cause.INDEX_UNREADABLE, e);
        }
        if (check.disagreeing() > 0) {
            return rebuild(slab, index, Cause.INDEX_MISMATCH, new IOException(check.disagreeing()
                    + " of its entries name no intact block of their key"));
        }
        return new Opened(slab, index, check.residents());
    }

    /** Checks every entry against the slot it names; see the class comment. */
    private Check check(SlabFile slab, ChronicleBlockIndex index) throws IOException {
        boolean payloads = slab.uncleanShutdown();
        boolean[] taken = new boolean[slots];
        List<Resident> residents = new ArrayList<>();
        int[] disagreeing = {0};
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(payloads ? slotBytes : BlockFormat.HEADER_BYTES, 4096);
            index.forEach((key, entry) -> {
                int slot = slab.slotAt(entry.slabOffset());
                if (slot >= 0 && !taken[slot] && entry.length() >= BlockFormat.HEADER_BYTES && entry.length() <= slotBytes
                        && names(slab, slot, key, entry, buffer, payloads)) {
                    taken[slot] = true;
                    residents.add(new Resident(key, slot, entry.lastAccessMillis()));
                } else {
                    disagreeing[0]++;
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        return new Check(residents, disagreeing[0]);
    }

    /** Says whether {@code slot} holds the block of {@code key} that {@code entry} describes. */
    private static boolean names(SlabFile slab, int slot, BlockKey key, IndexEntry entry, MemorySegment buffer,
                                 boolean payload) {
        try {
            slab.read(slot, buffer, payload ? entry.length() : BlockFormat.HEADER_BYTES);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        MemorySegment header = buffer.asSlice(0, BlockFormat.HEADER_BYTES);
        if (ChronicleBackend.headerChecksum(header) != entry.checksum() || BlockFormat.storedBytes(header) != entry.length()
                || !BlockFormat.key(header).equals(key)) {
            return false;
        }
        return !payload || BlockFormat.selfConsistent(buffer.asSlice(0, entry.length()));
    }

    /**
     * Moves the damaged index aside (when there is one), creates an empty one and fills it by a scan
     * of the slab.
     *
     * @param open    the index when it is open: closed here, or (when it was absent) filled
     * @param problem what was wrong, or {@code null} when the index was absent
     */
    private Opened rebuild(SlabFile slab, ChronicleBlockIndex open, Cause cause, Throwable problem) throws IOException {
        Path aside = null;
        if (cause != Cause.INDEX_MISSING) {
            if (open != null) {
                closeQuietly(open);
            }
            if (Files.exists(indexFile, LinkOption.NOFOLLOW_LINKS)) {
                aside = moveAside(indexFile);
            }
        }
        ChronicleBlockIndex index = cause == Cause.INDEX_MISSING ? open : ChronicleBlockIndex.open(indexFile, slots);
        try {
            List<Resident> residents = scan(slab, index);
            recovered(cause, indexFile, problem, (aside == null ? "" : "moved aside to " + aside.getFileName() + "; ")
                    + "rebuilt from " + slab.file().getFileName() + ": " + residents.size() + " intact blocks re-indexed");
            return new Opened(slab, index, residents);
        } catch (RuntimeException | Error e) {
            closeQuietly(index);
            throw e;
        }
    }

    /** Re-indexes every slot that holds a whole block, the first of each key; see the class comment. */
    private List<Resident> scan(SlabFile slab, ChronicleBlockIndex index) {
        List<Resident> residents = new ArrayList<>();
        long now = System.currentTimeMillis();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(slotBytes, 4096);
            for (int slot = 0; slot < slots; slot++) {
                int stored = wholeBlockIn(slab, slot, buffer);
                BlockKey key = stored < 0 ? null : keyOf(buffer);
                if (key == null || index.get(key).isPresent()) {
                    continue;
                }
                index.put(key, new IndexEntry(slab.offset(slot), stored, ChronicleBackend.headerChecksum(buffer), now));
                residents.add(new Resident(key, slot, now));
            }
        }
        return residents;
    }

    /** Reads the whole block in {@code slot} into {@code buffer} and returns its length, or -1 when there is none. */
    private int wholeBlockIn(SlabFile slab, int slot, MemorySegment buffer) {
        try {
            slab.read(slot, buffer, BlockFormat.HEADER_BYTES);
            long stored = BlockFormat.storedBytes(buffer.asSlice(0, BlockFormat.HEADER_BYTES));
            if (stored < 0 || stored > slotBytes) {
                return -1;
            }
            slab.read(slot, buffer, (int) stored);
            return BlockFormat.selfConsistent(buffer.asSlice(0, stored)) ? (int) stored : -1;
        } catch (IOException e) {
            LOG.debug("{} tier in {}: slot {} cannot be read; skipped by the rebuild", ChronicleBackend.NAME, directory,
                    slot, e);
            return -1;
        }
    }

    /** Returns the key in an intact block's header, or {@code null} when it is not a valid key (no block to keep). */
    private static BlockKey keyOf(MemorySegment block) {
        try {
            return BlockFormat.key(block);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Renames {@code file} to {@code NAME.damaged-<UTC time>} beside it and returns the new path. */
    private static Path moveAside(Path file) throws IOException {
        String stamp = STAMP.format(Instant.now());
        Path target = file.resolveSibling(file.getFileName() + ".damaged-" + stamp);
        for (int n = 2; Files.exists(target, LinkOption.NOFOLLOW_LINKS); n++) {
            target = file.resolveSibling(file.getFileName() + ".damaged-" + stamp + "-" + n);
        }
        try {
            return Files.move(file, target);
        } catch (IOException e) {
            throw new IOException("file=" + file + " is damaged and cannot be moved aside to " + target + ": " + e, e);
        }
    }

    private void recovered(Cause cause, Path file, Throwable problem, String outcome) {
        recoveries[cause.ordinal()].increment();
        String why = problem == null ? "absent" : String.valueOf(problem.getMessage()).replace('\n', ' ');
        LOG.warn("{} tier recovery ({}): file={}: {}: {}", ChronicleBackend.NAME, cause.label(), file, why, outcome);
        if (problem != null) {
            LOG.debug("{} tier recovery ({}): file={}", ChronicleBackend.NAME, cause.label(), file, problem);
        }
    }

    private void closeQuietly(ChronicleBlockIndex index) {
        try {
            index.close();
        } catch (RuntimeException | InternalError e) {
            LOG.debug("{} tier in {}: closing a damaged index failed", ChronicleBackend.NAME, directory, e);
        }
    }
}
