package dev.spillway.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.spillway.config.SpillwayConfig;
import dev.spillway.cuda.CudaAvailability.DeviceInfo;
import dev.spillway.cuda.CudaProbe;
import dev.spillway.gpu.GpuRuntime;
import dev.spillway.gpu.GpuRuntimes;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code spillway gpu-info}: the GPU runtime Spillway would run on, why, and what CUDA reports. */
@Command(name = "gpu-info",
        mixinStandardHelpOptions = true,
        description = {
            "Prints the GPU runtime Spillway would run on, why, and what CUDA reports.",
            "Chooses the runtime as the engine does at start (gpu: auto, cuda, sim or off), opens it and"
                    + " closes it again, then says whether CUDA is usable, and why not, and lists each CUDA"
                    + " device with its memory and compute capability.",
            "Exits with status 2, printing only the error, when the configuration is invalid or when gpu=cuda"
                    + " and CUDA is unavailable, as the engine would refuse to start."})
final class GpuInfoCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CUDA = "cuda";

    @ParentCommand
    private SpillwayCli cli;

    @Spec
    private CommandSpec spec;

    @Option(names = "--json",
            description = "Print a JSON object instead: {\"runtime\": \"sim\"|\"cuda\"|\"off\", \"reason\": ...,"
                    + " \"cuda\": {\"available\": ..., \"reason\": ... or null, \"devices\": [...]}}.")
    private boolean json;

    /** Prints the report; a {@code ConfigException} from loading or selecting reaches {@link SpillwayCli}. */
    @Override
    public Integer call() throws JsonProcessingException {
        SpillwayConfig config = cli.loadConfig();
        GpuRuntimes.Selection selection = GpuRuntimes.select(config);
        selection.runtime().ifPresent(GpuRuntime::close);
        Report report = new Report(selection.kind(), selection.reason(), GpuRuntimes.availability().get(CUDA),
                CudaProbe.probe().devices());
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? json(report) + System.lineSeparator() : text(report));
        config.warnings().forEach(w -> spec.commandLine().getErr().println("spillway: warning: " + w));
        return 0;
    }

    /**
     * What the command found.
     *
     * @param runtime         the kind the selection chose
     * @param reason          why it chose it
     * @param cudaUnavailable why the CUDA runtime cannot be made; empty when it can
     * @param devices         the devices CUDA reports, listed even when the runtime cannot be made
     *                        for another reason (a build without kernels)
     */
    private record Report(String runtime, String reason, Optional<String> cudaUnavailable, List<DeviceInfo> devices) {
    }

    /** The {@code cuda} object always has its three keys; {@code reason} is null when CUDA is available. */
    private static String json(Report report) throws JsonProcessingException {
        Map<String, Object> cuda = new LinkedHashMap<>();
        cuda.put("available", report.cudaUnavailable().isEmpty());
        cuda.put("reason", report.cudaUnavailable().orElse(null));
        cuda.put("devices", report.devices().stream().map(GpuInfoCommand::device).toList());
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("runtime", report.runtime());
        root.put("reason", report.reason());
        root.put(CUDA, cuda);
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
    }

    /** One labelled line per fact, then one line per device; every line ends with a line separator. */
    private static String text(Report report) {
        StringBuilder text = new StringBuilder();
        line(text, "runtime", report.runtime());
        line(text, "reason", report.reason());
        line(text, CUDA, report.cudaUnavailable().map(why -> "unavailable: " + why).orElse("available"));
        for (DeviceInfo device : report.devices()) {
            line(text, "device", device.ordinal() + ": " + device.name() + ", " + device.totalMemoryBytes() / (1L << 20)
                    + " MiB, compute capability " + computeCapability(device));
        }
        return text.toString();
    }

    private static void line(StringBuilder text, String label, String value) {
        text.append("%-9s%s".formatted(label, value)).append(System.lineSeparator());
    }

    private static Map<String, Object> device(DeviceInfo device) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("ordinal", device.ordinal());
        fields.put("name", device.name());
        fields.put("totalMemoryBytes", device.totalMemoryBytes());
        fields.put("computeCapability", computeCapability(device));
        return fields;
    }

    private static String computeCapability(DeviceInfo device) {
        return device.ccMajor() + "." + device.ccMinor();
    }
}
