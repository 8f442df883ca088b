package dev.spillway.storage.chronicle;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The payload file of the disk tier, {@code blocks.slab}: a header page, then {@code slotCount}
 * fixed-size slots, each holding at most one encoded block, read and written with positional
 * {@link FileChannel} I/O. Which key owns which slot is not recorded here but in the index
 * ({@link ChronicleBlockIndex}); this class only moves bytes and keeps the header.
 * <pre>
 *   0                                   4096          4096 + S       4096 + 2S
 *   +-----------------------------------+-------------+-------------+-- ... --+
 *   | header (below), zero-padded        | slot 0      | slot 1      |         |
 *   +-----------------------------------+-------------+-------------+-- ... --+
 *   S = slot bytes; the file is sized to 4096 + slotCount * S when created (sparse)
 *
 *   header, little-endian:
 *   0       4       6       8                16               24      28
 *   +-------+-------+-------+----------------+----------------+-------+
 *   | magic |version| zero  | slot bytes     | slot count     | state |
 *   +-------+-------+-------+----------------+----------------+-------+
 *   magic "SPWS" (u32 0x53575053), version 1, state 1 while a process has the tier open, 0 after
 *   a clean close
 * </pre>
 *
 * <p>The header page makes the file self-describing, so that opening it with another slot size or
 * slot count (another layout, another {@code max_local_disk_size}) is refused by name instead of
 * reading blocks at the wrong offsets; a whole page keeps every slot at the alignment of the first.
 *
 * <p>Thread-safe: positional reads and writes do not share a file position. Only the backend's own
 * threads may call it, and they are never interrupted: an interrupt during I/O closes a
 * {@link FileChannel} for every thread.
 */
final class SlabFile implements AutoCloseable {

    /** Bytes before slot 0. */
    static final int HEADER_BYTES = 4096;

    private static final int MAGIC = 0x53575053;
    private static final short VERSION = 1;
    private static final int FIELDS_BYTES = 28;
    private static final int OFF_STATE = 24;
    private static final int STATE_CLOSED = 0;
    private static final int STATE_OPEN = 1;

    private final Path file;
    private final FileChannel channel;
    private final long slotBytes;
    private final int slotCount;
    private final boolean uncleanShutdown;
    private final boolean created;

    private SlabFile(Path file, FileChannel channel, long slotBytes, int slotCount, boolean uncleanShutdown,
                     boolean created) {
        this.file = file;
        this.channel = channel;
        this.slotBytes = slotBytes;
        this.slotCount = slotCount;
        this.uncleanShutdown = uncleanShutdown;
        this.created = created;
    }

    /**
     * An existing file that is a slab file of this version but was created for another slot size
     * or count: whole, but not usable with this geometry.
     */
    static final class ForeignGeometry extends IOException {
        private static final long serialVersionUID = 1L;

        ForeignGeometry(String message) {
            super(message);
        }
    }

    /**
     * Opens the slab file, creating it when absent or empty, and marks it open (durably) until
     * {@link #close}.
     *
     * @throws ForeignGeometry when the file is a slab file created with another slot size or count
     * @throws IOException      naming the file when it cannot be created or read, or is not a slab
     *                          file of this version
     */
    static SlabFile open(Path file, long slotBytes, int slotCount) throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            boolean unclean;
            boolean creating = channel.size() == 0;
            if (creating) {
                ByteBuffer header = ByteBuffer.allocate(FIELDS_BYTES).order(ByteOrder.LITTLE_ENDIAN)
                        .putInt(MAGIC).putShort(VERSION).putShort((short) 0).putLong(slotBytes).putLong(slotCount)
                        .putInt(STATE_CLOSED).flip();
                writeFully(channel, header, 0);
                unclean = false;
            } else {
                unclean = checkHeader(channel, file, slotBytes, slotCount);
            }
            long end = HEADER_BYTES + slotCount * slotBytes;
            if (channel.size() < end) {
                // Writing the last byte sizes the file without writing the slots: the file is sparse,
                // so space is taken as blocks arrive (a full disk fails those puts, not this open).
                writeFully(channel, ByteBuffer.allocate(1), end - 1);
            }
            SlabFile slab = new SlabFile(file, channel, slotBytes, slotCount, unclean, creating);
            slab.writeState(STATE_OPEN);
            return slab;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /**
     * Returns the bytes the slots of an existing slab file already take: its header's slot bytes
     * times slot count, or less when the file ends before its last slot (its sizing failed); 0 when
     * there is no file or its header is not a slab header. Reads, never writes, so that a start-up
     * check can run before the tier is opened.
     */
    static long existingCapacity(Path file) {
        if (!Files.isRegularFile(file)) {
            return 0;
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            if (channel.size() < FIELDS_BYTES) {
                return 0;
            }
            Header header = Header.read(channel);
            if (header.magic() != MAGIC || header.slotBytes() <= 0 || header.slotCount() <= 0) {
                return 0;
            }
            return Math.min(Math.multiplyExact(header.slotBytes(), header.slotCount()),
                    Math.max(0, channel.size() - HEADER_BYTES));
        } catch (IOException | ArithmeticException e) {
            return 0;
        }
    }

    /** Reads and checks the header of an existing file; returns whether it was left open. */
    private static boolean checkHeader(FileChannel channel, Path file, long slotBytes, int slotCount) throws IOException {
        if (channel.size() < HEADER_BYTES) {
            throw new IOException("file=" + file + " is " + channel.size() + " bytes long, shorter than a slab file's "
                    + HEADER_BYTES + "-byte header");
        }
        Header header = Header.read(channel);
        if (header.magic() != MAGIC || header.version() != VERSION) {
            throw new IOException("file=" + file + " is not a Spillway slab file of version " + VERSION);
        }
        if (header.slotBytes() != slotBytes || header.slotCount() != slotCount) {
            throw new ForeignGeometry("file=" + file + " was created with slot bytes=" + header.slotBytes() + " and slots="
                    + header.slotCount() + ", expected slot bytes=" + slotBytes + " and slots=" + slotCount
                    + " (the layout and max_local_disk_size fix them)");
        }
        return header.state() != STATE_CLOSED;
    }

    /** The header's fields, as read; the caller checks them. */
    private record Header(int magic, short version, long slotBytes, long slotCount, int state) {

        /** Reads the header of a file at least {@value #FIELDS_BYTES} bytes long. */
        static Header read(FileChannel channel) throws IOException {
            ByteBuffer header = ByteBuffer.allocate(FIELDS_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, header, 0);
            header.flip();
            int magic = header.getInt();
            short version = header.getShort();
            header.getShort();
            return new Header(magic, version, header.getLong(), header.getLong(), header.getInt());
        }
    }

    private void writeState(int state) throws IOException {
        ByteBuffer value = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(state).flip();
        writeFully(channel, value, OFF_STATE);
        channel.force(false);
    }

    /** Returns the file's path. */
    Path file() {
        return file;
    }

    /** Returns whether the last process that opened the file did not close it (it crashed or was killed). */
    boolean uncleanShutdown() {
        return uncleanShutdown;
    }

    /** Returns whether {@link #open} created the file (it was absent or empty), so that it holds no block. */
    boolean created() {
        return created;
    }

    /** Returns the size of every slot. */
    long slotBytes() {
        return slotBytes;
    }

    /** Returns the number of slots. */
    int slotCount() {
        return slotCount;
    }

    /** Returns the file offset of {@code slot}. */
    long offset(int slot) {
        return HEADER_BYTES + slot * slotBytes;
    }

    /** Returns the slot that starts at {@code offset}, or -1 when no slot does. */
    int slotAt(long offset) {
        long relative = offset - HEADER_BYTES;
        if (relative < 0 || relative % slotBytes != 0 || relative / slotBytes >= slotCount) {
            return -1;
        }
        return (int) (relative / slotBytes);
    }

    /**
     * Writes {@code block} (at most {@link #slotBytes} bytes) at the start of {@code slot}; in the
     * page cache when this returns, on the disk after {@link #force} or {@link #close}.
     */
    void write(int slot, MemorySegment block) throws IOException {
        try {
            writeFully(channel, block.asByteBuffer(), offset(slot));
        } catch (IOException e) {
            throw failed("writing slot " + slot, e);
        }
    }

    /** Reads the first {@code length} bytes of {@code slot} into the start of {@code destination}. */
    void read(int slot, MemorySegment destination, int length) throws IOException {
        try {
            readFully(channel, destination.asSlice(0, length).asByteBuffer(), offset(slot));
        } catch (IOException e) {
            throw failed("reading slot " + slot, e);
        }
    }

    /** Makes every write so far durable (data only: the file's size never changes after open). */
    void force() throws IOException {
        try {
            channel.force(false);
        } catch (IOException e) {
            throw failed("forcing", e);
        }
    }

    /** Names the file and what was being done, which the JDK's I/O messages ("No space left on device") do not. */
    private IOException failed(String doing, IOException cause) {
        return new IOException("file=" + file + ": " + doing + ": " + cause, cause);
    }

    /** Closes the file without marking it closed cleanly, after a failed open: the next open verifies again. */
    void abandon() throws IOException {
        channel.close();
    }

    /** Forces every block written, then marks the file closed cleanly (durably) and closes it. */
    @Override
    public void close() throws IOException {
        try (channel) {
            // The blocks first, then the state that vouches for them: one force could persist the
            // state word and lose blocks if the machine failed during it.
            force();
            writeState(STATE_CLOSED);
        }
    }

    private static void writeFully(FileChannel channel, ByteBuffer source, long position) throws IOException {
        long at = position;
        while (source.hasRemaining()) {
            at += channel.write(source, at);
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer destination, long position) throws IOException {
        long at = position;
        while (destination.hasRemaining()) {
            int n = channel.read(destination, at);
            if (n < 0) {
                throw new EOFException("the file ends at " + at + ", before the " + destination.remaining()
                        + " bytes still to read there");
            }
            at += n;
        }
    }
}
