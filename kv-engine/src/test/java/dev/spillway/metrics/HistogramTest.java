package dev.spillway.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class HistogramTest {

    private final SpillwayMetrics metrics = new SpillwayMetrics();

    @Test
    void shouldCountAValueInTheFirstBucketWhoseBoundHoldsIt() {
        Histogram histogram = metrics.histogram(Buckets.SECONDS, "spillway_test_seconds", "test");
        int buckets = Buckets.SECONDS.upperBounds().length + 1;

        histogram.observe(0);
        histogram.observe(0.00005);
        histogram.observe(0.00006);
        histogram.observe(10);
        histogram.observe(11);

        long[] expected = new long[buckets];
        expected[0] = 2;
        expected[1] = 1;
        expected[buckets - 2] = 1;
        expected[buckets - 1] = 1;
        assertThat(histogram.bucketCounts()).containsExactly(expected);
        assertThat(histogram.count()).isEqualTo(5);
        assertThat(histogram.sum()).isEqualTo(21.00011, offset(1e-9));
    }

    @Test
    void shouldRejectANegativeOrNotANumberValueNamingTheSeries() {
        Histogram histogram = metrics.histogram(Buckets.BYTES, "spillway_test_bytes", "test", "path", "load");

        assertThatThrownBy(() -> histogram.observe(-1))
                .hasMessage("histogram spillway_test_bytes{path=\"load\"} value=-1.0: expected >= 0");
        assertThatThrownBy(() -> histogram.observe(Double.NaN)).hasMessageContaining("value=NaN");
        assertThat(histogram.count()).isZero();
    }

    @Test
    void shouldCountEveryObservationOfManyThreads() throws Exception {
        Histogram histogram = metrics.histogram(Buckets.SECONDS, "spillway_test_seconds", "test");
        int threads = 4;
        int each = 20_000;
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    for (int i = 0; i < each; i++) {
                        histogram.observe(1);
                    }
                }));
            }
            for (Future<?> future : done) {
                future.get();
            }
        }

        assertThat(histogram.count()).isEqualTo((long) threads * each);
        assertThat(histogram.sum()).isEqualTo((double) threads * each);
        int bucketOfOne = Arrays.binarySearch(Buckets.SECONDS.upperBounds(), 1.0);
        assertThat(histogram.bucketCounts()[bucketOfOne]).isEqualTo((long) threads * each);
    }

    @ParameterizedTest
    @EnumSource(Buckets.class)
    void shouldHaveStrictlyAscendingPositiveBounds(Buckets buckets) {
        double[] bounds = buckets.upperBounds();

        assertThat(bounds[0]).isPositive();
        for (int i = 1; i < bounds.length; i++) {
            assertThat(bounds[i]).as("bound %d of %s", i, buckets).isGreaterThan(bounds[i - 1]);
        }
    }
}
