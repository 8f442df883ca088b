package dev.spillway.storage.chronicle;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.spillway.eviction.PolicyKind;
import dev.spillway.metrics.SpillwayMetrics;

/**
 * Run in a child JVM by {@link ChronicleBackendProcessTest}: stores {@link TestBlocks} in a disk
 * tier of {@code slots} slots, in one of two modes:
 * <ul>
 *   <li>{@code close count}: stores blocks 0..count-1, closes the tier and exits;</li>
 *   <li>{@code loop keys}: stores blocks 0..keys-1 over and over, each put awaited and then
 *       reported on stdout as {@code stored <i> ok}, until the process is killed.</li>
 * </ul>
 * Arguments: directory, slots, mode, count or keys.
 */
final class BackendWriterMain {

    private BackendWriterMain() {
    }

    /** Entry point of the child JVM. */
    public static void main(String[] args) throws Exception {
        int slots = Integer.parseInt(args[1]);
        int n = Integer.parseInt(args[3]);
        ChronicleBackend backend = ChronicleBackend.open(Path.of(args[0]), TestBlocks.SLOT_BYTES,
                slots * TestBlocks.SLOT_BYTES, PolicyKind.LRU, new SpillwayMetrics());
        // Shared: the backend's own threads read the blocks.
        try (Arena arena = Arena.ofShared()) {
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                blocks.add(TestBlocks.block(arena, i));
            }
            switch (args[2]) {
                case "close" -> {
                    for (int i = 0; i < n; i++) {
                        backend.put(List.of(TestBlocks.key(i)), List.of(blocks.get(i))).join();
                    }
                    backend.close();
                }
                case "loop" -> {
                    for (long round = 0; ; round++) {
                        int i = (int) (round % n);
                        backend.put(List.of(TestBlocks.key(i)), List.of(blocks.get(i))).join();
                        System.out.println("stored " + i + " ok");
                        System.out.flush();
                    }
                }
                default -> throw new IllegalArgumentException("mode=" + args[2] + ": expected close or loop");
            }
        }
    }
}
