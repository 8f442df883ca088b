package dev.spillway.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.spillway.cuda.GpuCheck.Report;
import dev.spillway.cuda.GpuCheck.Row;
import dev.spillway.cuda.GpuCheck.Timing;
import dev.spillway.gpu.SimulatedGpuRuntime;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@link GpuCheck}'s measurement on the simulated runtime with tiny sizes: every row must be
 * there, in the table and in the JSON. Timings are never asserted; they are whatever this machine
 * gives.
 */
class GpuCheckTest {

    /** 2 layers, 2 KV heads of 8 fp16 values, 16-token chunks: 128 bytes a token, 2 KiB a chunk. */
    private static final KvLayout TINY = new KvLayout(2, 2, 8, DType.FP16, 16, 0, 1);
    private static final Timing QUICK = new Timing(1, 3, Long.MAX_VALUE);

    private static final List<String> PATHS =
            List.of(GpuCheck.H2D_PATH, GpuCheck.D2H_PATH, GpuCheck.SCATTER_PATH, GpuCheck.GATHER_PATH);

    private final ByteArrayOutputStream progress = new ByteArrayOutputStream();

    @Test
    void shouldMeasureEveryDirectionAndPathAtEverySize() {
        // 256 B: 2 tokens, one partial chunk; 5 KiB: 40 tokens, two full chunks and a partial one.
        Report report;
        try (SimulatedGpuRuntime runtime = new SimulatedGpuRuntime(0)) {
            report = GpuCheck.measure(runtime, TINY, 2, List.of(256L, 5L << 10), QUICK, print(progress));
        }

        assertThat(report.rows()).extracting(Row::bytes, Row::direction, Row::path).containsExactly(
                rowOf(256, "H2D", GpuCheck.H2D_PATH), rowOf(256, "D2H", GpuCheck.D2H_PATH),
                rowOf(256, "D2D", GpuCheck.SCATTER_PATH), rowOf(256, "D2D", GpuCheck.GATHER_PATH),
                rowOf(5 << 10, "H2D", GpuCheck.H2D_PATH), rowOf(5 << 10, "D2H", GpuCheck.D2H_PATH),
                rowOf(5 << 10, "D2D", GpuCheck.SCATTER_PATH), rowOf(5 << 10, "D2D", GpuCheck.GATHER_PATH));
        assertThat(report.rows()).allSatisfy(row -> {
            assertThat(row.plainNanos()).isPositive();
            assertThat(row.pathNanos()).isPositive();
        });
        assertThat(report.skippedSizes()).isEmpty();

        List<String> lines = GpuCheck.table(report).lines().toList();
        List<String> tableRows = lines.stream().filter(l -> l.startsWith("256 B ") || l.startsWith("5 KiB ")).toList();
        assertThat(tableRows).hasSize(8);
        for (String size : List.of("256 B ", "5 KiB ")) {
            for (String path : PATHS) {
                assertThat(tableRows).as("%s %s", size, path).anyMatch(l -> l.startsWith(size) && l.contains(path));
            }
        }
        assertThat(lines).anyMatch(l -> l.startsWith("size ") && l.contains("plain GB/s") && l.contains("path/plain"));
        // One aligned table: every row ends at the same column, the header's.
        int width = lines.stream().filter(l -> l.startsWith("size ")).findFirst().orElseThrow().length();
        assertThat(tableRows).allSatisfy(l -> assertThat(l).hasSize(width));

        String json = GpuCheck.json(report);
        assertThat(json.split("\"direction\"", -1)).hasSize(9);
        assertThat(json).contains("\"runtime\": \"sim\"", "\"skipped_sizes\": []", "\"bytes\": 256,",
                "\"bytes\": 5120,");
    }

    @Test
    void shouldSkipSizesOnceTheTimeLimitHasPassed() {
        Report report;
        try (SimulatedGpuRuntime runtime = new SimulatedGpuRuntime(0)) {
            report = GpuCheck.measure(runtime, TINY, 1, List.of(256L, 512L), new Timing(0, 1, 0), print(progress));
        }

        // The first size always starts; none after it within a limit of zero.
        assertThat(report.rows()).hasSize(4);
        assertThat(report.skippedSizes()).containsExactly(512L);
        assertThat(GpuCheck.table(report)).contains("512 B: not measured, the time limit had passed");
    }

    @Test
    void shouldRejectASizeBelowOneToken() {
        try (SimulatedGpuRuntime runtime = new SimulatedGpuRuntime(0)) {
            assertThatThrownBy(() -> GpuCheck.measure(runtime, TINY, 2, List.of(100L), QUICK, print(progress)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("size 100 B is below one token of the layout (128 bytes)");
        }
    }

    @Test
    void shouldRunFromTheCommandLineOnTheSimulatedRuntimeAndWriteJson(@TempDir Path dir) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Path json = dir.resolve("bandwidth.json");

        // 128 KiB is one token of the realistic layout: the smallest size it can move.
        int status = GpuCheck.run(new String[] {"--sim", "--sizes", "128KiB", "--warmups", "0", "--repeats", "1",
            "--json", json.toString()}, print(out), print(progress));

        assertThat(status).as(progress.toString(StandardCharsets.UTF_8)).isZero();
        String table = out.toString(StandardCharsets.UTF_8);
        assertThat(table).startsWith("GPU bandwidth, sim runtime: simulated GPU")
                .contains("32 layers, 8 KV heads x 128 fp16");
        assertThat(table.lines().filter(l -> l.startsWith("128 KiB "))).hasSize(4);
        assertThat(Files.readString(json)).contains("\"runtime\": \"sim\"", "\"bytes\": 131072,");
    }

    @Test
    void shouldPrintTheReasonAndExitWithThreeWhenCudaIsUnavailable() {
        Optional<String> unavailable = new JCudaRuntimeProvider().unavailableReason();
        assumeTrue(unavailable.isPresent(), "CUDA is available here");
        ByteArrayOutputStream out = new ByteArrayOutputStream();

        int status = GpuCheck.run(new String[0], print(out), print(progress));

        assertThat(status).isEqualTo(GpuCheck.EXIT_CUDA_UNAVAILABLE);
        assertThat(out.toString(StandardCharsets.UTF_8))
                .isEqualTo("CUDA unavailable: " + unavailable.orElseThrow() + "\n");
    }

    @Test
    void shouldExitWithTwoOnABadOption() {
        int status = GpuCheck.run(new String[] {"--sizes", "4 parsecs"}, print(new ByteArrayOutputStream()),
                print(progress));

        assertThat(status).isEqualTo(GpuCheck.EXIT_USAGE);
        assertThat(progress.toString(StandardCharsets.UTF_8))
                .startsWith("gpu-check: --sizes 4 parsecs: expected a number with B, KiB, MiB or GiB\nusage: GpuCheck");
        assertThat(GpuCheck.run(new String[] {"--frobnicate"}, print(new ByteArrayOutputStream()), print(progress)))
                .isEqualTo(GpuCheck.EXIT_USAGE);
    }

    @Test
    void shouldParseSizesWithBinaryUnits() {
        assertThat(GpuCheck.parseSizes("4MiB, 64 MiB,1GiB,512KiB,100"))
                .containsExactly(4L << 20, 64L << 20, 1L << 30, 512L << 10, 100L);
        assertThat(GpuCheck.sizeLabel(256L << 20)).isEqualTo("256 MiB");
        assertThat(GpuCheck.sizeLabel(5120)).isEqualTo("5 KiB");
        assertThat(GpuCheck.sizeLabel(100)).isEqualTo("100 B");
        assertThatThrownBy(() -> GpuCheck.parseSizes("0MiB")).hasMessage("--sizes 0MiB: expected at least 1 byte");
    }

    private static Tuple rowOf(long bytes, String direction, String path) {
        return Tuple.tuple(bytes, direction, path);
    }

    private static PrintStream print(ByteArrayOutputStream sink) {
        return new PrintStream(sink, true, StandardCharsets.UTF_8);
    }
}
