package dev.spillway.cuda;

import java.util.List;
import java.util.Objects;

/**
 * What {@link CudaProbe#probe()} found: whether Spillway can use CUDA in this process and, if not,
 * why not.
 *
 * <p>Guarantees, checked on construction: {@code devices} is immutable and has
 * {@code deviceCount} entries, listed by ordinal; when {@code available} is true there is at least
 * one device and {@code reason} is empty; when it is false there are no devices and {@code reason}
 * is a non-blank sentence a person can act on.
 *
 * @param available   true when the CUDA runtime and driver APIs both work and see a device
 * @param reason      why CUDA cannot be used, naming the failing call and its error or the missing
 *                    library; empty when available
 * @param deviceCount the number of devices CUDA reports; 0 when unavailable
 * @param devices     one entry per device, ordinal {@code i} at index {@code i}
 */
public record CudaAvailability(boolean available, String reason, int deviceCount, List<DeviceInfo> devices) {

    /**
     * One CUDA device as {@code cudaGetDeviceProperties} describes it.
     *
     * @param ordinal          the device's index, as {@code cudaSetDevice} takes it
     * @param name             the marketing name, for example {@code NVIDIA H100 80GB HBM3}
     * @param totalMemoryBytes global memory in bytes
     * @param ccMajor          compute capability, major part (9 for sm_90)
     * @param ccMinor          compute capability, minor part (0 for sm_90)
     */
    public record DeviceInfo(int ordinal, String name, long totalMemoryBytes, int ccMajor, int ccMinor) {

        /** Checks that the description is complete. */
        public DeviceInfo {
            Objects.requireNonNull(name, "name");
            if (ordinal < 0 || totalMemoryBytes < 0 || ccMajor < 0 || ccMinor < 0) {
                throw new IllegalArgumentException("device fields must not be negative: ordinal = " + ordinal
                        + ", totalMemoryBytes = " + totalMemoryBytes + ", compute capability " + ccMajor + "." + ccMinor);
            }
        }
    }

    /** Checks the invariants listed on the type and makes {@code devices} immutable. */
    public CudaAvailability {
        Objects.requireNonNull(reason, "reason");
        devices = List.copyOf(devices);
        if (devices.size() != deviceCount) {
            throw new IllegalArgumentException("deviceCount = " + deviceCount + " but " + devices.size() + " devices listed");
        }
        for (int i = 0; i < devices.size(); i++) {
            if (devices.get(i).ordinal() != i) {
                throw new IllegalArgumentException("device at index " + i + " has ordinal " + devices.get(i).ordinal());
            }
        }
        if (available && (deviceCount == 0 || !reason.isEmpty())) {
            throw new IllegalArgumentException("available needs at least one device and an empty reason, got deviceCount = "
                    + deviceCount + ", reason '" + reason + "'");
        }
        if (!available && (deviceCount != 0 || reason.isBlank())) {
            throw new IllegalArgumentException("unavailable needs no devices and a reason, got deviceCount = "
                    + deviceCount + ", reason '" + reason + "'");
        }
    }

    /** Returns the result for a process that cannot use CUDA, for the given reason. */
    static CudaAvailability unavailable(String reason) {
        return new CudaAvailability(false, reason, 0, List.of());
    }
}
