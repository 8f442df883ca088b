package dev.spillway.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Optional;

/**
 * The compiled gather and scatter kernels ({@code src/main/cuda/kv_kernels.cu}) as the build
 * packaged them: a CUDA fatbin with SASS for sm_80, sm_86, sm_89 and sm_90 and PTX for
 * compute_90, ready for {@code cuModuleLoadData}. The build packages it only when nvcc was on its
 * PATH (docs/spec/kernels.md), so a jar built without the CUDA toolkit has none.
 */
public final class KernelBinary {

    /** The gather kernel's name in the fatbin, for {@code cuModuleGetFunction}. */
    public static final String GATHER_KERNEL = "spillway_gather";

    /** The scatter kernel's name in the fatbin, for {@code cuModuleGetFunction}. */
    public static final String SCATTER_KERNEL = "spillway_scatter";

    /** The classpath resource, beside this class, that build-fatbin.sh writes. */
    static final String RESOURCE = "kv_kernels.fatbin";

    private KernelBinary() {
    }

    /**
     * Reads the packaged fatbin. Every call reads the resource again; callers load it into a
     * module once.
     *
     * @return the fatbin's bytes, or empty when this build had no nvcc and packaged none
     * @throws UncheckedIOException when the resource exists but cannot be read
     */
    public static Optional<byte[]> fatbin() {
        try (InputStream in = KernelBinary.class.getResourceAsStream(RESOURCE)) {
            return in == null ? Optional.empty() : Optional.of(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the kernels' fatbin resource " + RESOURCE, e);
        }
    }
}
