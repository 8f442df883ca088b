package dev.spillway.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.spillway.config.ConfigKey;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpillwayCliTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** What one run of the command left behind. */
    record Run(int status, String out, String err) {

        JsonNode json() throws IOException {
            return JSON.readTree(out);
        }
    }

    static Run run(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = new SpillwayCli(env, new PrintWriter(out), new PrintWriter(err)).execute(args);
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void shouldPrintTheDefaultChunkSizeAsJson() throws IOException {
        Run run = run(Map.of(), "config", "--json");

        assertThat(run.status()).isZero();
        assertThat(run.err()).isEmpty();
        JsonNode chunkSize = run.json().get("chunk_size");
        assertThat(chunkSize.get("value").isInt()).isTrue();
        assertThat(chunkSize.get("value").intValue()).isEqualTo(256);
        assertThat(chunkSize.get("source").textValue()).isEqualTo("default");
    }

    @Test
    void shouldPrintEveryKeyInOrderWithJsonTypes() throws IOException {
        JsonNode json = run(Map.of(), "config", "--json").json();

        List<String> names = json.properties().stream().map(Map.Entry::getKey).toList();
        assertThat(names).containsExactlyElementsOf(Arrays.stream(ConfigKey.values()).map(ConfigKey::key).toList());
        assertThat(json.get("local_cpu").get("value").isBoolean()).isTrue();
        assertThat(json.get("max_local_cpu_size").get("value").doubleValue()).isEqualTo(5.0);
        assertThat(json.get("pin_timeout_ms").get("value").longValue()).isEqualTo(30_000L);
        assertThat(json.get("cache_policy").get("value").textValue()).isEqualTo("lru");
        assertThat(json.get("metrics_port").get("value").isNull()).isTrue();
    }

    @Test
    void shouldNameTheLmcacheAliasAsTheSource() throws IOException {
        JsonNode chunkSize = run(Map.of("LMCACHE_CHUNK_SIZE", "512"), "config", "--json").json().get("chunk_size");

        assertThat(chunkSize.get("value").intValue()).isEqualTo(512);
        assertThat(chunkSize.get("source").textValue()).isEqualTo("env:LMCACHE_CHUNK_SIZE");
    }

    @Test
    void shouldNameTheFileAsTheSource(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("spillway.yaml"), "namespace: team-a\n");

        JsonNode namespace = run(Map.of("SPILLWAY_CONFIG_FILE", file.toString()), "config", "--json")
                .json().get("namespace");

        assertThat(namespace.get("value").textValue()).isEqualTo("team-a");
        assertThat(namespace.get("source").textValue()).isEqualTo("file:" + file.toAbsolutePath().normalize());
    }

    @Test
    void shouldExitWithStatus2AndPrintOnlyTheErrorForAnInvalidConfiguration() {
        for (String[] args : List.of(new String[] {"config"}, new String[] {"config", "--json"})) {
            Run run = run(Map.of("SPILLWAY_CHUNK_SIZE", "abc"), args);

            assertThat(run.status()).isEqualTo(2);
            assertThat(run.out()).isEmpty();
            assertThat(run.err()).isEqualTo(SpillwayCli.CONFIG_ERROR_PREFIX
                    + "SPILLWAY_CHUNK_SIZE='abc': expected an integer between 1 and 65536" + System.lineSeparator());
        }
    }

    @Test
    void shouldKeepWarningsOffStandardOutputInJsonMode() throws IOException {
        Run run = run(Map.of("LMCACHE_USE_EXPERIMENTAL", "True"), "config", "--json");

        assertThat(run.status()).isZero();
        assertThat(run.json().get("chunk_size").get("value").intValue()).isEqualTo(256);
        assertThat(run.err()).contains("LMCACHE_USE_EXPERIMENTAL has no Spillway equivalent; ignored");
    }

    @Test
    void shouldPrintATableWithValueSourceAndVariablesThenWarnings() {
        Run run = run(Map.of("LMCACHE_CHUNK_SIZE", "512", "LMCACHE_USE_EXPERIMENTAL", "True"), "config");

        assertThat(run.status()).isZero();
        List<String> lines = run.out().lines().toList();
        assertThat(lines.getFirst()).matches("KEY +VALUE +SOURCE +VARIABLES");
        assertThat(lines).anyMatch(line -> line.matches(
                "chunk_size +512 +env:LMCACHE_CHUNK_SIZE +SPILLWAY_CHUNK_SIZE, LMCACHE_CHUNK_SIZE"));
        assertThat(lines).anyMatch(line -> line.matches("namespace +default +default +SPILLWAY_NAMESPACE"));
        assertThat(lines).anyMatch(line -> line.matches("remote_url +\\(unset\\) +default +SPILLWAY_REMOTE_URL.*"));
        assertThat(lines.getLast()).isEqualTo("warning: LMCACHE_USE_EXPERIMENTAL has no Spillway equivalent; ignored");
    }

    @Test
    void shouldListTheSubcommandsInHelp() {
        Run run = run(Map.of(), "--help");

        assertThat(run.status()).isZero();
        assertThat(run.out()).contains("Usage: spillway").containsPattern("(?m)^\\s+config\\s+Prints")
                .containsPattern("(?m)^\\s+gpu-info\\s+Prints");
    }

    @Test
    void shouldPrintTheVersion() {
        Run run = run(Map.of(), "--version");

        assertThat(run.status()).isZero();
        assertThat(run.out()).startsWith("spillway dev");
    }

    @Test
    void shouldShowTheUsageAndFailWithoutASubcommand() {
        Run run = run(Map.of());

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.out()).isEmpty();
        assertThat(run.err()).contains("Usage: spillway");
    }

    @Test
    void shouldRejectAnUnknownSubcommand() {
        Run run = run(Map.of(), "confg");

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("confg");
    }
}
