package dev.spillway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import dev.spillway.config.ConfigException;
import dev.spillway.config.SpillwayConfig;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.tier.PrefixKv;
import org.junit.jupiter.api.Test;

class SpillwayEngineTest {

    private static final KvLayout LAYOUT = new KvLayout(2, 2, 16, DType.BF16, 16, 0, 1);

    private static SpillwayConfig config(Map<String, String> env) {
        return SpillwayConfig.load(env);
    }

    private static int[] prompt(int length, int salt) {
        int[] tokens = new int[length];
        for (int i = 0; i < length; i++) {
            tokens[i] = salt * 7919 + i;
        }
        return tokens;
    }

    @Test
    void shouldServeAStoredPromptThroughTheFacade() {
        SpillwayConfig config = config(Map.of("SPILLWAY_CHUNK_SIZE", "16", "SPILLWAY_MAX_LOCAL_CPU_SIZE", "0.001"));
        try (SpillwayEngine engine = SpillwayEngine.open(config, LAYOUT, "tiny")) {
            int[] tokens = prompt(100, 1);
            PrefixKv kv = new PrefixKv(tokens);
            assertThat(engine.store(tokens, 100, kv)).isEqualTo(6);
            assertThat(engine.lookup(tokens, 100)).isEqualTo(96);
            int[] chunks = {0};
            assertThat(engine.retrieve(tokens, 100, (chunk, start, count, src) -> {
                assertThat(kv.matches(start, count, src)).isTrue();
                chunks[0]++;
            })).isEqualTo(96);
            assertThat(chunks[0]).isEqualTo(6);
            assertThat(engine.metrics().value("spillway_lookup_hit_tokens_total{tier=\"G2\"}")).isEqualTo(96);
        }
    }

    @Test
    void shouldRunOnTheSelectedGpuRuntimeOrWithoutOne() {
        for (String gpu : new String[] {"sim", "off"}) {
            SpillwayConfig config = config(Map.of("SPILLWAY_CHUNK_SIZE", "16", "SPILLWAY_MAX_LOCAL_CPU_SIZE", "0.001",
                    "SPILLWAY_GPU", gpu));
            try (SpillwayEngine engine = SpillwayEngine.open(config, LAYOUT, "tiny")) {
                assertThat(engine.gpuRuntime().map(runtime -> runtime.kind()).orElse("off")).isEqualTo(gpu);
                int[] tokens = prompt(32, 3);
                engine.store(tokens, 32, new PrefixKv(tokens));
                assertThat(engine.lookup(tokens, 32)).isEqualTo(32);
                assertThat(engine.retrieve(tokens, 32, (chunk, start, count, src) -> { })).isEqualTo(32);
            }
        }
    }

    @Test
    void shouldServeThroughTheGpuTierOnTheSimulatedRuntime() {
        // A chunk is 4096 bytes: G1 has 26 slots and G2 5, fewer than the prompt's 6 chunks.
        SpillwayConfig config = config(Map.of("SPILLWAY_CHUNK_SIZE", "16", "SPILLWAY_GPU", "sim",
                "SPILLWAY_GPU_CACHE_SIZE", "0.0001", "SPILLWAY_MAX_LOCAL_CPU_SIZE", "0.00002"));
        try (SpillwayEngine engine = SpillwayEngine.open(config, LAYOUT, "tiny")) {
            int[] tokens = prompt(100, 7);
            PrefixKv kv = new PrefixKv(tokens);
            assertThat(engine.store(tokens, 100, kv)).isEqualTo(6);
            assertThat(engine.lookup(tokens, 100)).isEqualTo(96);
            int[] chunks = {0};
            assertThat(engine.retrieve(tokens, 100, (chunk, start, count, src) -> {
                assertThat(kv.matches(start, count, src)).isTrue();
                chunks[0]++;
            })).isEqualTo(96);
            assertThat(chunks[0]).isEqualTo(6);
            SpillwayMetrics metrics = engine.metrics();
            assertThat(metrics.value("spillway_pool_capacity_slots{tier=\"G1\"}")).isEqualTo(26);
            assertThat(metrics.value("spillway_stored_chunks_total{tier=\"G1\"}")).isEqualTo(6);
            assertThat(metrics.value("spillway_lookup_hit_tokens_total{tier=\"G1\"}")).as("chunk 0 left G2").isEqualTo(16);
            assertThat(metrics.value("spillway_lookup_hit_tokens_total{tier=\"G2\"}")).isEqualTo(80);
            assertThat(metrics.value("spillway_retrieved_tokens_total{tier=\"G1\"}")).isEqualTo(16);
        }
    }

    @Test
    void shouldRefuseAGpuTierTooSmallForOneChunk() {
        SpillwayConfig config = config(Map.of("SPILLWAY_CHUNK_SIZE", "16", "SPILLWAY_GPU", "sim",
                "SPILLWAY_GPU_CACHE_SIZE", "0.000000001", "SPILLWAY_MAX_LOCAL_CPU_SIZE", "0.001"));
        assertThatThrownBy(() -> SpillwayEngine.open(config, LAYOUT, "tiny"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("gpu_cache_size=1 bytes: expected at least one chunk of 4096 bytes for this layout");
    }

    @Test
    void shouldNameTheSettingWhenTheGpuCannotHoldItsTier() {
        // The simulated device has 64 GiB.
        SpillwayConfig config = config(Map.of("SPILLWAY_CHUNK_SIZE", "16", "SPILLWAY_GPU", "sim",
                "SPILLWAY_GPU_CACHE_SIZE", "65", "SPILLWAY_MAX_LOCAL_CPU_SIZE", "0.001"));
        assertThatThrownBy(() -> SpillwayEngine.open(config, LAYOUT, "tiny"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("gpu_cache_size=69793218560 bytes: the sim GPU runtime cannot open the GPU tier:"
                        + " cudaMalloc failed: cudaErrorMemoryAllocation (69793218560 bytes)");
    }

    @Test
    void shouldRefuseAGpuTierWithTheGpuOff() {
        assertThatThrownBy(() -> SpillwayEngine.open(config(Map.of("SPILLWAY_CHUNK_SIZE", "16", "SPILLWAY_GPU", "off",
                "SPILLWAY_GPU_CACHE_SIZE", "0.5")), LAYOUT, "tiny"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("SPILLWAY_GPU_CACHE_SIZE='0.5': gpu=off (env:SPILLWAY_GPU)");
    }

    @Test
    void shouldRejectALayoutWhoseChunkIsNotTheConfiguredOne() {
        SpillwayConfig config = config(Map.of());
        assertThatThrownBy(() -> SpillwayEngine.open(config, LAYOUT, "tiny"))
                .hasMessage("KvLayout.chunkTokens=16: expected chunk_size=256 from the configuration");
    }

    @Test
    void shouldRejectAHostTierTooSmallForOneChunk() {
        SpillwayConfig config = config(Map.of("SPILLWAY_CHUNK_SIZE", "16", "SPILLWAY_MAX_LOCAL_CPU_SIZE", "0.000000001"));
        assertThatThrownBy(() -> SpillwayEngine.open(config, LAYOUT, "tiny"))
                .hasMessageStartingWith("max_local_cpu_size=").hasMessageContaining("expected at least one chunk");
    }

    @Test
    void shouldServeFromHostMemoryUnderTheWriteBackPolicy() {
        // Without a lower tier, write-back evicts as write-through does: nothing to drain into.
        SpillwayConfig config = config(Map.of("SPILLWAY_CHUNK_SIZE", "16", "SPILLWAY_MAX_LOCAL_CPU_SIZE", "0.001",
                "SPILLWAY_WRITE_POLICY", "write-back"));
        try (SpillwayEngine engine = SpillwayEngine.open(config, LAYOUT, "tiny")) {
            int[] tokens = prompt(32, 5);
            PrefixKv kv = new PrefixKv(tokens);
            assertThat(engine.store(tokens, 32, kv)).isEqualTo(2);
            assertThat(engine.lookup(tokens, 32)).isEqualTo(32);
            assertThat(engine.retrieve(tokens, 32, (chunk, start, count, src) ->
                    assertThat(kv.matches(start, count, src)).isTrue())).isEqualTo(32);
        }
    }

    @Test
    void shouldFailToStartWhenALowerTierHasNoBackend() {
        // kv-engine's own class path has no storage backend, so the disk tier cannot open.
        SpillwayConfig config = config(Map.of("SPILLWAY_CHUNK_SIZE", "16", "SPILLWAY_MAX_LOCAL_CPU_SIZE", "0.001",
                "SPILLWAY_LOCAL_DISK", "/nonexistent/spillway", "SPILLWAY_MAX_LOCAL_DISK_SIZE", "0.001"));
        assertThatThrownBy(() -> SpillwayEngine.open(config, LAYOUT, "tiny"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("local_disk=/nonexistent/spillway: cannot open this tier's storage backend")
                .hasCauseInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldRefuseAHostTierLargerThanPhysicalMemoryNamingTheVariable() {
        SpillwayConfig config = config(Map.of("SPILLWAY_CHUNK_SIZE", "16", "SPILLWAY_MAX_LOCAL_CPU_SIZE", "100000",
                "SPILLWAY_GPU", "sim"));
        assertThatThrownBy(() -> SpillwayEngine.open(config, LAYOUT, "tiny"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("SPILLWAY_MAX_LOCAL_CPU_SIZE='100000': the machine has ")
                .hasMessageContaining(" GiB of physical memory; expected at most ");
    }
}
