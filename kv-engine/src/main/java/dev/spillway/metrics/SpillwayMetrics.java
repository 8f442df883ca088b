package dev.spillway.metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The registry of one engine's counters, gauges and histograms. Components ask it for their series
 * once, at construction, and bump them on the hot path without any lookup; an exporter
 * ({@link MetricsServer}, the CLI) reads them all through {@link #counters()}, {@link #gauges()}
 * and {@link #histograms()}.
 *
 * <p>Thread-safe. Asking twice for the same series returns the same counter or histogram. A metric
 * name is one kind of metric: asking for a counter under a gauge's name throws, since Prometheus
 * could not export both.
 */
public final class SpillwayMetrics {

    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, Gauge> gauges = new ConcurrentHashMap<>();
    private final Map<String, Histogram> histograms = new ConcurrentHashMap<>();
    /** Each metric name's kind: {@code counter}, {@code gauge}, or {@code histogram} and its buckets. */
    private final Map<String, String> kinds = new ConcurrentHashMap<>();

    /**
     * Returns the counter for a series, creating it on first use.
     *
     * @param name   the metric name, ending in {@code _total} as Prometheus names counters
     * @param labels alternating label names and values
     * @throws IllegalArgumentException when the name does not end in {@code _total} or is taken by
     *                                  another kind of metric
     */
    public Counter counter(String name, String help, String... labels) {
        if (!name.endsWith("_total")) {
            throw new IllegalArgumentException("counter name='" + name + "': expected a name ending in _total");
        }
        MetricId id = claim("counter", name, help, labels);
        return counters.computeIfAbsent(id.toString(), k -> new Counter(id));
    }

    /**
     * Registers a gauge read from {@code value} at export time; a second registration of the same
     * series replaces the first.
     *
     * @throws IllegalArgumentException when the name is taken by another kind of metric
     */
    public void gauge(LongSupplier value, String name, String help, String... labels) {
        MetricId id = claim("gauge", name, help, labels);
        gauges.put(id.toString(), new Gauge(id, value));
    }

    /**
     * Returns the histogram for a series, creating it on first use.
     *
     * @param buckets the bucket bounds; every series of one name has the same
     * @param labels  alternating label names and values
     * @throws IllegalArgumentException when the name is taken by another kind of metric or by a
     *                                  histogram with other buckets
     */
    public Histogram histogram(Buckets buckets, String name, String help, String... labels) {
        MetricId id = claim("histogram " + buckets, name, help, labels);
        return histograms.computeIfAbsent(id.toString(), k -> new Histogram(id, buckets));
    }

    private MetricId claim(String kind, String name, String help, String... labels) {
        MetricId id = new MetricId(name, help, List.of(labels));
        String existing = kinds.putIfAbsent(name, kind);
        if (existing != null && !existing.equals(kind)) {
            throw new IllegalArgumentException("metric " + id + " registered as a " + kind + ": expected a "
                    + existing + ", the kind the name was first registered as");
        }
        return id;
    }

    /** Returns every counter, in no particular order. */
    public List<Counter> counters() {
        return new ArrayList<>(counters.values());
    }

    /** Returns every gauge, in no particular order. */
    public List<Gauge> gauges() {
        return new ArrayList<>(gauges.values());
    }

    /** Returns every histogram, in no particular order. */
    public List<Histogram> histograms() {
        return new ArrayList<>(histograms.values());
    }

    /**
     * Returns the value of a counter or gauge by its exposition form, for example
     * {@code spillway_stored_chunks_total{tier="G2"}}, or the count of a histogram, for example
     * {@code spillway_transfer_seconds{path="load"}}; 0 for a series never created.
     */
    public long value(String series) {
        Counter counter = counters.get(series);
        if (counter != null) {
            return counter.get();
        }
        Histogram histogram = histograms.get(series);
        if (histogram != null) {
            return histogram.count();
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
