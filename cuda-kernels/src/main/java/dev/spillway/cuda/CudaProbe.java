package dev.spillway.cuda;

import dev.spillway.cuda.CudaAvailability.DeviceInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;
import jcuda.runtime.JCuda;
import jcuda.runtime.cudaDeviceProp;
import jcuda.runtime.cudaError;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds out whether this process can use CUDA through JCuda, and says precisely why not when it
 * cannot.
 *
 * <p>CUDA counts as available only when both APIs Spillway uses work: the runtime API (JCuda
 * links the CUDA runtime statically, so it loads even without a driver and then answers
 * {@code cudaErrorInsufficientDriver}) and the driver API (needed to load the kernels' fatbin;
 * {@code JCudaDriver}'s static initializer fails with a {@link LinkageError} when
 * {@code libcuda.so.1} is missing), and at least one device is visible.
 *
 * <p>Side effect: the probe turns JCuda's exceptions off ({@code setExceptionsEnabled(false)} on
 * both APIs), so JCuda calls return error codes, which every later caller must check.
 */
public final class CudaProbe {

    private static final Logger LOG = LoggerFactory.getLogger(CudaProbe.class);

    /** The dlopen error that names a shared library the loader could not find. */
    private static final String MISSING_LIBRARY = "cannot open shared object file";

    /** The {@code java.lang.UnsatisfiedLinkError: } that JCuda's nested messages put before the loader's text. */
    private static final Pattern LEADING_EXCEPTION_CLASS = Pattern.compile("^\\s*(?:[\\w$]+\\.)+[\\w$]+: ");

    private CudaProbe() {
    }

    /**
     * Probes CUDA and logs the outcome in one DEBUG line (the one INFO line about the GPU is the
     * runtime selection's, which includes this outcome when CUDA is not used).
     *
     * <p>Never throws: a missing native library, a missing or old driver, no device or a failing
     * device query all come back as {@code available == false} with a reason naming the failing
     * call and its CUDA error name, or the library that could not be loaded. Safe to call more
     * than once and from any thread; every call asks CUDA again, while the native libraries are
     * loaded only once per JVM.
     *
     * @return the devices CUDA reports, or why there are none
     */
    public static CudaAvailability probe() {
        CudaAvailability result = detect();
        if (result.available()) {
            LOG.debug("CUDA available: {}", result.devices().stream()
                    .map(d -> "#" + d.ordinal() + " " + d.name() + " (" + d.totalMemoryBytes() / (1L << 20)
                            + " MiB, compute capability " + d.ccMajor() + "." + d.ccMinor() + ")")
                    .collect(Collectors.joining(", ")));
        } else {
            LOG.debug("CUDA unavailable: {}", result.reason());
        }
        return result;
    }

    private static CudaAvailability detect() {
        Optional<String> runtimeLoadFailure = Bindings.RUNTIME_LOAD_FAILURE;
        if (runtimeLoadFailure.isPresent()) {
            return CudaAvailability.unavailable("JCuda runtime library failed to load: " + runtimeLoadFailure.get());
        }
        int[] count = new int[1];
        int status = JCuda.cudaGetDeviceCount(count);
        // The driver is checked even when the runtime already failed: its loader error names the
        // missing libcuda.so.1, which the runtime's error code alone cannot say.
        Optional<String> driverProblem = driverProblem();
        if (status != cudaError.cudaSuccess) {
            String runtimeProblem = "cudaGetDeviceCount returned " + describe(status);
            return CudaAvailability.unavailable(driverProblem.map(d -> runtimeProblem + "; " + d).orElse(runtimeProblem));
        }
        if (driverProblem.isPresent()) {
            return CudaAvailability.unavailable(driverProblem.get());
        }
        if (count[0] == 0) {
            return CudaAvailability.unavailable("no CUDA device (deviceCount=0)");
        }
        List<DeviceInfo> devices = new ArrayList<>(count[0]);
        for (int ordinal = 0; ordinal < count[0]; ordinal++) {
            cudaDeviceProp properties = new cudaDeviceProp();
            status = JCuda.cudaGetDeviceProperties(properties, ordinal);
            if (status != cudaError.cudaSuccess) {
                return CudaAvailability.unavailable("cudaGetDeviceProperties(device " + ordinal + ") returned " + describe(status));
            }
            devices.add(new DeviceInfo(ordinal, properties.getName(), properties.totalGlobalMem, properties.major, properties.minor));
        }
        return new CudaAvailability(true, "", devices.size(), devices);
    }

    /** Returns what keeps the driver API from working, or empty when it loads and initialises. */
    private static Optional<String> driverProblem() {
        Optional<String> loadFailure = Bindings.DRIVER_LOAD_FAILURE;
        if (loadFailure.isPresent()) {
            String detail = loadFailure.get();
            return Optional.of(detail.contains("libcuda.so.1: " + MISSING_LIBRARY)
                    ? "libcuda.so.1 not found: " + detail
                    : "JCuda driver library failed to load: " + detail);
        }
        int status = JCudaDriver.cuInit(0);
        return status == CUresult.CUDA_SUCCESS ? Optional.empty() : Optional.of("cuInit returned " + CUresult.stringFor(status));
    }

    /** Formats a runtime API error as its name and CUDA's own explanation. */
    private static String describe(int status) {
        return cudaError.stringFor(status) + " (" + JCuda.cudaGetErrorString(status) + ")";
    }

    /**
     * Loads each JCuda binding once and keeps the outcome. A class whose static initializer failed
     * never initialises again, and only that first failure carries the dynamic loader's
     * explanation (later uses see a {@link NoClassDefFoundError} whose copy of the message the JVM
     * truncates), so the explanation is captured when the binding is first touched.
     */
    private static final class Bindings {
        static final Optional<String> RUNTIME_LOAD_FAILURE = loadFailure(() -> JCuda.setExceptionsEnabled(false));
        static final Optional<String> DRIVER_LOAD_FAILURE = loadFailure(() -> JCudaDriver.setExceptionsEnabled(false));

        private Bindings() {
        }

        private static Optional<String> loadFailure(Runnable firstUse) {
            try {
                firstUse.run();
                return Optional.empty();
            } catch (LinkageError e) {
                return Optional.of(loadFailureDetail(e));
            }
        }
    }

    /**
     * Extracts the one line that explains a native library load failure.
     *
     * <p>JCuda's {@link UnsatisfiedLinkError} carries, in a multi-line message, the stack traces of
     * both its load attempts; the line that matters is the dynamic loader's "cannot open shared
     * object file", which names the missing dependency. When something else touched the binding
     * first, the failure is a {@link NoClassDefFoundError} whose cause may still hold that line, so
     * the whole cause chain is searched. Without such a line, the first line of the outermost message
     * is returned.
     */
    static String loadFailureDetail(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            String message = t.getMessage();
            if (message != null) {
                for (String line : message.lines().toList()) {
                    if (line.contains(MISSING_LIBRARY)) {
                        return LEADING_EXCEPTION_CLASS.matcher(line).replaceFirst("").strip();
                    }
                }
            }
        }
        String message = failure.getMessage();
        return message == null || message.isBlank() ? failure.toString() : message.lines().findFirst().orElseThrow().strip();
    }
}
