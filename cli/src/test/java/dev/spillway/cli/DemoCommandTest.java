package dev.spillway.cli;

import static dev.spillway.cli.SpillwayCliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spillway.cli.SpillwayCliTest.Run;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code spillway demo} on the tiny model and a small workload: the report's shape, identical outputs, its tiers. */
class DemoCommandTest {

    private static final String[] SMALL = {"demo", "--preset", "tiny", "--users", "2", "--rounds", "3",
        "--system-tokens", "300", "--history-tokens", "200", "--question-tokens", "16", "--answer-tokens", "4",
        "--threads", "2"};

    @TempDir
    Path dir;

    private static String[] with(String... more) {
        return Stream.concat(Stream.of(SMALL), Stream.of(more)).toArray(String[]::new);
    }

    @Test
    void shouldReportIdenticalOutputsAndHitsFromTheSecondRoundOn() throws IOException {
        Path chart = dir.resolve("ttft.png");
        Run run = run(Map.of("SPILLWAY_GPU", "off"), with("--json", "--chart", chart.toString()));

        assertThat(run.status()).as(run.err()).isZero();
        JsonNode json = run.json();
        assertThat(json.properties()).extracting(Map.Entry::getKey)
                .contains("rounds", "ttft_cold_ms", "ttft_cached_ms", "speedup", "hit_tokens_by_tier", "outputs_identical");
        assertThat(json.get("outputs_identical").booleanValue()).isTrue();
        assertThat(json.get("rounds")).hasSize(3);
        for (int round = 1; round < 3; round++) {
            JsonNode later = json.get("rounds").get(round);
            assertThat(later.get("outputs_identical").booleanValue()).isTrue();
            assertThat(later.get("hit_tokens_by_tier").get("G2").longValue()).as("round %d", round + 1).isPositive();
        }
        assertThat(run.err()).contains("G2 + G3 at ").contains("[spillway]");
        assertThat(Files.readAllBytes(chart)).startsWith(0x89, 'P', 'N', 'G');
    }

    @Test
    void shouldUseTheConfiguredDiskTierAndKeepIt() throws IOException {
        Path disk = dir.resolve("g3");
        Run run = run(Map.of("SPILLWAY_GPU", "off", "SPILLWAY_LOCAL_DISK", disk.toString(),
                "SPILLWAY_MAX_LOCAL_DISK_SIZE", "0.1"), SMALL);

        assertThat(run.status()).as(run.err()).isZero();
        assertThat(run.out()).contains("round").contains("outputs identical");
        assertThat(run.err()).contains("G2 + G3 at " + disk);
        assertThat(Files.list(disk)).isNotEmpty();
    }

    @Test
    void shouldNameAnUnknownPreset() throws IOException {
        Run run = run(Map.of(), "demo", "--preset", "huge");

        assertThat(run.status()).isNotZero();
        assertThat(run.err()).contains("huge").contains("tiny").contains("small");
    }
}
