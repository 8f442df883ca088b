package dev.spillway.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report of a hand-written JMH results file: ratios, floors, missing suites, charts and the README section. */
class BenchReportTest {

    @TempDir
    Path dir;

    private static Path fixture() throws URISyntaxException {
        return Path.of(BenchReportTest.class.getResource("/bench-report-fixture.json").toURI());
    }

    @Test
    void shouldPairEachMeasurementWithItsBaselineAndComputeTheRatios() throws Exception {
        String md = new BenchReport(BenchReport.read(fixture())).markdown();

        // Retrieve: memcpy 20 ms, retrieve 16 ms: Spillway 1.25x the baseline's speed.
        assertThat(md).contains("| RetrieveBenchmark |").contains("**1.25x**");
        // G4 get: 1500 against 2000 ops/s.
        assertThat(md).contains("blockMib=1").contains("**0.75x**");
        // Interleaved G4 get: 3 rounds; tier 3 ms, raw 2.4 ms, hand-off 3 ms in all; iterations 0.9 and 0.75.
        assertThat(md).contains("| G4 get, 1 caller | blockMib=1 | 1000 µs | 800 µs | 1000 µs | **0.80x** (0.75-0.90) "
                + "| **1.00x** (1.00-1.00) |");
        assertThat(md).contains("| G4 put, 4 callers | | not run |");
        // Layer-wise: (22 - 14) / min(10, 12) = 0.80.
        assertThat(md).contains("| 1 | 10.00 | 12.00 | 22.00 | 14.00 | **0.80** |");
        // TTFT 4096 at 100% in G2: cold 1600 / 16 = 100x; floor 7 + 1 ms = 8 ms, so 2x.
        assertThat(md).contains("| 4096 | 100 | G2 | 1600 | 16.00 | 8.00 | 100.00x | 2.00x |");
        // 1024 has a cold run but no floor.
        assertThat(md).contains("| 1024 | 100 | G2 | 200 | 8.00 | not run | 25.00x |  |");
        assertThat(md).contains("| LookupBenchmark | lookup of a 32k-token prompt, all hits in G2 (vs hashing alone) | | not run");
        assertThat(md).contains("G3 get of a 2 MiB block (vs FileChannel read) | | not run");
    }

    @Test
    void shouldWriteTheSummaryAndTheChartsAndReplaceTheReadmeSection() throws Exception {
        Path readme = Files.writeString(dir.resolve("README.md"), "# Benchmarks\n\nintro\n");
        BenchReport.main(new String[] {fixture().toString(), dir.resolve("out").toString(), readme.toString()});

        assertThat(dir.resolve("out/summary.md")).exists();
        for (String png : new String[] {"ttft.png", "bandwidth.png"}) {
            assertThat(Files.readAllBytes(dir.resolve("out").resolve(png))).as(png).startsWith(0x89, 'P', 'N', 'G');
        }
        String once = Files.readString(readme);
        assertThat(once).startsWith("# Benchmarks\n\nintro\n").contains(BenchReport.BEGIN).contains("**1.25x**");

        BenchReport.replaceSection(readme, "replaced\n");
        String twice = Files.readString(readme);
        assertThat(twice).contains(BenchReport.BEGIN + "\nreplaced\n" + BenchReport.END).doesNotContain("**1.25x**");
        assertThat(twice.indexOf(BenchReport.BEGIN)).isEqualTo(twice.lastIndexOf(BenchReport.BEGIN));
    }

    @Test
    void shouldChartOnePointPerTierWhenOnlyTheRemoteTierRan() throws IOException {
        String row = """
                {"benchmark": "dev.spillway.bench.RemoteTierBenchmark.%s", "mode": "thrpt", "params": {"blockMib": "1"},
                 "primaryMetric": {"score": %s, "scoreError": 1.0, "scoreUnit": "ops/s"}}""";
        Path json = Files.writeString(dir.resolve("remote.json"), "[" + String.join(",", row.formatted("get1Tier", "1500"),
                row.formatted("get1Raw", "2000"), row.formatted("get1Handoff", "1800")) + "]");
        BenchReport report = new BenchReport(BenchReport.read(json));

        report.writeCharts(dir);

        assertThat(report.bandwidthChart()).isPresent();
        assertThat(Files.readAllBytes(dir.resolve("bandwidth.png"))).startsWith(0x89, 'P', 'N', 'G');
    }

    @Test
    void shouldReportAnEmptyRunAsNotRun() throws IOException {
        Path empty = Files.writeString(dir.resolve("empty.json"), "[]");
        BenchReport report = new BenchReport(BenchReport.read(empty));
        assertThat(report.markdown()).contains("TTFT (`TtftBenchmark`): not run.")
                .contains("Layer-wise pipelining (`LayerwiseLoadBenchmark`): not run.");
        assertThat(report.ttftChart()).isEmpty();
        assertThat(report.bandwidthChart()).isEmpty();
    }
}
