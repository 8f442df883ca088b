package dev.spillway.refengine.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import dev.spillway.SpillwayEngine;
import dev.spillway.config.SpillwayConfig;
import dev.spillway.refengine.ReferenceEngine;
import dev.spillway.refengine.model.ModelConfig;
import dev.spillway.refengine.scheduler.InferenceRequest;
import dev.spillway.refengine.scheduler.RequestResult;

/** What the end-to-end tests share: the model, the prompts, Spillway's configuration and the comparison. */
final class E2e {

    static final ModelConfig MODEL = ModelConfig.preset("tiny");
    static final int CHUNK = 32;
    static final int THREADS = 2;
    static final int BLOCKS = 256;
    static final int NEW_TOKENS = 4;

    /**
     * Tokens each request of {@link #requests} loads when run in order on an empty Spillway: what
     * the requests before it stored (whole chunks of {@value #CHUNK}; a whole-prompt hit one less).
     */
    static final Map<String, Integer> FIRST_PASS_HITS = Map.of("base", 0, "diverging", 96, "extending", 128,
            "aligned", 127, "shorter", 0);

    /** Tokens each request loads when every request was stored before: its whole chunks, one less for a whole-prompt hit. */
    static final Map<String, Integer> REPEAT_HITS = Map.of("base", 128, "diverging", 159, "extending", 160,
            "aligned", 127, "shorter", 0);

    private E2e() {
    }

    /**
     * Prompts that exercise every shape of hit: a long prompt, one sharing its first 100 tokens
     * (3 whole chunks) then diverging, one extending it, one a multiple of the chunk size (a whole
     * prompt hit), and one shorter than a chunk.
     */
    static List<InferenceRequest> requests(String round) {
        int[] base = tokens(150, 1);
        int[] diverging = concat(Arrays.copyOf(base, 100), tokens(60, 2));
        int[] extending = concat(base, tokens(40, 3));
        int[] aligned = Arrays.copyOf(base, 128);
        int[] shorter = tokens(10, 4);
        return List.of(new InferenceRequest(round + "-base", base, NEW_TOKENS),
                new InferenceRequest(round + "-diverging", diverging, NEW_TOKENS),
                new InferenceRequest(round + "-extending", extending, NEW_TOKENS),
                new InferenceRequest(round + "-aligned", aligned, NEW_TOKENS),
                new InferenceRequest(round + "-shorter", shorter, NEW_TOKENS));
    }

    static int[] tokens(int length, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        return IntStream.range(0, length).map(i -> random.nextInt(MODEL.vocab())).toArray();
    }

    private static int[] concat(int[] a, int[] b) {
        return IntStream.concat(IntStream.of(a), IntStream.of(b)).toArray();
    }

    /** Opens Spillway for the tiny model with chunks of {@value #CHUNK} tokens, host memory only unless {@code env} adds tiers. */
    static SpillwayEngine spillway(String... env) {
        Map<String, String> map = new HashMap<>(Map.of("SPILLWAY_CHUNK_SIZE", Integer.toString(CHUNK),
                "SPILLWAY_MAX_LOCAL_CPU_SIZE", "0.05", "SPILLWAY_GPU", "off"));
        for (int i = 0; i < env.length; i += 2) {
            map.put(env[i], env[i + 1]);
        }
        return SpillwayEngine.open(SpillwayConfig.load(map), ReferenceEngine.kvLayout(MODEL, CHUNK), "tiny");
    }

    /** Runs the requests one at a time on a cold engine. */
    static List<RequestResult> cold(List<InferenceRequest> requests) {
        try (ReferenceEngine engine = ReferenceEngine.cold(MODEL, THREADS, BLOCKS)) {
            return one(engine, requests);
        }
    }

    /** Runs the requests one at a time with Spillway attached. */
    static List<RequestResult> cached(SpillwayEngine spillway, List<InferenceRequest> requests) {
        try (ReferenceEngine engine = ReferenceEngine.withSpillway(MODEL, THREADS, BLOCKS, spillway)) {
            return one(engine, requests);
        }
    }

    private static List<RequestResult> one(ReferenceEngine engine, List<InferenceRequest> requests) {
        List<RequestResult> results = new ArrayList<>();
        for (InferenceRequest request : requests) {
            results.add(engine.run(request));
        }
        return results;
    }

    /** Asserts the same output tokens and bit-identical first logits, request by request. */
    static void assertIdentical(List<RequestResult> cold, List<RequestResult> cached) {
        assertThat(cached).hasSameSizeAs(cold);
        for (int i = 0; i < cold.size(); i++) {
            RequestResult expected = cold.get(i);
            RequestResult actual = cached.get(i);
            assertThat(actual.outputTokens()).as("output of %s", actual.id()).containsExactly(expected.outputTokens());
            assertThat(bits(actual.firstLogits())).as("logit bits of %s", actual.id())
                    .containsExactly(bits(expected.firstLogits()));
        }
    }

    private static int[] bits(float[] values) {
        int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            bits[i] = Float.floatToRawIntBits(values[i]);
        }
        return bits;
    }

    /** Returns the external tokens of each result, by request id suffix. */
    static Map<String, Integer> external(List<RequestResult> results) {
        Map<String, Integer> byKind = new HashMap<>();
        for (RequestResult result : results) {
            byKind.put(result.id().substring(result.id().indexOf('-') + 1), result.externalTokens());
        }
        return byKind;
    }
}
