package dev.spillway.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SpillwayMetricsTest {

    private final SpillwayMetrics metrics = new SpillwayMetrics();

    @Test
    void shouldHandOutOneHistogramPerSeries() {
        Histogram load = metrics.histogram(Buckets.BYTES, "spillway_test_bytes", "test", "path", "load");

        assertThat(metrics.histogram(Buckets.BYTES, "spillway_test_bytes", "test", "path", "load")).isSameAs(load);
        assertThat(metrics.histogram(Buckets.BYTES, "spillway_test_bytes", "test", "path", "save")).isNotSameAs(load);
        load.observe(4096);
        assertThat(metrics.value("spillway_test_bytes{path=\"load\"}")).as("a histogram's value is its count").isEqualTo(1);
        assertThat(metrics.histograms()).hasSize(2);
    }

    @Test
    void shouldRejectACounterNameWithoutTheTotalSuffix() {
        assertThatThrownBy(() -> metrics.counter("spillway_test_chunks", "test"))
                .hasMessage("counter name='spillway_test_chunks': expected a name ending in _total");
    }

    @Test
    void shouldRejectANameReusedForAnotherKindOfMetric() {
        metrics.counter("spillway_test_total", "test", "tier", "G2");
        metrics.histogram(Buckets.SECONDS, "spillway_test_seconds", "test");

        assertThatThrownBy(() -> metrics.gauge(() -> 1, "spillway_test_total", "test", "tier", "G3"))
                .hasMessage("metric spillway_test_total{tier=\"G3\"} registered as a gauge: expected a counter, "
                        + "the kind the name was first registered as");
        assertThatThrownBy(() -> metrics.histogram(Buckets.BYTES, "spillway_test_seconds", "test"))
                .hasMessageContaining("registered as a histogram BYTES: expected a histogram SECONDS");
    }
}
