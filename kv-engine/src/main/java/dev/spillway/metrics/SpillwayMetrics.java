package dev.spillway.metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The registry of one engine's counters and gauges. Components ask it for their series once, at
 * construction, and bump them on the hot path without any lookup; an exporter (Prometheus, the
 * CLI) reads them all through {@link #counters()} and {@link #gauges()}.
 *
 * <p>Thread-safe. Asking twice for the same series returns the same counter.
 */
public final class SpillwayMetrics {

    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, Gauge> gauges = new ConcurrentHashMap<>();

    /**
     * Returns the counter for a series, creating it on first use.
     *
     * @param labels alternating label names and values
     */
    public Counter counter(String name, String help, String... labels) {
        MetricId id = new MetricId(name, help, List.of(labels));
        return counters.computeIfAbsent(id.toString(), k -> new Counter(id));
    }

    /**
     * Registers a gauge read from {@code value} at export time; a second registration of the same
     * series replaces the first.
     */
    public void gauge(LongSupplier value, String name, String help, String... labels) {
        MetricId id = new MetricId(name, help, List.of(labels));
        gauges.put(id.toString(), new Gauge(id, value));
    }

    /** Returns every counter, in no particular order. */
    public List<Counter> counters() {
        return new ArrayList<>(counters.values());
    }

    /** Returns every gauge, in no particular order. */
    public List<Gauge> gauges() {
        return new ArrayList<>(gauges.values());
    }

    /**
     * Returns the value of a series by its exposition form, for example
     * {@code spillway_stored_chunks_total{tier="G2"}}; 0 for a series never created.
     */
    public long value(String series) {
        Counter counter = counters.get(series);
        if (counter != null) {
            return counter.get();
        }
        Gauge gauge = gauges.get(series);
        return gauge == null ? 0 : gauge.value().getAsLong();
    }

    /**
     * A value sampled when read, such as pool occupancy.
     *
     * @param id    the series
     * @param value reads the current value
     */
    public record Gauge(MetricId id, LongSupplier value) {
    }
}
