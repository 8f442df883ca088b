package dev.spillway.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * The values of a YAML configuration file: a flat map of snake_case keys, as LMCache writes them.
 *
 * @param source {@code file:} and the file's absolute path, as shown in {@link ConfigEntry#source()}
 * @param values the raw YAML values of the keys Spillway knows, by key
 */
record ConfigFile(String source, Map<String, Object> values) {

    /** No file. */
    static final ConfigFile NONE = new ConfigFile("none", Map.of());

    private static final String EXPECTED = "a readable YAML file holding a map of keys to values";

    /** Copies the values, keeping YAML nulls: a key written with no value unsets an optional key. */
    ConfigFile {
        values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /** Returns the name of {@code key} in this file, as {@link ConfigException#variable()} shows it. */
    String variable(String key) {
        return variable(source, key);
    }

    private static String variable(String source, String key) {
        return source + ":" + key;
    }

    /**
     * Reads the file named by an environment variable.
     *
     * @param variable the variable that names the file, for messages
     * @param pathText the path, relative to the working directory unless absolute
     * @param strict   whether a key Spillway does not know fails (a Spillway file) or only adds a
     *                 warning (an LMCache file, which carries many keys Spillway does not have)
     * @param warnings where the warnings go
     * @throws ConfigException when the file is missing, unreadable, not YAML, not a map, or holds an
     *                         unknown key while {@code strict}
     */
    static ConfigFile read(String variable, String pathText, boolean strict, List<String> warnings) {
        Path path;
        try {
            path = Path.of(pathText).toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            throw new ConfigException(variable, pathText, "not a valid path", EXPECTED);
        }
        String text;
        try {
            text = Files.readString(path);
        } catch (NoSuchFileException e) {
            throw new ConfigException(variable, pathText, "no such file", EXPECTED);
        } catch (IOException e) {
            String problem = "cannot read it (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")";
            throw new ConfigException(variable, pathText, problem, EXPECTED);
        }
        Object document;
        try {
            document = yaml().load(text);
        } catch (YAMLException e) {
            throw new ConfigException(variable, pathText, "not valid YAML (" + describe(e) + ")", EXPECTED);
        }
        String source = "file:" + path;
        if (document == null) {
            return new ConfigFile(source, Map.of());
        }
        if (!(document instanceof Map<?, ?> map)) {
            throw new ConfigException(variable, pathText,
                    "holds a " + document.getClass().getSimpleName() + ", not a map", EXPECTED);
        }
        Map<String, Object> values = new LinkedHashMap<>();
        for (Map.Entry<?, ?> entry : map.entrySet()) {
            String key = String.valueOf(entry.getKey());
            String where = variable(source, key);
            if (ConfigKey.byKey(key).isPresent()) {
                values.put(key, entry.getValue());
            } else if (strict) {
                throw new ConfigException(where, String.valueOf(entry.getValue()), "unknown key",
                        "one of " + ConfigKey.keyList());
            } else {
                warnings.add(where + " has no Spillway equivalent; ignored");
            }
        }
        return new ConfigFile(source, values);
    }

    private static Yaml yaml() {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        return new Yaml(new SafeConstructor(options));
    }

    private static String describe(YAMLException e) {
        if (e instanceof MarkedYAMLException marked && marked.getProblemMark() != null) {
            Mark mark = marked.getProblemMark();
            return "line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1) + ": " + marked.getProblem();
        }
        return e.getMessage().lines().findFirst().orElse(e.getClass().getSimpleName());
    }
}
