package dev.spillway.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.spillway.cuda.CudaAvailability.DeviceInfo;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

class CudaProbeTest {

    /**
     * Whether the CUDA driver library can be loaded, asked of the dynamic loader directly so that
     * the tests decide what to expect without trusting the code under test.
     */
    @SuppressWarnings("restricted")
    private static boolean driverLibraryLoads() {
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup.libraryLookup("libcuda.so.1", arena);
            return true;
        } catch (IllegalArgumentException notLoadable) {
            return false;
        }
    }

    @Test
    void shouldNameTheRuntimeErrorAndTheMissingDriverLibraryWhenNoDriverIsInstalled() {
        assumeFalse(driverLibraryLoads(), "a CUDA driver is installed");

        CudaAvailability result = CudaProbe.probe();

        assertThat(result.available()).isFalse();
        assertThat(result.deviceCount()).isZero();
        assertThat(result.devices()).isEmpty();
        // What JCuda 12.6.0 answers on a machine without libcuda.so.1: the statically linked runtime
        // loads and reports the driver as insufficient; the driver binding fails to link.
        assertThat(result.reason())
                .startsWith("cudaGetDeviceCount returned cudaErrorInsufficientDriver (")
                .contains("; libcuda.so.1 not found: ")
                .endsWith("libcuda.so.1: cannot open shared object file: No such file or directory");
    }

    @Test
    void shouldGiveTheSameReasonWhenProbedAgainAfterTheDriverClassFailedToInitialise() {
        assumeFalse(driverLibraryLoads(), "a CUDA driver is installed");

        // JCudaDriver's static initializer fails only once; later probes must keep its explanation.
        assertThat(CudaProbe.probe().reason()).isEqualTo(CudaProbe.probe().reason());
    }

    @Test
    @Tag("gpu")
    void shouldListEveryDeviceWhenADriverIsInstalled() {
        assumeTrue(driverLibraryLoads(), "no CUDA driver (libcuda.so.1) on this machine");

        CudaAvailability result = CudaProbe.probe();

        assertThat(result.available()).as(result.reason()).isTrue();
        assertThat(result.reason()).isEmpty();
        assertThat(result.deviceCount()).isPositive().isEqualTo(result.devices().size());
        for (DeviceInfo device : result.devices()) {
            assertThat(device.name()).isNotBlank();
            assertThat(device.totalMemoryBytes()).isGreaterThan(1L << 30);
            // CUDA 12 runs on compute capability 5.0 and newer only.
            assertThat(device.ccMajor()).isGreaterThanOrEqualTo(5);
            assertThat(device.ccMinor()).isNotNegative();
        }
    }

    @Test
    void shouldPickTheLoaderLineOutOfJCudasNestedLoadFailure() {
        UnsatisfiedLinkError original = new UnsatisfiedLinkError("""
                Error while loading native library "JCudaDriver-12.6.0-linux-x86_64"
                Stack trace from the attempt to load the library as a file:
                java.lang.UnsatisfiedLinkError: no JCudaDriver-12.6.0-linux-x86_64 in java.library.path: /usr/lib
                \tat java.base/java.lang.ClassLoader.loadLibrary(ClassLoader.java:2434)
                Stack trace from the attempt to load the library as a resource:
                java.lang.UnsatisfiedLinkError: /tmp/libJCudaDriver-12.6.0-linux-x86_64.so: libcuda.so.1: \
                cannot open shared object file: No such file or directory
                \tat java.base/jdk.internal.loader.NativeLibraries.load(Native Method)
                """);
        NoClassDefFoundError later = new NoClassDefFoundError("Could not initialize class jcuda.driver.JCudaDriver");
        later.initCause(new ExceptionInInitializerError("Exception " + original + " [in thread \"main\"]"));

        String expected = "/tmp/libJCudaDriver-12.6.0-linux-x86_64.so: libcuda.so.1: cannot open shared object file: No such file or directory";
        assertThat(CudaProbe.loadFailureDetail(original)).isEqualTo(expected);
        assertThat(CudaProbe.loadFailureDetail(later)).isEqualTo(expected);
    }

    @Test
    void shouldFallBackToTheFirstLineWhenNoLibraryIsNamed() {
        assertThat(CudaProbe.loadFailureDetail(new UnsatisfiedLinkError("symbol cuInit not found\nmore"))).isEqualTo("symbol cuInit not found");
        assertThat(CudaProbe.loadFailureDetail(new UnsatisfiedLinkError())).isEqualTo("java.lang.UnsatisfiedLinkError");
    }

    @Test
    void shouldRejectInconsistentResults() {
        DeviceInfo device = new DeviceInfo(0, "test device", 1L << 34, 9, 0);
        assertThatThrownBy(() -> new CudaAvailability(true, "", 2, List.of(device)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("deviceCount = 2 but 1 devices listed");
        assertThatThrownBy(() -> new CudaAvailability(true, "", 1, List.of(new DeviceInfo(1, "x", 1, 9, 0))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("device at index 0 has ordinal 1");
        assertThatThrownBy(() -> new CudaAvailability(false, " ", 0, List.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unavailable needs no devices and a reason");
        assertThatThrownBy(() -> new CudaAvailability(true, "why", 1, List.of(device)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("available needs at least one device and an empty reason");
        assertThatThrownBy(() -> new DeviceInfo(0, "x", -1, 9, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("totalMemoryBytes = -1");
    }
}
