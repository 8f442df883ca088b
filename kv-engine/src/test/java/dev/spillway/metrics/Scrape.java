package dev.spillway.metrics;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One scrape of a Prometheus endpoint, fetched over real HTTP and parsed from the text exposition
 * format, for tests to read families (HELP, TYPE) and samples by name and labels.
 *
 * <p>A sample is found by its name and its set of labels, whatever order the endpoint wrote them in.
 */
public final class Scrape {

    private static final Pattern COMMENT = Pattern.compile("# (HELP|TYPE) (\\S+) (.*)");
    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})? (\\S+)");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");

    private final Map<String, String> help = new HashMap<>();
    private final Map<String, String> types = new HashMap<>();
    private final List<Sample> parsed = new ArrayList<>();

    /** One sample line: its metric name, its labels sorted by name, its value. */
    private record Sample(String name, Map<String, String> labels, double value) {
    }

    private Scrape() {
    }

    /**
     * GETs {@code http://127.0.0.1:port/metrics} and parses the answer.
     *
     * @throws IOException when nothing listens on the port or the answer is not 200
     */
    public static Scrape fetch(int port) throws IOException, InterruptedException {
        try (HttpClient client = HttpClient.newHttpClient()) {
            HttpResponse<String> response = client.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IOException("GET /metrics on port " + port + ": status " + response.statusCode());
            }
            return parse(response.body());
        }
    }

    /**
     * Parses a text exposition.
     *
     * @throws IllegalArgumentException naming the line that is neither a comment nor a sample
     */
    public static Scrape parse(String text) {
        Scrape scrape = new Scrape();
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            Matcher comment = COMMENT.matcher(line);
            Matcher sample = SAMPLE.matcher(line);
            if (comment.matches()) {
                (comment.group(1).equals("HELP") ? scrape.help : scrape.types).put(comment.group(2), comment.group(3));
            } else if (sample.matches()) {
                scrape.parsed.add(new Sample(sample.group(1), parseLabels(sample.group(1), sample.group(2)),
                        number(sample.group(3))));
            } else {
                throw new IllegalArgumentException("exposition line '" + line + "': expected # HELP, # TYPE or a sample");
            }
        }
        return scrape;
    }

    private static Map<String, String> parseLabels(String name, String labels) {
        Map<String, String> sorted = new TreeMap<>();
        if (labels == null) {
            return sorted;
        }
        Matcher label = LABEL.matcher(labels);
        int end = 0;
        while (label.find() && label.start() == end) {
            sorted.put(label.group(1), label.group(2));
            end = label.end();
        }
        if (end != labels.length()) {
            throw new IllegalArgumentException("labels {" + labels + "} of " + name + ": expected name=\"value\" pairs");
        }
        return sorted;
    }

    private static double number(String text) {
        return Double.parseDouble(text.replace("+Inf", "Infinity"));
    }

    private static String series(String name, Map<String, String> labels) {
        if (labels.isEmpty()) {
            return name;
        }
        StringBuilder key = new StringBuilder(name).append('{');
        labels.forEach((label, value) -> key.append(label).append("=\"").append(value).append("\","));
        key.setCharAt(key.length() - 1, '}');
        return key.toString();
    }

    private static Map<String, String> labels(String... labels) {
        Map<String, String> sorted = new TreeMap<>();
        for (int i = 0; i < labels.length; i += 2) {
            sorted.put(labels[i], labels[i + 1]);
        }
        return sorted;
    }

    /** Returns every family that has a TYPE line. */
    public Set<String> families() {
        return types.keySet();
    }

    /**
     * Returns the families, sorted, whose row in {@code doc} (docs/metrics.md) is missing or gives
     * another type: a row starts {@code | `family` | type |}.
     */
    public List<String> familiesNotDocumentedIn(String doc) {
        return types.keySet().stream().sorted()
                .filter(family -> !doc.contains("| `" + family + "` | " + types.get(family) + " |"))
                .toList();
    }

    /** Returns the TYPE of a family ({@code counter}, {@code gauge}, {@code histogram}), or null. */
    public String type(String family) {
        return types.get(family);
    }

    /** Returns the HELP text of a family, or null. */
    public String help(String family) {
        return help.get(family);
    }

    /**
     * Returns the value of one sample.
     *
     * @param labels alternating label names and values, in any order
     * @throws AssertionError naming the series when the scrape does not hold it
     */
    public double value(String name, String... labels) {
        Map<String, String> wanted = labels(labels);
        return parsed.stream()
                .filter(sample -> sample.name().equals(name) && sample.labels().equals(wanted))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no sample " + series(name, wanted) + " in the scrape; it holds "
                        + parsed.stream().map(sample -> series(sample.name(), sample.labels())).sorted().toList()))
                .value();
    }

    /**
     * Returns the cumulative bucket counts of one histogram series by upper bound, {@code +Inf} last.
     *
     * @param labels the series' labels, without {@code le}
     */
    public NavigableMap<Double, Double> buckets(String histogram, String... labels) {
        Map<String, String> wanted = labels(labels);
        NavigableMap<Double, Double> buckets = new TreeMap<>();
        for (Sample sample : parsed) {
            Map<String, String> others = new TreeMap<>(sample.labels());
            String le = others.remove("le");
            if (sample.name().equals(histogram + "_bucket") && others.equals(wanted)) {
                buckets.put(number(le), sample.value());
            }
        }
        return buckets;
    }
}
