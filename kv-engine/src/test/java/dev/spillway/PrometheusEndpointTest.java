package dev.spillway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.ConnectException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.stream.IntStream;

import dev.spillway.config.SpillwayConfig;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import dev.spillway.metrics.Buckets;
import dev.spillway.metrics.Scrape;
import dev.spillway.tier.PrefixKv;
import dev.spillway.transfer.HostTransferEngine;
import dev.spillway.transfer.LayerTransfer;
import org.junit.jupiter.api.Test;

/**
 * Scrapes a running engine's Prometheus endpoint over HTTP on loopback and checks that every
 * series moved as the operations the test performed say it should.
 */
class PrometheusEndpointTest {

    /** 16 tokens of 256 bytes: a chunk is 4 KiB. */
    private static final KvLayout LAYOUT = new KvLayout(2, 2, 16, DType.BF16, 16, 0, 1);
    private static final long CHUNK_BYTES = LAYOUT.chunkBytes();
    /** Eight chunk slots of host memory, in GiB (2^15 bytes). */
    private static final String HOST_GIB = "0.000030517578125";
    /** Surefire runs in the module directory. */
    private static final Path DOC = Path.of("../docs/metrics.md");

    private static SpillwayEngine open(String metricsPort, String... more) {
        Map<String, String> env = new HashMap<>(Map.of("SPILLWAY_CHUNK_SIZE", "16", "SPILLWAY_MAX_LOCAL_CPU_SIZE", HOST_GIB,
                "SPILLWAY_GPU", "off"));
        if (metricsPort != null) {
            env.put("SPILLWAY_METRICS_PORT", metricsPort);
        }
        for (int i = 0; i < more.length; i += 2) {
            env.put(more[i], more[i + 1]);
        }
        return SpillwayEngine.open(SpillwayConfig.load(env), LAYOUT, "tiny");
    }

    private static int[] prompt(int length, int salt) {
        return IntStream.range(0, length).map(i -> salt * 7919 + i).toArray();
    }

    @Test
    void shouldServeWhatTheEngineDidAsPrometheusText() throws Exception {
        try (SpillwayEngine engine = open("0")) {
            int port = engine.metricsPort().orElseThrow();
            int[] a = prompt(100, 1);
            PrefixKv kv = new PrefixKv(a);
            assertThat(engine.store(a, 100, kv)).isEqualTo(6);
            assertThat(engine.lookup(a, 100)).isEqualTo(96);
            assertThat(engine.lookup(prompt(40, 2), 40)).isZero();
            assertThat(engine.retrieve(a, 100, (chunk, start, count, src) ->
                    assertThat(kv.matches(start, count, src)).isTrue())).isEqualTo(96);
            // Two free slots for six chunks: four of the first prompt's, retrieved and so unpinned, go.
            int[] c = prompt(100, 3);
            assertThat(engine.store(c, 100, new PrefixKv(c))).isEqualTo(6);
            transferOneChunkEachWay(engine);

            Scrape scrape = Scrape.fetch(port);

            assertThat(scrape.type("spillway_lookup_requests_total")).isEqualTo("counter");
            assertThat(scrape.help("spillway_lookup_requests_total")).isEqualTo("Lookups of a prompt prefix");
            assertThat(scrape.value("spillway_lookup_requests_total")).isEqualTo(2);
            assertThat(scrape.value("spillway_lookup_requested_tokens_total")).isEqualTo(140);
            assertThat(scrape.value("spillway_lookup_hit_tokens_total", "tier", "G2")).isEqualTo(96);
            assertThat(scrape.value("spillway_retrieved_tokens_total", "tier", "G2")).isEqualTo(96);
            assertThat(scrape.value("spillway_store_new_chunks_total")).isEqualTo(12);
            assertThat(scrape.value("spillway_stored_chunks_total", "tier", "G2")).isEqualTo(12);
            assertThat(scrape.value("spillway_evicted_chunks_total", "tier", "G2", "cause", "capacity")).isEqualTo(4);
            assertThat(scrape.value("spillway_skipped_chunks_total", "tier", "G2", "cause", "full")).isZero();

            assertThat(scrape.type("spillway_pool_used_slots")).isEqualTo("gauge");
            assertThat(scrape.value("spillway_pool_used_slots", "tier", "G2")).isEqualTo(8);
            assertThat(scrape.value("spillway_pool_capacity_slots", "tier", "G2")).isEqualTo(8);
            assertThat(scrape.value("spillway_pool_used_bytes", "tier", "G2")).isEqualTo(8 * CHUNK_BYTES);
            assertThat(scrape.value("spillway_pool_capacity_bytes", "tier", "G2")).isEqualTo(8 * CHUNK_BYTES);

            for (String path : List.of("load", "save")) {
                assertThat(scrape.type("spillway_transfer_bytes")).isEqualTo("histogram");
                assertThat(scrape.value("spillway_transfer_bytes_count", "path", path)).isEqualTo(1);
                assertThat(scrape.value("spillway_transfer_bytes_sum", "path", path)).isEqualTo(CHUNK_BYTES);
                NavigableMap<Double, Double> bytes = scrape.buckets("spillway_transfer_bytes", "path", path);
                assertThat(bytes).hasSize(Buckets.BYTES.upperBounds().length + 1);
                assertThat(bytes.firstKey()).as("the smallest bound is one chunk here").isEqualTo(CHUNK_BYTES);
                assertThat(bytes.lastKey()).isInfinite();
                assertThat(bytes.values()).as("cumulative: every bucket holds the one chunk").containsOnly(1.0);

                assertThat(scrape.type("spillway_transfer_seconds")).isEqualTo("histogram");
                assertThat(scrape.value("spillway_transfer_seconds_count", "path", path)).isEqualTo(1);
                assertThat(scrape.value("spillway_transfer_seconds_sum", "path", path)).isNotNegative();
                NavigableMap<Double, Double> seconds = scrape.buckets("spillway_transfer_seconds", "path", path);
                assertThat(seconds.lastEntry().getValue()).as("+Inf holds every transfer").isEqualTo(1);
                assertThat(List.copyOf(seconds.values())).as("cumulative").isSorted();
            }
            assertThat(scrape.familiesNotDocumentedIn(Files.readString(DOC))).isEmpty();
        }
    }

    /** Saves one chunk out of a paged cache and loads it back, through the connector's transfer engine. */
    private static void transferOneChunkEachWay(SpillwayEngine engine) {
        int tokens = LAYOUT.chunkTokens();
        int[] slots = IntStream.range(0, tokens).toArray();
        // Shared: the transfer engine's copy thread reads the chunk and writes the paged cache.
        try (Arena arena = Arena.ofShared();
             HostTransferEngine transfer = new HostTransferEngine(LAYOUT, "metrics-test-copy", engine.metrics())) {
            long layerBytes = (long) tokens * LAYOUT.tokenLayerBytes();
            transfer.registerPagedCache(List.of(arena.allocate(layerBytes), arena.allocate(layerBytes)), tokens);
            MemorySegment chunk = arena.allocate(LAYOUT.payloadBytes(tokens));
            transfer.gather(slots, 0, tokens, chunk);
            try (LayerTransfer load = transfer.startLoad(List.of(chunk), slots, true)) {
                assertThat(load.await()).isTrue();
            }
        }
    }

    @Test
    void shouldServeTheGpuTierBesideTheHostTier() throws Exception {
        // G1 as large as G2, on the simulated GPU runtime.
        try (SpillwayEngine engine = open("0", "SPILLWAY_GPU", "sim", "SPILLWAY_GPU_CACHE_SIZE", HOST_GIB)) {
            int[] a = prompt(64, 4);
            assertThat(engine.store(a, 64, new PrefixKv(a))).isEqualTo(4);
            assertThat(engine.lookup(a, 64)).isEqualTo(64);
            assertThat(engine.retrieve(a, 64, (chunk, start, count, src) -> { })).isEqualTo(64);

            Scrape scrape = Scrape.fetch(engine.metricsPort().orElseThrow());

            assertThat(scrape.value("spillway_stored_chunks_total", "tier", "G1")).isEqualTo(4);
            assertThat(scrape.value("spillway_lookup_hit_tokens_total", "tier", "G1")
                    + scrape.value("spillway_lookup_hit_tokens_total", "tier", "G2")).isEqualTo(64);
            assertThat(scrape.value("spillway_pool_used_slots", "tier", "G1")).isEqualTo(4);
            assertThat(scrape.value("spillway_pool_capacity_bytes", "tier", "G1")).isEqualTo(8 * CHUNK_BYTES);
            assertThat(scrape.value("spillway_gpu_copy_errors_total", "tier", "G1", "direction", "host_to_device")).isZero();
            assertThat(scrape.familiesNotDocumentedIn(Files.readString(DOC))).isEmpty();
        }
    }

    @Test
    void shouldStopServingWhenTheEngineCloses() throws Exception {
        int port;
        try (SpillwayEngine engine = open("0")) {
            port = engine.metricsPort().orElseThrow();
            assertThat(Scrape.fetch(port).families()).contains("spillway_lookup_requests_total");
        }
        assertThatThrownBy(() -> Scrape.fetch(port)).isInstanceOf(ConnectException.class);
    }

    @Test
    void shouldRefuseAPortInUseNamingTheSetting() {
        try (SpillwayEngine first = open("0")) {
            int port = first.metricsPort().orElseThrow();

            assertThatThrownBy(() -> open(Integer.toString(port)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageStartingWith("metrics_port=" + port + ": the port is in use")
                    .hasMessageContaining("expected a free TCP port, or unset metrics_port");
        }
    }

    @Test
    void shouldServeNothingWhenTheMetricsPortIsUnset() {
        try (SpillwayEngine engine = open(null)) {
            assertThat(engine.metricsPort()).isEmpty();
        }
    }
}
