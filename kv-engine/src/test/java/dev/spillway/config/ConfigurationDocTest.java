package dev.spillway.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Keeps docs/configuration.md in step with {@link ConfigKey}, the one table of keys. */
class ConfigurationDocTest {

    /** Surefire runs in the module directory. */
    private static final Path DOC = Path.of("../docs/configuration.md");

    private static final Pattern DOCUMENTED_KEY = Pattern.compile("(?m)^\\| `([a-z_]+)` \\| `SPILLWAY_");

    private static final Pattern YAML_EXAMPLE = Pattern.compile("(?s)```yaml\n(.*?)```");

    /** Renders the row that the keys table of the document must hold for {@code key}. */
    static String row(ConfigKey key) {
        return "| `" + key.key() + "` | `" + key.variable() + "` | "
                + key.lmcacheVariable().map(alias -> "`" + alias + "`").orElse("—") + " | "
                + key.type() + " | "
                + (key.defaultValue() == null ? "unset" : "`" + key.defaultValue() + "`") + " | "
                + key.meaning() + " | "
                + key.expected() + " |";
    }

    @Test
    void shouldDocumentEveryKeyExactlyAsTheCodeDefinesIt() throws IOException {
        String doc = Files.readString(DOC);

        for (ConfigKey key : ConfigKey.values()) {
            assertThat(doc).as("the row of %s in %s", key.key(), DOC).contains(row(key));
        }
    }

    @Test
    void shouldDocumentNoKeyThatTheCodeDoesNotHave() throws IOException {
        Matcher documented = DOCUMENTED_KEY.matcher(Files.readString(DOC));

        assertThat(documented.results().map(match -> match.group(1)).toList())
                .containsExactlyElementsOf(Arrays.stream(ConfigKey.values()).map(ConfigKey::key).toList());
    }

    @Test
    void shouldShowAnExampleFileThatLoads(@TempDir Path dir) throws IOException {
        Matcher example = YAML_EXAMPLE.matcher(Files.readString(DOC));
        assertThat(example.find()).as("a ```yaml block in %s", DOC).isTrue();
        Path file = Files.writeString(dir.resolve("spillway.yaml"), example.group(1));

        SpillwayConfig config = SpillwayConfig.load(Map.of("SPILLWAY_CONFIG_FILE", file.toString()));

        assertThat(config.warnings()).isEmpty();
        assertThat(config.entries()).extracting(ConfigEntry::source).contains("file:" + file);
    }
}
