package dev.spillway.replay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.tier.Tier;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link EngineReplay} against the simulator on a synthetic stream of growing conversations. */
class EngineReplayTest {

    private static final int C = 256;

    /**
     * 300 requests over 20 conversations: each request repeats its conversation's chunks so far
     * and adds one to three new ones; keys are numbered so that a key fixes the keys before it.
     */
    private static ChunkTrace conversations() {
        Random random = new Random(7);
        long[][] history = new long[20][0];
        long next = 0;
        ChunkTrace.Builder trace = ChunkTrace.builder("conversations", C);
        for (int r = 0; r < 300; r++) {
            int c = random.nextInt(history.length);
            int added = 1 + random.nextInt(3);
            long[] keys = Arrays.copyOf(history[c], history[c].length + added);
            for (int i = history[c].length; i < keys.length; i++) {
                keys[i] = next++;
            }
            history[c] = keys.length > 40 ? new long[0] : keys;
            trace.addRequest(keys, (long) keys.length * C + 100);
        }
        return trace.build();
    }

    @Test
    void shouldHitAsTheSimulatorDoesWithHostMemoryAloneAndLru() {
        ChunkTrace trace = conversations();
        int capacity = trace.capacityFor(0.2);

        EngineReplay.Result engine = EngineReplay.replay(trace, capacity, Map.of("SPILLWAY_CACHE_POLICY", "lru"), done -> { });
        HitRates simulated = HitRateSimulator.replay(trace, "lru", capacity);

        assertThat(engine.policy()).isEqualTo("lru");
        assertThat(engine.hitChunks()).containsOnlyKeys(Tier.HOST);
        assertThat(engine.hitChunks().get(Tier.HOST)).isPositive().isEqualTo(simulated.hitChunks());
        assertThat(engine.total().tokenHitRate()).isEqualTo(simulated.tokenHitRate());
    }

    @Test
    void shouldServeWhatHostMemoryEvictedFromTheDiskTier(@TempDir Path disk) {
        ChunkTrace trace = conversations();
        int capacity = trace.capacityFor(0.05);
        Map<String, String> env = Map.of("SPILLWAY_LOCAL_DISK", disk.toString(), "SPILLWAY_MAX_LOCAL_DISK_SIZE", "0.25");

        EngineReplay.Result engine = EngineReplay.replay(trace, capacity, env, done -> { });
        long unbounded = HitRateSimulator.replay(trace, "lru", trace.distinctChunks()).hitChunks();
        long hostOnly = HitRateSimulator.replay(trace, "lru", capacity).hitChunks();

        assertThat(engine.hitChunks()).containsOnlyKeys(Tier.HOST, Tier.LOCAL);
        assertThat(engine.hitChunks().get(Tier.LOCAL)).isPositive();
        assertThat(engine.totalHitChunks()).isGreaterThan(hostOnly).isLessThanOrEqualTo(unbounded);
    }

    @Test
    void shouldSizeHostMemoryToTheCapacityInWholeSlots() {
        assertThat(EngineReplay.settings(256, 262_144)).containsEntry("SPILLWAY_MAX_LOCAL_CPU_SIZE", "1")
                .containsEntry("SPILLWAY_CHUNK_SIZE", "256")
                .containsEntry("SPILLWAY_GPU", "off");
        assertThat(EngineReplay.settings(512, 3)).containsEntry("SPILLWAY_MAX_LOCAL_CPU_SIZE", "0.000011444091796875");
    }
}
