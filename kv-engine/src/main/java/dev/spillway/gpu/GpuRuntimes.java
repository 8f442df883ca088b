package dev.spillway.gpu;

import dev.spillway.config.ConfigException;
import dev.spillway.config.ConfigKey;
import dev.spillway.config.SpillwayConfig;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses the GPU runtime Spillway runs on, from the {@code gpu} setting and the
 * {@link GpuRuntimeProvider}s that {@link ServiceLoader} finds, each known by its
 * {@link GpuRuntimeProvider#kind() kind}:
 *
 * <ul>
 *   <li>{@code off}: no runtime (no device tier);
 *   <li>{@code sim}: the simulated runtime;
 *   <li>{@code cuda}: the CUDA runtime, or a {@link ConfigException} at start saying why CUDA is
 *       unavailable;
 *   <li>{@code auto}: the CUDA runtime when its provider is on the class path, available, and opens;
 *       otherwise the simulated runtime, with the reason CUDA was not used.
 * </ul>
 *
 * <p>The CUDA provider lives in the cuda-kernels module, so that kv-engine never links JCuda; a class
 * path without that module simply has no {@code cuda} provider.
 */
public final class GpuRuntimes {

    private static final Logger LOG = LoggerFactory.getLogger(GpuRuntimes.class);

    private static final String CUDA = "cuda";
    private static final String SIM = "sim";
    private static final String OFF = "off";
    private static final String AUTO = "auto";

    /** The kinds that {@code gpu} can name, in the order {@link #availability()} lists them. */
    private static final List<String> KINDS = List.of(CUDA, SIM);

    private GpuRuntimes() {
    }

    /**
     * What {@link #select} chose.
     *
     * @param runtime the runtime, which the caller now owns and closes; empty for {@code off}
     * @param kind    {@code cuda}, {@code sim} or {@code off}
     * @param reason  why, for people: the setting that asked for this kind ({@code SPILLWAY_GPU=sim}),
     *                or under {@code auto} {@code CUDA available} or {@code CUDA not used: } and the
     *                reason
     */
    public record Selection(Optional<GpuRuntime> runtime, String kind, String reason) {

        /** Checks that every part is present. */
        public Selection {
            Objects.requireNonNull(runtime, "runtime");
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(reason, "reason");
        }
    }

    /**
     * Chooses and opens the runtime that {@code config.gpu()} asks for, and logs one INFO line
     * naming it and the reason.
     *
     * @throws ConfigException       when {@code gpu=cuda} and CUDA is unavailable, with the reason
     * @throws GpuException          when {@code gpu=cuda} and the CUDA runtime fails to open
     * @throws IllegalStateException when no simulated runtime provider is registered, or two
     *                               providers claim one kind (a packaging fault)
     */
    public static Selection select(SpillwayConfig config) {
        Selection selection = choose(config, providers());
        LOG.info("GPU runtime {}: {}{}", selection.kind(), selection.reason(),
                selection.runtime().map(runtime -> " (" + runtime.description() + ")").orElse(""));
        return selection;
    }

    /**
     * Says, for each kind that {@code gpu} can name ({@code cuda}, then {@code sim}), whether this
     * process can make it: empty when it can, else why not (a missing module, or the provider's own
     * reason). Opens nothing.
     *
     * @throws IllegalStateException when two providers claim one kind
     */
    public static Map<String, Optional<String>> availability() {
        Map<String, GpuRuntimeProvider> providers = providers();
        Map<String, Optional<String>> availability = new LinkedHashMap<>();
        for (String kind : KINDS) {
            availability.put(kind, unavailableReason(providers, kind));
        }
        return Collections.unmodifiableMap(availability);
    }

    private static Selection choose(SpillwayConfig config, Map<String, GpuRuntimeProvider> providers) {
        String setting = config.variable(ConfigKey.GPU) + "=" + config.gpu();
        return switch (config.gpu()) {
            case OFF -> new Selection(Optional.empty(), OFF, setting);
            case SIM -> simulated(config, providers, setting);
            case CUDA -> {
                Optional<String> unavailable = unavailableReason(providers, CUDA);
                if (unavailable.isPresent()) {
                    throw new ConfigException(config.variable(ConfigKey.GPU), config.gpu(),
                            "CUDA is unavailable: " + unavailable.get(), "auto, sim or off where CUDA is unavailable");
                }
                yield open(providers.get(CUDA), config, setting);
            }
            case AUTO -> {
                Optional<String> unavailable = unavailableReason(providers, CUDA);
                if (unavailable.isEmpty()) {
                    try {
                        yield open(providers.get(CUDA), config, "CUDA available");
                    } catch (GpuException e) {
                        // A device answered but could not be opened (say, no kernel code for its
                        // architecture): the engine still runs, on the simulated device.
                        unavailable = Optional.of(e.getMessage());
                    }
                }
                yield simulated(config, providers, "CUDA not used: " + unavailable.orElseThrow());
            }
            default -> throw new IllegalStateException("gpu=" + config.gpu() + " passed SpillwayConfig's checks");
        };
    }

    private static Selection simulated(SpillwayConfig config, Map<String, GpuRuntimeProvider> providers, String reason) {
        Optional<String> unavailable = unavailableReason(providers, SIM);
        if (unavailable.isPresent()) {
            throw new IllegalStateException("the simulated GPU runtime is unavailable: " + unavailable.get());
        }
        return open(providers.get(SIM), config, reason);
    }

    private static Selection open(GpuRuntimeProvider provider, SpillwayConfig config, String reason) {
        return new Selection(Optional.of(provider.create(config)), provider.kind(), reason);
    }

    private static Optional<String> unavailableReason(Map<String, GpuRuntimeProvider> providers, String kind) {
        GpuRuntimeProvider provider = providers.get(kind);
        if (provider != null) {
            return provider.unavailableReason();
        }
        return Optional.of(CUDA.equals(kind)
                ? "the cuda-kernels module is not on the classpath"
                : "no GpuRuntimeProvider of kind " + kind + " is on the classpath");
    }

    private static Map<String, GpuRuntimeProvider> providers() {
        Map<String, GpuRuntimeProvider> byKind = new TreeMap<>();
        for (GpuRuntimeProvider provider : ServiceLoader.load(GpuRuntimeProvider.class)) {
            GpuRuntimeProvider other = byKind.putIfAbsent(provider.kind(), provider);
            if (other != null) {
                throw new IllegalStateException("two GpuRuntimeProviders of kind " + provider.kind() + ": "
                        + other.getClass().getName() + " and " + provider.getClass().getName());
            }
        }
        return byKind;
    }
}
