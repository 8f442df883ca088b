package dev.spillway.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.spillway.SpillwayEngine;
import dev.spillway.chart.LineChart;
import dev.spillway.config.SpillwayConfig;
import dev.spillway.refengine.ReferenceEngine;
import dev.spillway.refengine.demo.MultiRoundDemo;
import dev.spillway.refengine.model.ModelConfig;
import dev.spillway.refengine.workload.MultiRoundQa;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code spillway demo}: the multi-round QA workload on the reference engine, cold and with
 * Spillway, compared round by round.
 */
@Command(name = "demo",
        mixinStandardHelpOptions = true,
        description = {
            "Replays a multi-round conversation workload on the reference engine twice, without and with"
                    + " Spillway, and prints per round the mean time to first token (TTFT) of both runs, the"
                    + " speedup, the prompt tokens each tier served and whether every output was identical.",
            "Spillway runs on the configured tiers (SPILLWAY_* / LMCACHE_* variables); when no local disk"
                    + " tier is configured, a G3 disk tier under a fresh temporary directory is added and"
                    + " deleted afterwards. Progress goes to standard error.",
            "The defaults are LMCache's multi-round QA benchmark (10 users, 5 rounds, a 1000-token system prompt,"
                    + " 2000 tokens of history) with 32-token answers instead of 100, so that both runs finish in"
                    + " about a minute and a half on two cores; --answer-tokens 100 runs LMCache's exact shape."})
final class DemoCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** The disk tier the demo adds when none is configured, in GiB: room for every chunk of the default workload. */
    private static final String DEMO_DISK_GIB = "2";

    @ParentCommand
    private SpillwayCli cli;

    @Spec
    private CommandSpec spec;

    @Option(names = "--preset", defaultValue = "small", description = "Model preset (${COMPLETION-CANDIDATES}); default ${DEFAULT-VALUE}.",
            completionCandidates = Presets.class)
    private String preset;

    @Option(names = "--users", defaultValue = "10", description = "Conversations; default ${DEFAULT-VALUE}.")
    private int users;

    @Option(names = "--rounds", defaultValue = "5", description = "Rounds per conversation; default ${DEFAULT-VALUE}.")
    private int rounds;

    @Option(names = "--system-tokens", defaultValue = "1000", description = "Shared system prompt tokens; default ${DEFAULT-VALUE}.")
    private int systemTokens;

    @Option(names = "--history-tokens", defaultValue = "2000", description = "Per-user history tokens; default ${DEFAULT-VALUE}.")
    private int historyTokens;

    @Option(names = "--question-tokens", defaultValue = "32", description = "Tokens per question; default ${DEFAULT-VALUE}.")
    private int questionTokens;

    @Option(names = "--answer-tokens", defaultValue = "32", description = "Tokens generated per answer; default ${DEFAULT-VALUE}.")
    private int answerTokens;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the workload's tokens; default ${DEFAULT-VALUE}.")
    private long seed;

    @Option(names = "--threads", description = "Compute threads; default: the available processors.")
    private Integer threads;

    @Option(names = "--chart", paramLabel = "FILE.png",
            description = "Also write mean TTFT per round, cold against Spillway, as a PNG line chart.")
    private Path chart;

    @Option(names = "--json", description = "Print JSON instead of the table: per round and overall ttft_cold_ms,"
            + " ttft_cached_ms, speedup, hit_tokens_by_tier, outputs_identical.")
    private boolean json;

    /** The presets picocli lists in the help. */
    static final class Presets implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return ModelConfig.presets().iterator();
        }
    }

    @Override
    public Integer call() throws IOException {
        ModelConfig model;
        MultiRoundQa.Settings workload;
        try {
            model = ModelConfig.preset(preset);
            workload = new MultiRoundQa.Settings(users, rounds, systemTokens, historyTokens, questionTokens, answerTokens,
                    model.vocab(), seed);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage(), e);
        }
        int computeThreads = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        PrintWriter err = spec.commandLine().getErr();
        SpillwayConfig base = cli.loadConfig();
        Path tempDisk = base.localDisk().isEmpty() ? Files.createTempDirectory("spillway-demo-") : null;
        try {
            SpillwayConfig config = tempDisk == null ? base : withDisk(tempDisk);
            config.warnings().forEach(w -> err.println("spillway: warning: " + w));
            MultiRoundDemo.Report report;
            try (SpillwayEngine spillway = SpillwayEngine.open(config,
                    ReferenceEngine.kvLayout(model, config.chunkSize()), "reference-" + preset)) {
                // Printed once the engine is open, so that a refused setting is the only line on standard error.
                err.println("spillway demo: model " + preset + ", " + users + " users x " + rounds + " rounds, tiers: G2"
                        + config.localDisk().map(d -> " + G3 at " + d).orElse("")
                        + config.remoteUrl().map(u -> " + G4").orElse(""));
                report = MultiRoundDemo.run(new MultiRoundDemo.Options(model, workload, computeThreads), spillway,
                        (phase, done, total, round, ttft) -> err.printf("[%-8s] %3d/%d requests, round %d, TTFT %8.1f ms%n",
                                phase, done, total, round, ttft / 1e6).flush());
            }
            PrintWriter out = spec.commandLine().getOut();
            out.print(json ? json(report) + System.lineSeparator() : table(report));
            if (chart != null) {
                chart(report).writePng(chart, 1000, 600);
                err.println("spillway demo: chart written to " + chart);
            }
            return report.outputsIdentical() ? 0 : 1;
        } finally {
            if (tempDisk != null) {
                deleteTree(tempDisk);
            }
        }
    }

    private static LineChart chart(MultiRoundDemo.Report report) {
        double[] rounds = report.rounds().stream().mapToDouble(MultiRoundDemo.Round::round).toArray();
        return LineChart.builder()
                .title("Time to first token per round, reference engine")
                .xLabel("round")
                .yLabel("mean TTFT (ms)")
                .xTicks(rounds)
                .series("cold", rounds, report.rounds().stream().mapToDouble(MultiRoundDemo.Round::ttftColdMs).toArray())
                .series("with Spillway", rounds,
                        report.rounds().stream().mapToDouble(MultiRoundDemo.Round::ttftCachedMs).toArray())
                .build();
    }

    private SpillwayConfig withDisk(Path disk) {
        Map<String, String> env = new HashMap<>(cli.environment());
        env.put("SPILLWAY_LOCAL_DISK", disk.toString());
        env.put("SPILLWAY_MAX_LOCAL_DISK_SIZE", DEMO_DISK_GIB);
        return SpillwayConfig.load(env);
    }

    private static String table(MultiRoundDemo.Report report) {
        StringBuilder text = new StringBuilder();
        String format = "%-6s %14s %18s %8s  %-32s %s%n";
        text.append(format.formatted("round", "TTFT cold ms", "TTFT Spillway ms", "speedup", "hit tokens by tier", "identical"));
        for (MultiRoundDemo.Round round : report.rounds()) {
            text.append(format.formatted(round.round(), "%.1f".formatted(round.ttftColdMs()),
                    "%.1f".formatted(round.ttftCachedMs()), "%.2fx".formatted(round.speedup()),
                    tiers(round.hitTokensByTier()), round.outputsIdentical() ? "yes" : "NO"));
        }
        text.append(format.formatted("all", "%.1f".formatted(report.ttftColdMs()), "%.1f".formatted(report.ttftCachedMs()),
                "%.2fx".formatted(report.speedup()), tiers(report.hitTokensByTier()),
                report.outputsIdentical() ? "yes" : "NO"));
        text.append(report.outputsIdentical() ? "outputs identical: every request produced the same tokens and bit-identical logits"
                : "outputs DIFFER: Spillway served KV that changed the engine's output").append(System.lineSeparator());
        return text.toString();
    }

    private static String tiers(Map<String, Long> byTier) {
        StringBuilder text = new StringBuilder();
        byTier.forEach((tier, tokens) -> {
            if (tokens > 0) {
                text.append(text.isEmpty() ? "" : " ").append(tier).append('=').append(tokens);
            }
        });
        return text.isEmpty() ? "-" : text.toString();
    }

    private static String json(MultiRoundDemo.Report report) throws JsonProcessingException {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("rounds", report.rounds().stream().map(round -> {
            Map<String, Object> fields = fields(round.ttftColdMs(), round.ttftCachedMs(), round.speedup(),
                    round.hitTokensByTier(), round.outputsIdentical());
            Map<String, Object> withRound = new LinkedHashMap<>();
            withRound.put("round", round.round());
            withRound.putAll(fields);
            return withRound;
        }).toList());
        root.putAll(fields(report.ttftColdMs(), report.ttftCachedMs(), report.speedup(), report.hitTokensByTier(),
                report.outputsIdentical()));
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
    }

    private static Map<String, Object> fields(double cold, double cached, double speedup, Map<String, Long> byTier,
                                              boolean identical) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("ttft_cold_ms", cold);
        fields.put("ttft_cached_ms", cached);
        fields.put("speedup", speedup);
        fields.put("hit_tokens_by_tier", byTier);
        fields.put("outputs_identical", identical);
        return fields;
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the demo's disk tier " + root, e);
        }
    }
}
