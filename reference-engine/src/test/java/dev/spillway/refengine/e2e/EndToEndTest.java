package dev.spillway.refengine.e2e;

import static dev.spillway.refengine.e2e.E2e.assertIdentical;
import static dev.spillway.refengine.e2e.E2e.cached;
import static dev.spillway.refengine.e2e.E2e.cold;
import static dev.spillway.refengine.e2e.E2e.external;
import static dev.spillway.refengine.e2e.E2e.requests;
import static dev.spillway.refengine.e2e.E2e.spillway;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import dev.spillway.SpillwayEngine;
import dev.spillway.refengine.ReferenceEngine;
import dev.spillway.refengine.scheduler.InferenceRequest;
import dev.spillway.refengine.scheduler.RequestResult;
import dev.spillway.storage.chronicle.ChronicleBackend;
import dev.spillway.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The reference engine with Spillway attached produces exactly what it produces cold, whichever
 * tier serves the KV and whatever goes wrong underneath: the same tokens and bit-identical logits.
 */
class EndToEndTest {


    @TempDir
    Path dir;

    @ParameterizedTest(name = "layerwise={0}")
    @ValueSource(strings = {"true", "false"})
    void hostMemoryServesPartialWholeAndNoHitsIdentically(String layerwise) {
        List<RequestResult> cold = cold(requests("r"));
        try (SpillwayEngine spillway = spillway("SPILLWAY_USE_LAYERWISE", layerwise)) {
            List<RequestResult> first = cached(spillway, requests("first"));
            assertIdentical(cold, first);
            assertThat(external(first)).as("each request hits what the ones before it stored")
                    .isEqualTo(E2e.FIRST_PASS_HITS);
            List<RequestResult> second = cached(spillway, requests("second"));
            assertIdentical(cold, second);
            assertThat(external(second)).isEqualTo(E2e.REPEAT_HITS);
            assertThat(spillway.metrics().value("spillway_retrieved_tokens_total{tier=\"G2\"}")).isPositive();
        }
    }

    @Test
    void diskTierServesAFreshJvmAfterTheFirstWroteAndClosed() throws Exception {
        Path disk = dir.resolve("g3");
        runChild(disk);
        List<RequestResult> cold = cold(requests("r"));
        try (SpillwayEngine spillway = spillway(diskEnv(disk))) {
            List<RequestResult> cached = cached(spillway, requests("restarted"));
            assertIdentical(cold, cached);
            assertThat(external(cached)).isEqualTo(E2e.REPEAT_HITS);
            assertThat(spillway.metrics().value("spillway_retrieved_tokens_total{tier=\"G3\"}")).isPositive();
        }
    }

    @Test
    void aChunkCorruptedOnDiskIsReportedAndRecomputed() throws Exception {
        Path disk = dir.resolve("g3");
        try (SpillwayEngine writer = spillway(diskEnv(disk))) {
            cached(writer, requests("write"));
        }
        corruptEveryBlock(disk.resolve(ChronicleBackend.SLAB_FILE));
        List<RequestResult> cold = cold(requests("r"));
        try (SpillwayEngine spillway = spillway(diskEnv(disk))) {
            List<RequestResult> cached = cached(spillway, requests("corrupt"));
            assertIdentical(cold, cached);
            assertThat(cached.stream().mapToInt(RequestResult::recomputedTokens).sum()).isPositive();
            assertThat(spillway.metrics().value("spillway_checksum_failures_total{backend=\"chronicle\"}")).isPositive();
            assertThat(spillway.metrics().value("spillway_connector_load_error_tokens_total")).isPositive();
        }
    }

    @Test
    void twoNamespacesNeverShareAChunk() {
        Path disk = dir.resolve("g3");
        try (SpillwayEngine a = spillway(with(diskEnv(disk), "SPILLWAY_NAMESPACE", "tenant-a"))) {
            cached(a, requests("a"));
        }
        List<RequestResult> cold = cold(requests("r"));
        try (SpillwayEngine b = spillway(with(diskEnv(disk), "SPILLWAY_NAMESPACE", "tenant-b"))) {
            List<RequestResult> first = cached(b, requests("b"));
            assertIdentical(cold, first);
            assertThat(first.getFirst().externalTokens()).isZero();
            assertThat(first.get(1).externalTokens()).as("only b's own base request is a hit").isEqualTo(96);
        }
    }

    @Test
    void deviceTierOnTheSimulatedRuntimeServesChunksHostMemoryEvicted() {
        // Host memory holds 5 chunks, the device tier far more: the second pass finds most chunks in G1 only.
        long chunk = ReferenceEngine.kvLayout(E2e.MODEL, E2e.CHUNK).chunkBytes();
        String hostGib = Double.toString(5.5 * chunk / (1 << 30));
        List<RequestResult> cold = cold(requests("r"));
        try (SpillwayEngine spillway = spillway("SPILLWAY_GPU", "sim", "SPILLWAY_GPU_CACHE_SIZE", "0.01",
                "SPILLWAY_MAX_LOCAL_CPU_SIZE", hostGib)) {
            assertIdentical(cold, cached(spillway, requests("first")));
            List<RequestResult> second = cached(spillway, requests("second"));
            assertIdentical(cold, second);
            assertThat(second.getFirst().externalTokens()).isEqualTo(128);
            assertThat(spillway.metrics().value("spillway_retrieved_tokens_total{tier=\"G1\"}")).isPositive();
        }
    }

    @Test
    void theEnginesOwnPrefixCacheHitsAreSkippedAndTheRestLoaded() {
        int[] prompt = E2e.tokens(200, 7);
        int[] sharesTwoBlocks = IntStream.concat(IntStream.of(Arrays.copyOf(prompt, 40)),
                IntStream.of(E2e.tokens(30, 8))).toArray();
        InferenceRequest full = new InferenceRequest("full", prompt, E2e.NEW_TOKENS);
        RequestResult cold = cold(List.of(full)).getFirst();
        try (SpillwayEngine spillway = spillway()) {
            cached(spillway, List.of(new InferenceRequest("store", prompt, E2e.NEW_TOKENS)));
            try (ReferenceEngine engine = ReferenceEngine.create(E2e.MODEL, E2e.THREADS, E2e.BLOCKS, spillway, true)) {
                engine.run(new InferenceRequest("warm-engine-cache", sharesTwoBlocks, E2e.NEW_TOKENS));
                RequestResult result = engine.run(full);
                assertIdentical(List.of(cold), List.of(result));
                assertThat(result.engineCachedTokens()).isEqualTo(32);
                assertThat(result.externalTokens()).isEqualTo(192 - 32);
            }
        }
    }

    static String[] diskEnv(Path disk) {
        return new String[] {"SPILLWAY_LOCAL_DISK", disk.toString(), "SPILLWAY_MAX_LOCAL_DISK_SIZE", "0.05"};
    }

    static String[] with(String[] env, String... more) {
        String[] all = new String[env.length + more.length];
        System.arraycopy(env, 0, all, 0, env.length);
        System.arraycopy(more, 0, all, env.length, more.length);
        return all;
    }

    /**
     * Flips a byte in the middle of every slot's payload (docs/spec/disk-tier.md: a 4096-byte header,
     * then slots of a 96-byte block header plus a full chunk's payload), so every stored block fails
     * its checksum.
     */
    private static void corruptEveryBlock(Path slab) throws IOException {
        long payload = ReferenceEngine.kvLayout(E2e.MODEL, E2e.CHUNK).chunkBytes();
        long slot = 96 + payload;
        try (FileChannel channel = FileChannel.open(slab, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            for (long at = 4096 + 96 + payload / 2; at < channel.size(); at += slot) {
                one.clear();
                channel.read(one, at);
                one.flip();
                one.put(0, (byte) ~one.get(0));
                channel.write(one, at);
            }
        }
    }

    /** Runs {@link EngineWriterMain} in a child JVM that stores {@link E2e#requests} on the disk tier and exits. */
    private void runChild(Path disk) throws Exception {
        List<String> command = ChildJvm.command(EngineWriterMain.class, disk.toString());
        Process child = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve("writer.log").toFile()).start();
        assertThat(child.waitFor(120, TimeUnit.SECONDS)).as("writer JVM finished").isTrue();
        assertThat(child.exitValue()).as("writer JVM exit status (see writer.log)").isZero();
    }
}
