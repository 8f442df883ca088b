package dev.spillway.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.spillway.config.ConfigEntry;
import dev.spillway.config.ConfigKey;
import dev.spillway.config.SpillwayConfig;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code spillway config}: the effective configuration and where each value came from. */
@Command(name = "config",
        mixinStandardHelpOptions = true,
        description = {
            "Prints the effective configuration and where each value came from.",
            "Lists every key with its value, its source (default, env:VARIABLE or file:PATH) and the"
                    + " environment variables that set it, then warnings about what was ignored.",
            "Exits with status 2, printing only the error, when the configuration is invalid."})
final class ConfigCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String UNSET = "(unset)";
    private static final String GAP = "  ";

    @ParentCommand
    private SpillwayCli cli;

    @Spec
    private CommandSpec spec;

    @Option(names = "--json",
            description = "Print a JSON object instead, {\"key\": {\"value\": ..., \"source\": ...}} in table"
                    + " order; warnings go to standard error.")
    private boolean json;

    /** Prints the configuration; a {@code ConfigException} from loading it reaches {@link SpillwayCli}. */
    @Override
    public Integer call() throws JsonProcessingException {
        SpillwayConfig config = cli.loadConfig();
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(json(config));
            config.warnings().forEach(w -> spec.commandLine().getErr().println("spillway: warning: " + w));
        } else {
            out.print(table(config));
            if (!config.warnings().isEmpty()) {
                out.println();
                config.warnings().forEach(w -> out.println("warning: " + w));
            }
        }
        return 0;
    }

    /** Numbers stay numbers, booleans booleans and unset values null, so scripts need no parsing. */
    static String json(SpillwayConfig config) throws JsonProcessingException {
        Map<String, Map<String, Object>> keys = new LinkedHashMap<>();
        for (ConfigEntry entry : config.entries()) {
            Map<String, Object> field = new LinkedHashMap<>();
            field.put("value", entry.value());
            field.put("source", entry.source());
            keys.put(entry.key(), field);
        }
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(keys);
    }

    /** Aligned columns, since the table is for people; every line ends with a line separator. */
    static String table(SpillwayConfig config) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"KEY", "VALUE", "SOURCE", "VARIABLES"});
        for (ConfigKey key : ConfigKey.values()) {
            ConfigEntry entry = config.entry(key);
            String variables = Stream.concat(Stream.of(key.variable()), key.lmcacheVariable().stream())
                    .collect(Collectors.joining(", "));
            String value = entry.value() == null ? UNSET : entry.value().toString();
            rows.add(new String[] {entry.key(), value, entry.source(), variables});
        }
        int[] widths = new int[rows.getFirst().length];
        for (String[] row : rows) {
            for (int column = 0; column < row.length; column++) {
                widths[column] = Math.max(widths[column], row[column].length());
            }
        }
        StringBuilder table = new StringBuilder();
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int column = 0; column < row.length; column++) {
                line.append(row[column]).append(" ".repeat(widths[column] - row[column].length())).append(GAP);
            }
            table.append(line.toString().stripTrailing()).append(System.lineSeparator());
        }
        return table.toString();
    }
}
