package dev.spillway.storage.chronicle;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.NavigableMap;

import dev.spillway.SpillwayEngine;
import dev.spillway.config.SpillwayConfig;
import dev.spillway.layout.BlockFormat;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import dev.spillway.metrics.Scrape;
import dev.spillway.tier.PrefixKv;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scrapes the Prometheus endpoint of an engine with a disk tier (G3) over HTTP: the disk tier's
 * hits, the backend's operations, bytes and latency histogram, and the tier's occupancy move as the
 * operations say they should.
 */
class DiskTierMetricsTest {

    private static final KvLayout LAYOUT = new KvLayout(2, 1, 8, DType.FP32, 4, 0, 1);
    private static final long BLOCK_BYTES = BlockFormat.encodedBytes(LAYOUT, LAYOUT.chunkTokens());
    /** Surefire runs in the module directory. */
    private static final Path DOC = Path.of("../../docs/metrics.md");

    @TempDir
    Path dir;

    @Test
    void shouldServeTheDiskTierAndItsBackendAsPrometheusText() throws Exception {
        SpillwayConfig config = SpillwayConfig.load(Map.of("SPILLWAY_CHUNK_SIZE", "4", "SPILLWAY_MAX_LOCAL_CPU_SIZE", "0.001",
                "SPILLWAY_LOCAL_DISK", dir.toString(), "SPILLWAY_MAX_LOCAL_DISK_SIZE", "0.001", "SPILLWAY_GPU", "off",
                "SPILLWAY_METRICS_PORT", "0"));
        int[] tokens = {11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};
        try (SpillwayEngine engine = SpillwayEngine.open(config, LAYOUT, "model")) {
            assertThat(engine.store(tokens, 14, new PrefixKv(tokens))).isEqualTo(3);
        }
        // A second engine starts with an empty host tier, so that everything comes from disk.
        try (SpillwayEngine engine = SpillwayEngine.open(config, LAYOUT, "model")) {
            assertThat(engine.lookup(tokens, 14)).isEqualTo(12);
            assertThat(engine.retrieve(tokens, 14, (chunk, start, count, src) -> { })).isEqualTo(12);

            Scrape scrape = Scrape.fetch(engine.metricsPort().orElseThrow());

            assertThat(scrape.value("spillway_lookup_hit_tokens_total", "tier", "G3")).isEqualTo(12);
            assertThat(scrape.value("spillway_retrieved_tokens_total", "tier", "G3")).isEqualTo(12);
            assertThat(scrape.value("spillway_stored_chunks_total", "tier", "G2")).as("promoted").isEqualTo(3);
            String[] get = {"backend", "chronicle", "operation", "get"};
            double gets = scrape.value("spillway_backend_operations_total", get);
            assertThat(gets).isPositive();
            assertThat(scrape.value("spillway_backend_bytes_total", get)).isEqualTo(3 * BLOCK_BYTES);
            assertThat(scrape.value("spillway_backend_errors_total", get)).isZero();
            assertThat(scrape.value("spillway_backend_timeouts_total", get)).isZero();
            assertThat(scrape.type("spillway_backend_seconds")).isEqualTo("histogram");
            assertThat(scrape.value("spillway_backend_seconds_count", get)).as("one observation per call").isEqualTo(gets);
            NavigableMap<Double, Double> seconds = scrape.buckets("spillway_backend_seconds", get);
            assertThat(seconds.lastKey()).isInfinite();
            assertThat(seconds.lastEntry().getValue()).isEqualTo(gets);
            assertThat(scrape.value("spillway_checksum_failures_total", "backend", "chronicle")).isZero();

            assertThat(scrape.value("spillway_pool_used_bytes", "tier", "G3")).isEqualTo(3 * BLOCK_BYTES);
            long diskSlots = config.maxLocalDiskBytes() / BLOCK_BYTES;
            assertThat(scrape.value("spillway_pool_capacity_bytes", "tier", "G3")).isEqualTo(diskSlots * BLOCK_BYTES);
            assertThat(scrape.value("spillway_evicted_chunks_total", "tier", "G3", "cause", "capacity")).isZero();
            assertThat(scrape.value("spillway_write_behind_queue_depth", "tier", "G3")).isZero();
            assertThat(scrape.value("spillway_write_behind_dropped_total", "tier", "G3")).isZero();
            assertThat(scrape.familiesNotDocumentedIn(Files.readString(DOC))).isEmpty();
        }
    }
}
