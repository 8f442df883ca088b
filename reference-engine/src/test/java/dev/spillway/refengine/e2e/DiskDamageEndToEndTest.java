package dev.spillway.refengine.e2e;

import static dev.spillway.refengine.e2e.E2e.assertIdentical;
import static dev.spillway.refengine.e2e.E2e.cached;
import static dev.spillway.refengine.e2e.E2e.cold;
import static dev.spillway.refengine.e2e.E2e.requests;
import static dev.spillway.refengine.e2e.E2e.spillway;
import static dev.spillway.refengine.e2e.EndToEndTest.diskEnv;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import dev.spillway.SpillwayEngine;
import dev.spillway.metrics.Counter;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.refengine.ReferenceEngine;
import dev.spillway.refengine.scheduler.RequestResult;
import dev.spillway.storage.chronicle.ChronicleBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Whatever happens to the disk tier's files, before a start or under a running engine, the engine
 * opens, serves every request with the outputs of a cold run, and either counts the damage or was
 * not affected by it (every block still served from G3).
 */
class DiskDamageEndToEndTest {

    /** The tier's files. */
    enum TierFile {
        INDEX(ChronicleBackend.INDEX_FILE), SLAB(ChronicleBackend.SLAB_FILE);

        final String name;

        TierFile(String name) {
            this.name = name;
        }
    }

    /** What is done to a file. */
    enum Damage {
        RANDOM_BYTES, TRUNCATED, ZEROED_PAGES, DELETED, REPLACED_BY_DIRECTORY
    }

    private static final long SLOT = 96 + ReferenceEngine.kvLayout(E2e.MODEL, E2e.CHUNK).chunkBytes();
    /** The chunks the requests store: the slots a damage must reach to matter. */
    private static final long USED_SLOTS = 16;
    private static final String[] COUNTED = {"spillway_disk_recoveries_total", "spillway_checksum_failures_total",
        "spillway_tier_errors_total", "spillway_backend_errors_total"};

    private static List<RequestResult> coldResults;
    private static long undamagedG3Tokens;

    @TempDir
    Path dir;

    @BeforeAll
    static void runColdAndUndamaged(@TempDir Path disk) {
        coldResults = cold(requests("r"));
        try (SpillwayEngine writer = spillway(diskEnv(disk.resolve("g3")))) {
            cached(writer, requests("write"));
        }
        try (SpillwayEngine reader = spillway(diskEnv(disk.resolve("g3")))) {
            assertIdentical(coldResults, cached(reader, requests("read")));
            undamagedG3Tokens = g3Tokens(reader);
        }
        assertThat(undamagedG3Tokens).as("a restarted engine serves the stored chunks from G3").isPositive();
    }

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (TierFile file : TierFile.values()) {
            for (Damage damage : Damage.values()) {
                for (long seed = 1; seed <= 3; seed++) {
                    cases.add(Arguments.of(file, damage, seed));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1} seed {2}")
    @MethodSource("cases")
    void damageBeforeStartIsRecoveredAndNeverServed(TierFile file, Damage damage, long seed) throws IOException {
        Path disk = dir.resolve("g3");
        try (SpillwayEngine writer = spillway(diskEnv(disk))) {
            cached(writer, requests("write"));
        }
        damage(disk.resolve(file.name), damage, seed);

        try (SpillwayEngine engine = spillway(diskEnv(disk))) {
            assertIdentical(coldResults, cached(engine, requests("after")));
            assertThat(counted(engine.metrics()) > 0 || g3Tokens(engine) == undamagedG3Tokens)
                    .as("the damage is counted, or it touched no block (every chunk still came from G3)")
                    .isTrue();
        }
        // The recovered tier is whole again: a second restart needs no recovery.
        try (SpillwayEngine again = spillway(diskEnv(disk))) {
            assertIdentical(coldResults, cached(again, requests("again")));
            assertThat(sum(again.metrics(), "spillway_disk_recoveries_total")).isZero();
        }
    }

    @ParameterizedTest(name = "{0} {1} seed {2}")
    @MethodSource("cases")
    void damageUnderARunningEngineIsNeverServed(TierFile file, Damage damage, long seed) throws Exception {
        Path disk = dir.resolve("g3");
        // Host memory of 4 chunks: the second pass reads most chunks back from the damaged disk tier.
        String hostGib = Double.toString(4.5 * SLOT / (1 << 30));
        try (SpillwayEngine engine = spillway(EndToEndTest.with(diskEnv(disk), "SPILLWAY_MAX_LOCAL_CPU_SIZE", hostGib))) {
            assertIdentical(coldResults, cached(engine, requests("first")));
            assertThat(engine.flush(30_000)).as("the first pass is written to G3 before the damage").isTrue();
            damage(disk.resolve(file.name), damage, seed);
            assertIdentical(coldResults, cached(engine, requests("second")));
            assertIdentical(coldResults, cached(engine, requests("third")));
        }
        try (SpillwayEngine restarted = spillway(diskEnv(disk))) {
            assertIdentical(coldResults, cached(restarted, requests("restarted")));
        }
    }

    @Test
    void deletingOnlyTheIndexRebuildsItFromTheSlabAndServesFromDisk() throws IOException {
        Path disk = dir.resolve("g3");
        try (SpillwayEngine writer = spillway(diskEnv(disk))) {
            cached(writer, requests("write"));
        }
        Files.delete(disk.resolve(ChronicleBackend.INDEX_FILE));

        try (SpillwayEngine engine = spillway(diskEnv(disk))) {
            assertIdentical(coldResults, cached(engine, requests("after")));
            assertThat(engine.metrics().value("spillway_disk_recoveries_total{cause=\"index_missing\"}")).isEqualTo(1);
            assertThat(g3Tokens(engine)).isEqualTo(undamagedG3Tokens);
        }
    }

    private static long g3Tokens(SpillwayEngine engine) {
        return engine.metrics().value("spillway_retrieved_tokens_total{tier=\"G3\"}");
    }

    private static long counted(SpillwayMetrics metrics) {
        long sum = 0;
        for (String family : COUNTED) {
            sum += sum(metrics, family);
        }
        return sum;
    }

    /** Returns the sum of every series of a counter family. */
    private static long sum(SpillwayMetrics metrics, String family) {
        return metrics.counters().stream().filter(c -> c.id().name().equals(family)).mapToLong(Counter::get).sum();
    }

    /** Damages {@code file} as {@code damage} says, at offsets drawn from {@code seed}. */
    static void damage(Path file, Damage damage, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        long size = Files.size(file);
        // The slab is sparse and mostly unused: damage lands where the blocks are.
        long region = file.getFileName().toString().equals(ChronicleBackend.SLAB_FILE)
                ? Math.min(size, 4096 + USED_SLOTS * SLOT) : size;
        switch (damage) {
            case RANDOM_BYTES -> {
                try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    byte[] bytes = new byte[16];
                    for (int i = 0; i < 40; i++) {
                        random.nextBytes(bytes);
                        channel.write(ByteBuffer.wrap(bytes), random.nextLong(region - bytes.length));
                    }
                }
            }
            case TRUNCATED -> {
                try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    channel.truncate(random.nextLong(region));
                }
            }
            case ZEROED_PAGES -> {
                try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    for (int i = 0; i < 4; i++) {
                        channel.write(ByteBuffer.allocate(4096), random.nextLong(region / 4096) * 4096);
                    }
                }
            }
            case DELETED -> Files.delete(file);
            case REPLACED_BY_DIRECTORY -> {
                Files.delete(file);
                Files.createDirectory(file);
            }
        }
    }
}
