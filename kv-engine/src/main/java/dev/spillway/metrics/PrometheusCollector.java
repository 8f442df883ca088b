package dev.spillway.metrics;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.UnaryOperator;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Exemplars;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricMetadata;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/**
 * Reads a {@link SpillwayMetrics} registry into Prometheus snapshots at scrape time, so that the
 * hot path keeps bumping plain counters and never touches the Prometheus client. Series of one
 * name become the data points of one metric family, whose help is the first series' help.
 */
final class PrometheusCollector implements MultiCollector {

    /** The created timestamp of every data point: none, as Spillway does not track when a series began. */
    private static final long NO_CREATED_TIMESTAMP = 0;

    private final SpillwayMetrics metrics;

    PrometheusCollector(SpillwayMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public MetricSnapshots collect() {
        List<MetricSnapshot> snapshots = new ArrayList<>();
        // The client writes a counter's _total suffix itself and wants the family named without it.
        addFamilies(snapshots, metrics.counters(), Counter::id, name -> name.replaceFirst("_total$", ""),
                (metadata, series) -> new CounterSnapshot(metadata, series.stream()
                        .map(counter -> new CounterDataPointSnapshot(counter.get(), labels(counter.id()), null,
                                NO_CREATED_TIMESTAMP))
                        .toList()));
        addFamilies(snapshots, metrics.gauges(), SpillwayMetrics.Gauge::id, UnaryOperator.identity(),
                (metadata, series) -> new GaugeSnapshot(metadata, series.stream()
                        .map(gauge -> new GaugeDataPointSnapshot(gauge.value().getAsLong(), labels(gauge.id()), null))
                        .toList()));
        addFamilies(snapshots, metrics.histograms(), Histogram::id, UnaryOperator.identity(),
                (metadata, series) -> new HistogramSnapshot(metadata, series.stream()
                        .map(PrometheusCollector::dataPoint)
                        .toList()));
        return new MetricSnapshots(snapshots);
    }

    /** Groups series by metric name and adds one family per name, described by its first series. */
    private static <T> void addFamilies(List<MetricSnapshot> snapshots, List<T> series, Function<T, MetricId> id,
                                        UnaryOperator<String> familyName,
                                        BiFunction<MetricMetadata, List<T>, MetricSnapshot> family) {
        Map<String, List<T>> byName = new LinkedHashMap<>();
        for (T one : series) {
            byName.computeIfAbsent(id.apply(one).name(), name -> new ArrayList<>()).add(one);
        }
        byName.forEach((name, members) -> snapshots.add(family.apply(
                new MetricMetadata(familyName.apply(name), id.apply(members.getFirst()).help()), members)));
    }

    private static HistogramDataPointSnapshot dataPoint(Histogram histogram) {
        double[] finite = histogram.buckets().upperBounds();
        double[] bounds = Arrays.copyOf(finite, finite.length + 1);
        bounds[finite.length] = Double.POSITIVE_INFINITY;
        return new HistogramDataPointSnapshot(ClassicHistogramBuckets.of(bounds, histogram.bucketCounts()),
                histogram.sum(), labels(histogram.id()), Exemplars.EMPTY, NO_CREATED_TIMESTAMP);
    }

    private static Labels labels(MetricId id) {
        return Labels.of(id.labels().toArray(String[]::new));
    }
}
