package dev.spillway.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spillway.cli.SpillwayCliTest.Run;
import dev.spillway.replay.ReplayPolicies;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplayCommandTest {

    /**
     * At 256 tokens: r1 gives 4 chunks, r2 the same 4 (all hit) and (4,0), r3 (1,0)(1,1) (both hit):
     * 11 chunks, 5 distinct, 6 hit with room for all.
     */
    private static final String TRACE = """
            {"timestamp": 0, "input_length": 1100, "output_length": 1, "hash_ids": [1, 2, 3]}
            {"timestamp": 1, "input_length": 1300, "output_length": 1, "hash_ids": [1, 2, 4]}
            {"timestamp": 2, "input_length": 600, "output_length": 1, "hash_ids": [1, 5]}
            """;

    @TempDir
    Path dir;
    private Path trace;

    @BeforeEach
    void writeTrace() throws IOException {
        trace = Files.writeString(dir.resolve("tiny.jsonl"), TRACE);
    }

    private static List<String> names(JsonNode object) {
        return object.properties().stream().map(Map.Entry::getKey).toList();
    }

    private static Run replay(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "replay";
        System.arraycopy(args, 0, all, 1, args.length);
        return SpillwayCliTest.run(Map.of(), all);
    }

    @Test
    void shouldPrintTheIssuesJsonShapeWithEveryPolicy() throws IOException {
        Run run = replay("--trace", trace.toString(), "--capacity", "5", "--policy", "all", "--json");

        assertThat(run.status()).as(run.err()).isZero();
        JsonNode json = run.json();
        assertThat(names(json)).containsExactly("trace", "chunks", "distinct_chunks", "capacity", "policies");
        assertThat(json.get("trace").textValue()).isEqualTo("tiny.jsonl");
        assertThat(json.get("chunks").intValue()).isEqualTo(11);
        assertThat(json.get("distinct_chunks").intValue()).isEqualTo(5);
        assertThat(json.get("capacity").intValue()).isEqualTo(5);
        JsonNode policies = json.get("policies");
        assertThat(names(policies)).containsExactlyElementsOf(ReplayPolicies.names());
        for (String policy : ReplayPolicies.names()) {
            JsonNode rates = policies.get(policy);
            assertThat(names(rates)).containsExactly("chunk_hit_rate", "token_hit_rate");
            assertThat(rates.get("chunk_hit_rate").doubleValue()).as(policy).isEqualTo(6.0 / 11);
            assertThat(rates.get("token_hit_rate").doubleValue()).as(policy).isEqualTo(6.0 * 256 / 3000);
        }
    }

    @Test
    void shouldSizeTheCacheByFractionOfDistinctChunks() throws IOException {
        JsonNode json = replay("--trace", trace.toString(), "--capacity-fraction", "0.5", "--policy", "lru", "--json")
                .json();

        assertThat(json.get("capacity").intValue()).as("ceil(0.5 x 5)").isEqualTo(3);
        assertThat(names(json.get("policies"))).containsExactly("lru");
    }

    @Test
    void shouldPrintATableMarkingTheConfiguredPolicy() {
        Run run = SpillwayCliTest.run(Map.of("SPILLWAY_CACHE_POLICY", "fifo"), "replay", "--trace", trace.toString(),
                "--capacity", "3", "--policy", "lru,fifo");

        assertThat(run.status()).isZero();
        assertThat(run.out()).contains("tiny.jsonl, 3 requests, 11 chunks of 256 tokens, 5 distinct",
                "capacity: 3 chunks", "CHUNK HIT RATE", "fifo *", "cache_policy=fifo");
        assertThat(run.out()).doesNotContain("lru *");
        assertThat(run.err()).contains("[1/2] lru at 3 chunks: done", "[2/2] fifo at 3 chunks: done");
    }

    @Test
    void shouldSweepCapacitiesAndDrawTheChart() throws IOException {
        Path chart = dir.resolve("out/hit-rate.png");

        Run run = replay("--trace", trace.toString(), "--sweep", "0.25,0.5,1", "--policy", "lru,belady", "--json",
                "--chart", chart.toString());

        assertThat(run.status()).as(run.err()).isZero();
        JsonNode json = run.json();
        assertThat(names(json)).containsExactly("trace", "chunks", "distinct_chunks", "capacities");
        List<Integer> capacities = json.get("capacities").valueStream().map(c -> c.get("capacity").intValue()).toList();
        assertThat(capacities).containsExactly(2, 3, 5);
        assertThat(json.get("capacities").get(2).get("policies").get("belady").get("chunk_hit_rate").doubleValue())
                .isEqualTo(6.0 / 11);
        assertThat(ImageIO.read(chart.toFile()).getWidth()).isEqualTo(1200);
    }

    @Test
    void shouldReplayThroughTheEngineBesideTheSimulator() throws IOException {
        Run run = replay("--trace", trace.toString(), "--capacity", "2", "--policy", "lru", "--engine", "--json");

        assertThat(run.status()).as(run.err()).isZero();
        JsonNode json = run.json();
        assertThat(names(json)).containsExactly("trace", "chunks", "distinct_chunks", "capacity", "policies", "engine");
        JsonNode engine = json.get("engine");
        assertThat(names(engine)).containsExactly("policy", "chunk_hit_rate", "token_hit_rate", "tiers");
        assertThat(engine.get("policy").textValue()).isEqualTo("lru");
        assertThat(names(engine.get("tiers"))).containsExactly("G2");
        assertThat(engine.get("chunk_hit_rate").doubleValue())
                .isEqualTo(json.get("policies").get("lru").get("chunk_hit_rate").doubleValue());
    }

    @Test
    void shouldSayWhyTheEngineRefusedItsConfiguration() throws IOException {
        // A disk tier under a regular file cannot open: the engine refuses, naming the setting.
        Path notADirectory = Files.writeString(dir.resolve("file"), "x").resolve("g3");
        Run run = SpillwayCliTest.run(Map.of("SPILLWAY_LOCAL_DISK", notADirectory.toString(),
                "SPILLWAY_MAX_LOCAL_DISK_SIZE", "0.01"), "replay", "--trace", trace.toString(),
                "--capacity", "2", "--policy", "lru", "--engine");

        assertThat(run.status()).isEqualTo(SpillwayCli.EXIT_USAGE);
        assertThat(run.err()).contains("spillway: configuration error: SPILLWAY_LOCAL_DISK='" + notADirectory + "': ");
    }

    @Test
    void shouldStopAtAMalformedLineNamingIt() throws IOException {
        Path bad = Files.writeString(dir.resolve("bad.jsonl"), TRACE + "{\"timestamp\": 3}\n");

        Run run = replay("--trace", bad.toString(), "--json");

        assertThat(run.status()).isEqualTo(1);
        assertThat(run.out()).isEmpty();
        assertThat(run.err()).contains("bad.jsonl line 4: missing field \"input_length\"");
    }

    @Test
    void shouldRejectBadOptionsAsUsageErrors() {
        assertThat(replay("--trace", trace.toString(), "--policy", "clock").err())
                .contains("--policy: policy 'clock': expected all or one of lru, fifo");
        Run chartWithoutSweep = replay("--trace", trace.toString(), "--chart", dir.resolve("c.png").toString());
        assertThat(chartWithoutSweep.status()).isEqualTo(SpillwayCli.EXIT_USAGE);
        assertThat(chartWithoutSweep.err()).contains("expected --sweep");
        assertThat(replay("--trace", trace.toString(), "--capacity-fraction", "1.5").err())
                .contains("--capacity-fraction 1.5: expected a fraction");
        assertThat(replay("--trace", trace.toString(), "--chunk-size", "300").err())
                .contains("--chunk-size: chunk size 300");
        assertThat(replay("--trace", trace.toString(), "--capacity", "3", "--capacity-fraction", "0.5").status())
                .isEqualTo(SpillwayCli.EXIT_USAGE);
        Run missing = replay("--trace", dir.resolve("none.jsonl").toString());
        assertThat(missing.status()).isEqualTo(1);
        assertThat(missing.err()).contains("none.jsonl: no such file");
    }

    @Test
    void shouldFindTheDefaultTraceBesideTheRepository() throws IOException {
        Path repo = Files.createDirectories(dir.resolve("checkout/repo/cli"));
        Path shared = Files.createDirectories(dir.resolve("checkout/shared/traces"));
        Files.writeString(shared.resolve("conversation_trace.jsonl"), TRACE);
        String saved = System.getProperty(ReplayCommand.ROOT_PROPERTY);
        System.setProperty(ReplayCommand.ROOT_PROPERTY, repo.toString());
        try {
            assertThat(ReplayCommand.defaultTrace()).contains(shared.resolve("conversation_trace.jsonl"));
        } finally {
            if (saved == null) {
                System.clearProperty(ReplayCommand.ROOT_PROPERTY);
            } else {
                System.setProperty(ReplayCommand.ROOT_PROPERTY, saved);
            }
        }
    }
}
