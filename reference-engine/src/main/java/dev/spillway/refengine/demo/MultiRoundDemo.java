package dev.spillway.refengine.demo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.spillway.SpillwayEngine;
import dev.spillway.refengine.PagedKvCache;
import dev.spillway.refengine.ReferenceEngine;
import dev.spillway.refengine.model.ModelConfig;
import dev.spillway.refengine.scheduler.InferenceRequest;
import dev.spillway.refengine.scheduler.RequestResult;
import dev.spillway.refengine.workload.MultiRoundQa;
import dev.spillway.tier.Tier;

/**
 * The multi-round QA demo: the same conversations run twice on the reference engine, cold and
 * with Spillway attached, request by request, and compared round by round (mean TTFT, speedup,
 * tokens served per tier, identical outputs). {@code spillway demo} prints it; the tests run it
 * small.
 *
 * <p>Each run drives its own copy of the workload, so that a run's answers become its own later
 * prompts: outputs that ever differ would make the prompts differ too, and the comparison says so.
 * Requests run one at a time, so a request's TTFT is its own prefill and load, not queueing.
 */
public final class MultiRoundDemo {

    private MultiRoundDemo() {
    }

    /**
     * The demo's size.
     *
     * @param model    the model
     * @param workload the conversations' shape
     * @param threads  compute threads of the engine
     */
    public record Options(ModelConfig model, MultiRoundQa.Settings workload, int threads) {
    }

    /** Reports each request as it completes, for a progress display. */
    @FunctionalInterface
    public interface Progress {

        /**
         * Called after each request.
         *
         * @param phase     {@code "cold"} or {@code "spillway"}
         * @param done      requests of this phase completed
         * @param total     requests of this phase
         * @param round     the request's round, from 1
         * @param ttftNanos its TTFT
         */
        void completed(String phase, int done, int total, int round, long ttftNanos);
    }

    /**
     * One round's comparison.
     *
     * @param round            from 1
     * @param ttftColdMs       mean TTFT of the round's requests, cold
     * @param ttftCachedMs     mean TTFT of the round's requests, with Spillway
     * @param speedup          {@code ttftColdMs / ttftCachedMs}
     * @param hitTokensByTier  prompt tokens Spillway served in the round, by tier label
     * @param outputsIdentical whether every request of the round produced the same tokens and bit-identical logits
     */
    public record Round(int round, double ttftColdMs, double ttftCachedMs, double speedup,
                        Map<String, Long> hitTokensByTier, boolean outputsIdentical) {
    }

    /**
     * The whole comparison.
     *
     * @param rounds           per round
     * @param ttftColdMs       mean TTFT of every request, cold
     * @param ttftCachedMs     mean TTFT of every request, with Spillway
     * @param speedup          {@code ttftColdMs / ttftCachedMs}
     * @param hitTokensByTier  prompt tokens Spillway served, by tier label
     * @param outputsIdentical whether every request produced the same tokens and bit-identical logits
     */
    public record Report(List<Round> rounds, double ttftColdMs, double ttftCachedMs, double speedup,
                         Map<String, Long> hitTokensByTier, boolean outputsIdentical) {
    }

    /** One request's outcome in one run. */
    private record Turn(int round, RequestResult result, Map<Tier, Long> servedByTier) {
    }

    /**
     * Runs the demo: the cold run first, then the run with {@code spillway}, which must be opened with
     * {@link ReferenceEngine#kvLayout} of the model.
     */
    public static Report run(Options options, SpillwayEngine spillway, Progress progress) {
        warmUp(options);
        List<Turn> cold = conversation(options, null, progress);
        List<Turn> cached = conversation(options, spillway, progress);
        List<Round> rounds = new ArrayList<>();
        for (int r = 1; r <= options.workload().rounds(); r++) {
            int round = r;
            rounds.add(compare(round, cold.stream().filter(t -> t.round() == round).toList(),
                    cached.stream().filter(t -> t.round() == round).toList()));
        }
        Round all = compare(0, cold, cached);
        return new Report(rounds, all.ttftColdMs(), all.ttftCachedMs(), all.speedup(), all.hitTokensByTier(),
                all.outputsIdentical());
    }

    /** Compiles the model's code paths before anything is timed, so that the cold run's first requests are not slower for it. */
    private static void warmUp(Options options) {
        try (ReferenceEngine engine = ReferenceEngine.cold(options.model(), options.threads(), 64)) {
            int[] prompt = new int[512];
            Arrays.setAll(prompt, i -> (i * 31) % options.model().vocab());
            engine.run(new InferenceRequest("warm-up", prompt, 4));
        }
    }

    private static List<Turn> conversation(Options options, SpillwayEngine spillway, Progress progress) {
        MultiRoundQa workload = new MultiRoundQa(options.workload());
        int longest = options.workload().promptLength(options.workload().rounds() - 1) + options.workload().answerTokens();
        int blocks = longest / PagedKvCache.DEFAULT_BLOCK_SIZE + 2;
        String phase = spillway == null ? "cold" : "spillway";
        int total = options.workload().rounds() * options.workload().users();
        List<Turn> turns = new ArrayList<>();
        try (ReferenceEngine engine = spillway == null ? ReferenceEngine.cold(options.model(), options.threads(), blocks)
                : ReferenceEngine.withSpillway(options.model(), options.threads(), blocks, spillway)) {
            for (int round = 1; round <= options.workload().rounds(); round++) {
                for (int user = 0; user < options.workload().users(); user++) {
                    Map<Tier, Long> before = served(spillway);
                    MultiRoundQa.Conversation conversation = workload.conversation(user);
                    RequestResult result = engine.run(new InferenceRequest("r" + round + "-u" + user,
                            conversation.prompt(), options.workload().answerTokens()));
                    conversation.recordAnswer(result.outputTokens());
                    Map<Tier, Long> after = served(spillway);
                    after.replaceAll((tier, value) -> value - before.get(tier));
                    turns.add(new Turn(round, result, after));
                    progress.completed(phase, turns.size(), total, round, result.ttftNanos());
                }
            }
        }
        return turns;
    }

    /** Returns the prompt tokens each tier has served so far. */
    private static Map<Tier, Long> served(SpillwayEngine spillway) {
        Map<Tier, Long> served = new EnumMap<>(Tier.class);
        for (Tier tier : Tier.values()) {
            served.put(tier, spillway == null ? 0
                    : spillway.metrics().value("spillway_retrieved_tokens_total{tier=\"" + tier.label() + "\"}"));
        }
        return served;
    }

    private static Round compare(int round, List<Turn> cold, List<Turn> cached) {
        double coldMs = meanMillis(cold);
        double cachedMs = meanMillis(cached);
        Map<String, Long> byTier = new LinkedHashMap<>();
        for (Tier tier : Tier.values()) {
            byTier.put(tier.label(), cached.stream().mapToLong(t -> t.servedByTier().get(tier)).sum());
        }
        boolean identical = cold.size() == cached.size();
        for (int i = 0; identical && i < cold.size(); i++) {
            RequestResult a = cold.get(i).result();
            RequestResult b = cached.get(i).result();
            identical = Arrays.equals(a.outputTokens(), b.outputTokens()) && sameBits(a.firstLogits(), b.firstLogits());
        }
        return new Round(round, coldMs, cachedMs, coldMs / cachedMs, byTier, identical);
    }

    private static double meanMillis(List<Turn> turns) {
        return turns.stream().mapToLong(t -> t.result().ttftNanos()).average().orElse(0) / 1e6;
    }

    private static boolean sameBits(float[] a, float[] b) {
        if (a.length != b.length) {
            return false;
        }
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                return false;
            }
        }
        return true;
    }
}
