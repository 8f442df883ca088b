package dev.spillway.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class KernelBinaryTest {

    /**
     * The first four bytes of a fatbin, read little-endian: bytes {@code 50 ED 55 BA}. This is
     * {@code FATBIN_MAGIC} of NVIDIA's fatbinary.h (older toolkits; CUDA 13 no longer ships that
     * header, and {@code 0x466243B1} in its fatbinary_section.h is the host wrapper's magic, not
     * the file's), and what CUDA 13.0's {@code nvcc --fatbin} writes.
     */
    private static final int FATBIN_MAGIC = 0xBA55ED50;

    /** Whether nvcc is on the PATH now; Maven runs the tests with the PATH it ran build-fatbin.sh with. */
    private static boolean nvccOnPath() {
        return OnPath.find("nvcc").isPresent();
    }

    @Test
    void shouldPackageTheFatbinForEverySupportedArchitectureWhenNvccIsOnThePath() {
        assumeTrue(nvccOnPath(), "nvcc is not on the PATH, so the build packaged no fatbin");

        byte[] fatbin = KernelBinary.fatbin().orElseThrow(() -> new AssertionError(
                "nvcc is on the PATH but no " + KernelBinary.RESOURCE + " resource was packaged"));

        assertThat(ByteBuffer.wrap(fatbin).order(ByteOrder.LITTLE_ENDIAN).getInt(0)).as("magic").isEqualTo(FATBIN_MAGIC);
        assertThat(entries(fatbin)).containsExactlyInAnyOrder("ELF sm_80", "ELF sm_86", "ELF sm_89", "ELF sm_90", "PTX sm_90");
        // The SASS images are stored uncompressed, and their symbol tables name both entry points.
        assertThat(new String(fatbin, StandardCharsets.ISO_8859_1))
                .contains(KernelBinary.GATHER_KERNEL, KernelBinary.SCATTER_KERNEL);
    }

    @Test
    void shouldPackageNoFatbinWithoutNvcc() {
        assumeFalse(nvccOnPath(), "nvcc is on the PATH, so the build packaged a fatbin");

        assertThat(KernelBinary.fatbin()).isEmpty();
    }

    /**
     * Lists a fatbin's images as "ELF sm_NN" or "PTX sm_NN". NVIDIA does not document the layout
     * past the magic; this is how tools that replace cuobjdump read it, and it matches what CUDA
     * 13.0 writes (all fields little-endian):
     *
     * <pre>
     * file header:   0 u32 magic | 4 u16 version | 6 u16 header size | 8 u64 bytes of the images after it
     * image header:  0 u16 kind (1 = PTX, 2 = ELF) | 2 u16 | 4 u32 header size | 8 u64 payload size
     *                | 16 .. 27 | 28 u32 architecture (80 = sm_80) | ...; the payload follows the header
     * </pre>
     */
    private static List<String> entries(byte[] fatbin) {
        ByteBuffer in = ByteBuffer.wrap(fatbin).order(ByteOrder.LITTLE_ENDIAN);
        int headerSize = Short.toUnsignedInt(in.getShort(6));
        long end = headerSize + in.getLong(8);
        assertThat(end).as("fatbin size in its header").isEqualTo(fatbin.length);
        List<String> entries = new ArrayList<>();
        for (long at = headerSize; at < end; ) {
            int kind = Short.toUnsignedInt(in.getShort((int) at));
            long entryHeaderSize = Integer.toUnsignedLong(in.getInt((int) at + 4));
            long payloadSize = in.getLong((int) at + 8);
            int architecture = in.getInt((int) at + 28);
            entries.add((kind == 1 ? "PTX" : kind == 2 ? "ELF" : "kind " + kind) + " sm_" + architecture);
            at += entryHeaderSize + payloadSize;
        }
        return entries;
    }
}
