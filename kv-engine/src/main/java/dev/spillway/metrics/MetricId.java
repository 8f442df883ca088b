package dev.spillway.metrics;

import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The name and labels of one series, as Prometheus writes it.
 *
 * @param name   the metric name, {@code spillway_*}
 * @param help   one line saying what it counts
 * @param labels alternating label names and values, for example {@code ["tier", "G2"]}
 */
public record MetricId(String name, String help, List<String> labels) {

    /** Validates the name and the label list. */
    public MetricId {
        if (!name.matches("spillway_[a-z0-9_]+")) {
            throw new IllegalArgumentException("metric name='" + name + "': expected spillway_ followed by [a-z0-9_]");
        }
        if (labels.size() % 2 != 0) {
            throw new IllegalArgumentException("metric " + name + " labels=" + labels + ": expected name/value pairs");
        }
        labels = List.copyOf(labels);
    }

    /** Returns the series in exposition form, {@code name{k="v",...}}, or the bare name without labels. */
    @Override
    public String toString() {
        if (labels.isEmpty()) {
            return name;
        }
        return name + IntStream.range(0, labels.size() / 2)
                .mapToObj(i -> labels.get(2 * i) + "=\"" + labels.get(2 * i + 1) + "\"")
                .collect(Collectors.joining(",", "{", "}"));
    }
}
