package dev.spillway.storage.chronicle;

import static dev.spillway.storage.chronicle.TestBlocks.LAYOUT;
import static dev.spillway.storage.chronicle.TestBlocks.SLOT_BYTES;
import static dev.spillway.storage.chronicle.TestBlocks.key;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.spillway.eviction.PolicyKind;
import dev.spillway.layout.BlockFormat;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import dev.spillway.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The disk tier as the next process meets it: after a clean exit, and after the writer was killed mid-put. */
class ChronicleBackendProcessTest {

    private static final Pattern STORED = Pattern.compile("stored (\\d+) ok");

    @TempDir
    Path dir;

    @Test
    void shouldFindEveryBlockThatAnotherProcessStoredAndClosed() throws Exception {
        Process writer = startWriter(48, "close", 40);
        if (!writer.waitFor(60, TimeUnit.SECONDS)) {
            writer.destroyForcibly().waitFor();
        }
        assertThat(writer.exitValue()).as("writer JVM exit status; its output:%n%s", writerLog()).isZero();

        try (ChronicleBackend backend = open(48); Arena arena = Arena.ofShared()) {
            for (int i = 0; i < 40; i++) {
                MemorySegment buffer = arena.allocate(SLOT_BYTES);
                int length = backend.get(List.of(key(i)), List.of(buffer)).get(30, TimeUnit.SECONDS)[0];
                assertThat(length).as("block %d", i).isEqualTo((int) SLOT_BYTES);
                assertThat(buffer.mismatch(TestBlocks.block(arena, i))).as("block %d", i).isEqualTo(-1);
            }
        }
    }

    @Test
    @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void shouldKeepAcknowledgedBlocksAndExposeNoTornOneAfterTheWriterIsKilled() throws Exception {
        int keys = 100;
        Process writer = startWriter(128, "loop", keys);
        Set<Integer> acknowledged = new TreeSet<>();
        int lines = 0;
        try (BufferedReader out = writer.inputReader()) {
            // Past the first round, so that the kill also lands among replacements that free slots.
            // Killing the writer closes this pipe, so the lines still in it go unread: the checked
            // keys are a subset of the acknowledged ones, which is all the assertion needs.
            for (String line = out.readLine(); line != null && lines < keys + keys / 2; line = out.readLine()) {
                Matcher m = STORED.matcher(line);
                if (m.matches()) {
                    acknowledged.add(Integer.parseInt(m.group(1)));
                    lines++;
                }
            }
        } finally {
            writer.destroyForcibly().waitFor();
        }
        assertThat(lines).as("acknowledged puts before the writer died; its log:%n%s", writerLog())
                .isGreaterThanOrEqualTo(keys + keys / 2);
        // Damage key 0 where it lies, as an OS crash that lost a slot's data would: the checksum
        // check that follows an unclean shutdown must drop it.
        corruptEveryCopyOf(0, 128);

        try (ChronicleBackend backend = open(128); Arena arena = Arena.ofShared()) {
            List<Integer> present = new ArrayList<>();
            for (int i = 0; i < keys; i++) {
                MemorySegment buffer = arena.allocate(SLOT_BYTES);
                int length = backend.get(List.of(key(i)), List.of(buffer)).get(30, TimeUnit.SECONDS)[0];
                if (length != StorageBackend.MISSING) {
                    assertThat(BlockFormat.statusName(BlockFormat.verify(buffer.asSlice(0, length), key(i), LAYOUT)))
                            .as("block %d", i).isEqualTo(BlockFormat.statusName(BlockFormat.OK));
                    present.add(i);
                }
            }
            acknowledged.remove(0);
            assertThat(present).doesNotContain(0);
            // The writer runs ahead of this reader, replacing keys it acknowledged before; the kill can
            // tear the index entry of the one key it was replacing, which the recovery check then
            // drops (a miss, never a torn block). Every other acknowledged key must survive.
            Set<Integer> missing = new TreeSet<>(acknowledged);
            missing.removeAll(present);
            assertThat(missing).as("acknowledged keys lost").hasSizeLessThanOrEqualTo(1);
            assertThat(backend.capacity().orElseThrow().blocks()).isEqualTo(present.size());
        }
    }

    private ChronicleBackend open(int slots) throws IOException {
        return ChronicleBackend.open(dir, SLOT_BYTES, slots * SLOT_BYTES, PolicyKind.LRU, new SpillwayMetrics());
    }

    /** Flips a payload byte of every slot whose header names block {@code i}: its live copy and any stale one. */
    private void corruptEveryCopyOf(int i, int slots) throws IOException {
        byte[] wanted = key(i).toBytes();
        try (FileChannel slab = FileChannel.open(dir.resolve(ChronicleBackend.SLAB_FILE), StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            for (int slot = 0; slot < slots; slot++) {
                long at = SlabFile.HEADER_BYTES + slot * SLOT_BYTES;
                ByteBuffer stored = ByteBuffer.allocate(wanted.length);
                slab.read(stored, at + 16);
                if (Arrays.equals(stored.array(), wanted)) {
                    ByteBuffer b = ByteBuffer.allocate(1);
                    slab.read(b, at + BlockFormat.HEADER_BYTES);
                    b.put(0, (byte) ~b.get(0)).rewind();
                    slab.write(b, at + BlockFormat.HEADER_BYTES);
                }
            }
        }
    }

    private Process startWriter(int slots, String mode, int n) throws IOException {
        List<String> command = ChildJvm.command(BackendWriterMain.class, dir.toString(), Integer.toString(slots), mode,
                Integer.toString(n));
        return new ProcessBuilder(command).redirectError(dir.resolve("writer.log").toFile()).start();
    }

    private String writerLog() throws IOException {
        return Files.readString(dir.resolve("writer.log"));
    }
}
