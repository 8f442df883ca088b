package dev.spillway.replay;

import dev.spillway.chart.LineChart;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Replays one trace against several policies at several capacities, given as fractions of the
 * trace's distinct chunks, and draws the hit rate against capacity, one line per policy.
 */
public final class CapacitySweep {

    /**
     * The replays at one capacity.
     *
     * @param fraction the capacity as a fraction of the trace's distinct chunks
     * @param capacity the capacity in chunks
     * @param rates    by policy name, in the order the policies were given
     */
    public record Point(double fraction, int capacity, Map<String, HitRates> rates) {

        /** Copies the map, keeping its order. */
        public Point {
            rates = Collections.unmodifiableMap(new LinkedHashMap<>(rates));
        }
    }

    /** Told how far the sweep has come. */
    @FunctionalInterface
    public interface Progress {

        /**
         * Reports one replay's progress.
         *
         * @param policy       the policy replaying
         * @param capacity     its capacity in chunks
         * @param requestsDone requests replayed so far; equal to {@code requests} when it is done
         * @param requests     requests in the trace
         */
        void update(String policy, int capacity, int requestsDone, int requests);
    }

    private CapacitySweep() {
    }

    /**
     * Runs every policy at every capacity, capacities in the order given, policies in the order
     * given within each.
     *
     * @param fractions capacities as fractions of the distinct chunks, each in {@code (0, 1]}
     * @throws IllegalArgumentException when a fraction or a policy name is invalid
     */
    public static List<Point> run(ChunkTrace trace, List<String> policies, double[] fractions, Progress progress) {
        int[] capacities = Arrays.stream(fractions).mapToInt(trace::capacityFor).toArray();
        checkPolicies(policies);
        List<Point> points = new ArrayList<>();
        for (int i = 0; i < fractions.length; i++) {
            points.add(replay(trace, policies, fractions[i], capacities[i], progress));
        }
        return List.copyOf(points);
    }

    /**
     * Runs every policy, in the order given, at one capacity in chunks.
     *
     * @throws IllegalArgumentException when {@code capacity < 1} or a policy name is invalid
     */
    public static Point run(ChunkTrace trace, List<String> policies, int capacity, Progress progress) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity " + capacity + ": expected at least 1 chunk");
        }
        checkPolicies(policies);
        return replay(trace, policies, (double) capacity / Math.max(1, trace.distinctChunks()), capacity, progress);
    }

    private static void checkPolicies(List<String> policies) {
        for (String policy : policies) {
            if (!ReplayPolicies.names().contains(policy)) {
                throw new IllegalArgumentException("policy '" + policy + "': expected one of "
                        + String.join(", ", ReplayPolicies.names()));
            }
        }
    }

    private static Point replay(ChunkTrace trace, List<String> policies, double fraction, int capacity,
                                Progress progress) {
        Map<String, HitRates> rates = new LinkedHashMap<>();
        for (String policy : policies) {
            rates.put(policy, HitRateSimulator.replay(trace, policy, capacity,
                    done -> progress.update(policy, capacity, done, trace.requests())));
        }
        return new Point(fraction, capacity, rates);
    }

    /**
     * Draws the chunk hit rate against the capacity in percent of the distinct chunks, one line
     * per policy of the first point, the points' fractions as the x ticks.
     *
     * @throws IllegalArgumentException when there are fewer than two distinct capacities
     */
    public static LineChart chart(ChunkTrace trace, List<Point> points) {
        double[] percent = points.stream().mapToDouble(p -> 100 * p.fraction()).toArray();
        LineChart.Builder chart = LineChart.builder()
                .title("Prefix hit rate against cache size: " + trace.name() + ", " + trace.chunkSize() + "-token chunks")
                .xLabel("cache capacity (% of the trace's " + trace.distinctChunks() + " distinct chunks)")
                .yLabel("chunk hit rate")
                .xTicks(percent);
        for (String policy : points.getFirst().rates().keySet()) {
            double[] rates = points.stream().mapToDouble(p -> p.rates().get(policy).chunkHitRate()).toArray();
            chart.series(policy, percent, rates);
        }
        return chart.build();
    }
}
