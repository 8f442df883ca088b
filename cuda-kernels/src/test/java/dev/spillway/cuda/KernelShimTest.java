package dev.spillway.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.gpu.KvKernels;
import dev.spillway.gpu.KvSliceLayout;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Runs the CUDA kernels of {@code src/main/cuda/kv_kernels.cu}, compiled for the CPU by g++ with
 * {@code src/test/cuda/cpu_shim.h}, on random test vectors and requires every byte they leave to
 * equal what the Java CPU reference {@link KvKernels} leaves. A second build with
 * {@code -DSPILLWAY_SHIM_WRONG_INDEX} (V rows one row early) must disagree, which shows that the
 * comparison can fail.
 *
 * <p>The harness (src/test/cuda/kernel_harness.cpp) documents the vector file this test writes.
 * Both harnesses are built with AddressSanitizer, so a kernel that touches a byte outside the
 * paged layer or the slices fails the run even where the bytes it compares happen to agree.
 */
class KernelShimTest {

    private static final Path SOURCES = Path.of("src", "test", "cuda");
    private static final Path WORK = Path.of("target", "kernel-shim");

    /** Fixed, so that a failure names a vector that fails again on the next run. */
    private static final long SEED = 0x5B111A7_0C0FFEEL;
    private static final int VECTORS_PER_KERNEL = 40;

    /** What a destination holds before the launch: bytes a kernel leaves alone must still hold it. */
    private static final byte POISON = (byte) 0xA5;

    private static final int HEADER_BYTES = 88;
    private static final int UNIT_BYTES = 16;
    private static final int THREADS_PER_BLOCK = 128;
    private static final long MAX_GRID_X = Integer.MAX_VALUE;
    private static final long MAX_GRID_Y = 65_535;

    private static Path harness;
    private static Path wrongIndexHarness;

    /** Which kernel a vector launches, numbered as the vector file's kernel field. */
    enum Kernel { GATHER, SCATTER }

    /**
     * One launch: the layout, the slot mapping, where the buffers sit relative to 16-byte
     * boundaries, the geometry, and both buffers before the launch.
     */
    record Vector(int index, Kernel kernel, KvSliceLayout layout, int[] slots, int pagedMisalign, int slicesMisalign,
                  int gridX, int gridY, int blockX, int blockY, byte[] paged, byte[] slices) {

        long numSlots() {
            return layout.planeBytes() / layout.rowBytes();
        }

        boolean mapped(int token) {
            return slots[token] >= 0 && slots[token] < numSlots();
        }

        /** True when the kernel takes the 16-byte path: buffers, rows, planes and strides all aligned. */
        boolean vectorPath() {
            return (pagedMisalign | slicesMisalign | layout.rowBytes() | layout.planeBytes() | layout.chunkStride()) % UNIT_BYTES == 0;
        }

        long rowSpans() {
            return Math.ceilDiv(layout.rowBytes(), (long) UNIT_BYTES * blockX);
        }

        String describe() {
            return kernel + " vector #" + index + " (seed " + Long.toHexString(SEED) + "): " + layout
                    + ", misalign paged " + pagedMisalign + " slices " + slicesMisalign
                    + ", grid " + gridX + "x" + gridY + ", block " + blockX + "x" + blockY
                    + ", slots " + Arrays.toString(slots);
        }
    }

    @BeforeAll
    static void compileHarnesses() throws IOException, InterruptedException {
        Path gxx = OnPath.find("g++").orElseThrow(() -> new AssertionError(
                "g++ not found on the PATH, and the kernels' CPU shim tests need it: run scripts/test.sh, which installs it"));
        Files.createDirectories(WORK);
        // Both compilations at once: they are most of this test's time.
        Process right = compile(gxx, WORK.resolve("kernel_harness"));
        Process wrong = compile(gxx, WORK.resolve("kernel_harness_wrong_index"), "-DSPILLWAY_SHIM_WRONG_INDEX");
        harness = finish(right, WORK.resolve("kernel_harness"));
        wrongIndexHarness = finish(wrong, WORK.resolve("kernel_harness_wrong_index"));
    }

    @Test
    void shouldGatherExactlyLikeTheCpuReference() throws Exception {
        for (Vector vector : vectors(Kernel.GATHER, SEED, false)) {
            assertThat(firstDifference(vector, expected(vector), run(harness, vector))).as(vector.describe()).isEmpty();
        }
    }

    @Test
    void shouldScatterExactlyLikeTheCpuReference() throws Exception {
        for (Vector vector : vectors(Kernel.SCATTER, SEED + 1, false)) {
            assertThat(firstDifference(vector, expected(vector), run(harness, vector))).as(vector.describe()).isEmpty();
        }
    }

    @Test
    void shouldCatchAVRowThatIsOffByOne() throws Exception {
        // Every token mapped and rows of 16 bytes or more: the wrong build then leaves a V row of
        // every chunk poisoned (gather) or writes a K row over a V row (scatter), and random rows
        // equal the poison or each other with probability 2^-128 at most.
        for (Kernel kernel : Kernel.values()) {
            for (Vector vector : vectors(kernel, SEED + 2 + kernel.ordinal(), true)) {
                assertThat(firstDifference(vector, expected(vector), run(wrongIndexHarness, vector)))
                        .as("the wrong-index build must disagree on " + vector.describe()).isPresent();
            }
        }
    }

    @Test
    void shouldDrawVectorsThatReachEveryPath() {
        List<Vector> all = new ArrayList<>(vectors(Kernel.GATHER, SEED, false));
        all.addAll(vectors(Kernel.SCATTER, SEED + 1, false));
        for (Kernel kernel : Kernel.values()) {
            assertReached(all, "16-byte copies, " + kernel, v -> v.kernel() == kernel && v.vectorPath());
            assertReached(all, "byte copies, " + kernel, v -> v.kernel() == kernel && !v.vectorPath());
        }
        assertReached(all, "row bytes not a multiple of 16", v -> v.layout().rowBytes() % UNIT_BYTES != 0);
        assertReached(all, "a misaligned buffer with aligned rows",
                v -> v.layout().rowBytes() % UNIT_BYTES == 0 && (v.pagedMisalign() | v.slicesMisalign()) != 0);
        assertReached(all, "a partial last chunk", v -> v.layout().numTokens() % v.layout().chunkTokens() != 0);
        assertReached(all, "only full chunks", v -> v.layout().numTokens() % v.layout().chunkTokens() == 0);
        assertReached(all, "padding between chunks", v -> v.layout().chunkStride() > 2L * v.layout().chunkTokens() * v.layout().rowBytes());
        assertReached(all, "a negative slot", v -> Arrays.stream(v.slots()).anyMatch(s -> s < 0));
        assertReached(all, "a slot past the layer", v -> Arrays.stream(v.slots()).anyMatch(s -> s >= v.numSlots()));
        assertReached(all, "a grid smaller than the tokens", v -> (long) v.gridX() * v.blockY() < v.layout().numTokens());
        assertReached(all, "a grid smaller than the row spans", v -> v.gridY() < v.rowSpans());
        assertReached(all, "several row spans", v -> v.rowSpans() > 1);
        assertReached(all, "several tokens per block", v -> v.blockY() > 1);
    }

    private static void assertReached(List<Vector> vectors, String path, Predicate<Vector> reaches) {
        assertThat(vectors.stream().anyMatch(reaches)).as("some vector reaches: " + path).isTrue();
    }

    private static Process compile(Path gxx, Path output, String... defines) throws IOException {
        List<String> command = new ArrayList<>(List.of(gxx.toString(), "-O1", "-std=c++17", "-Wall", "-Wextra", "-Werror",
                "-fsanitize=address,undefined", "-fno-sanitize-recover=all"));
        command.addAll(List.of(defines));
        command.addAll(List.of("-o", output.toString(), SOURCES.resolve("kernel_harness.cpp").toString()));
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    private static Path finish(Process compiler, Path output) throws IOException, InterruptedException {
        String messages = new String(compiler.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(compiler.waitFor()).as("g++ building " + output + ":\n" + messages).isZero();
        return output;
    }

    /** Draws the vectors for one kernel; {@code everyTokenMapped} also keeps rows at 16 bytes or more. */
    private static List<Vector> vectors(Kernel kernel, long seed, boolean everyTokenMapped) {
        Random random = new Random(seed);
        return IntStream.range(0, VECTORS_PER_KERNEL).mapToObj(i -> vector(i, kernel, random, everyTokenMapped)).toList();
    }

    private static Vector vector(int index, Kernel kernel, Random random, boolean everyTokenMapped) {
        int chunkTokens = 1 + random.nextInt(24);
        int numTokens = random.nextInt(4) == 0
                ? chunkTokens * (1 + random.nextInt(4))
                : 1 + random.nextInt(4 * chunkTokens);
        int rowBytes = random.nextBoolean()
                ? UNIT_BYTES * (1 + random.nextInt(160))
                : (everyTokenMapped ? UNIT_BYTES : 1) + random.nextInt(300);
        int slotsInLayer = numTokens + random.nextInt(numTokens + 8);
        // Bytes past the K plane's last row: any amount is legal, and an odd one misaligns the V plane.
        long planeBytes = (long) slotsInLayer * rowBytes + (random.nextInt(3) == 0 ? random.nextInt(40) : 0);
        long chunkStride = 2L * chunkTokens * rowBytes + switch (random.nextInt(3)) {
            case 0 -> 0;
            case 1 -> (long) UNIT_BYTES * random.nextInt(4);
            default -> random.nextInt(40);
        };
        KvSliceLayout layout = new KvSliceLayout(numTokens, chunkTokens, rowBytes, planeBytes, chunkStride);
        int numSlots = Math.toIntExact(planeBytes / rowBytes);

        // Distinct slots, as vLLM's slot mappings are: tokens that scatter to one slot would race on a GPU.
        List<Integer> free = new ArrayList<>(IntStream.range(0, numSlots).boxed().toList());
        Collections.shuffle(free, random);
        int[] slots = new int[numTokens];
        for (int i = 0; i < numTokens; i++) {
            int draw = everyTokenMapped ? Integer.MAX_VALUE : random.nextInt(20);
            slots[i] = draw < 3 ? negativeSlot(random) : draw == 3 ? slotPastTheLayer(random, numSlots) : free.get(i);
        }

        int pagedMisalign = random.nextInt(4) == 0 ? 1 + random.nextInt(UNIT_BYTES - 1) : 0;
        int slicesMisalign = random.nextInt(4) == 0 ? 1 + random.nextInt(UNIT_BYTES - 1) : 0;

        long units = Math.ceilDiv(rowBytes, UNIT_BYTES);
        int blockX;
        int blockY;
        long gridX;
        long gridY;
        if (random.nextBoolean()) {
            // docs/spec/kernels.md's geometry, as the JCuda runtime computes it.
            blockX = (int) Math.min(THREADS_PER_BLOCK, units == 1 ? 1 : Long.highestOneBit(units - 1) << 1);
            blockY = THREADS_PER_BLOCK / blockX;
            gridX = Math.min(Math.ceilDiv(numTokens, blockY), MAX_GRID_X);
            gridY = Math.min(Math.ceilDiv(units, blockX), MAX_GRID_Y);
        } else {
            // Any geometry must work: grids smaller than the work make the kernel's loops stride.
            blockX = 1 + random.nextInt(64);
            blockY = 1 + random.nextInt(4);
            gridX = 1 + random.nextInt(Math.toIntExact(Math.ceilDiv(numTokens, blockY)) + 1);
            gridY = 1 + random.nextInt(Math.toIntExact(Math.ceilDiv(units, blockX)) + 1);
        }

        byte[] paged = new byte[Math.toIntExact(layout.pagedBytes())];
        byte[] slices = new byte[Math.toIntExact(layout.slicesBytes())];
        random.nextBytes(kernel == Kernel.GATHER ? paged : slices);
        Arrays.fill(kernel == Kernel.GATHER ? slices : paged, POISON);
        return new Vector(index, kernel, layout, slots, pagedMisalign, slicesMisalign, (int) gridX, (int) gridY, blockX,
                blockY, paged, slices);
    }

    private static int negativeSlot(Random random) {
        return switch (random.nextInt(3)) {
            case 0 -> -1;
            case 1 -> Integer.MIN_VALUE;
            default -> -2 - random.nextInt(1000);
        };
    }

    private static int slotPastTheLayer(Random random, int numSlots) {
        return random.nextBoolean() ? Integer.MAX_VALUE : numSlots + random.nextInt(10);
    }

    /**
     * Returns the paged layer and the slices, concatenated, as the CPU reference leaves them. The
     * reference throws on a slot past the layer, where the kernels skip it: such a slot is given
     * to the reference as -1, which states the kernels' documented behaviour.
     */
    private static byte[] expected(Vector vector) {
        byte[] paged = vector.paged().clone();
        byte[] slices = vector.slices().clone();
        ByteBuffer mapping = ByteBuffer.allocate(4 * vector.slots().length).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < vector.slots().length; i++) {
            mapping.putInt(vector.mapped(i) ? vector.slots()[i] : -1);
        }
        MemorySegment slotMapping = MemorySegment.ofArray(mapping.array());
        if (vector.kernel() == Kernel.GATHER) {
            KvKernels.gather(MemorySegment.ofArray(paged), slotMapping, vector.layout(), MemorySegment.ofArray(slices), 0);
        } else {
            KvKernels.scatter(MemorySegment.ofArray(slices), 0, slotMapping, vector.layout(), MemorySegment.ofArray(paged));
        }
        return concat(paged, slices);
    }

    /** Writes the vector file, runs {@code program} on it and returns the paged layer and the slices it wrote. */
    private static byte[] run(Path program, Vector vector) throws IOException, InterruptedException {
        KvSliceLayout layout = vector.layout();
        ByteBuffer file = ByteBuffer.allocate(HEADER_BYTES + 4 * vector.slots().length + vector.paged().length
                + vector.slices().length).order(ByteOrder.LITTLE_ENDIAN);
        file.put("SPKV".getBytes(StandardCharsets.US_ASCII)).putInt(vector.kernel().ordinal())
                .putLong(layout.numTokens()).putLong(layout.chunkTokens()).putLong(layout.rowBytes())
                .putLong(layout.planeBytes()).putLong(layout.chunkStride())
                .putLong(vector.paged().length).putLong(vector.slices().length)
                .putInt(vector.pagedMisalign()).putInt(vector.slicesMisalign())
                .putInt(vector.gridX()).putInt(vector.gridY()).putInt(vector.blockX()).putInt(vector.blockY());
        for (int slot : vector.slots()) {
            file.putInt(slot);
        }
        file.put(vector.paged()).put(vector.slices());
        Path in = WORK.resolve(vector.kernel() + "-" + vector.index() + ".in");
        Path out = WORK.resolve(vector.kernel() + "-" + vector.index() + ".out");
        Files.write(in, file.array());
        Files.deleteIfExists(out);

        ProcessBuilder builder = new ProcessBuilder(program.toString(), in.toString(), out.toString()).redirectErrorStream(true);
        // LeakSanitizer needs ptrace, which containers often deny; the harness frees what it allocates anyway.
        builder.environment().put("ASAN_OPTIONS", "detect_leaks=0");
        Process process = builder.start();
        String messages = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("harness finished on " + vector.describe()).isTrue();
        assertThat(process.exitValue()).as(program.getFileName() + " on " + vector.describe() + ":\n" + messages).isZero();
        return Files.readAllBytes(out);
    }

    /** Names the first byte where the kernel's output differs from the reference's, if any. */
    private static Optional<String> firstDifference(Vector vector, byte[] expected, byte[] actual) {
        if (actual.length != expected.length) {
            return Optional.of("output of " + actual.length + " bytes, expected " + expected.length);
        }
        int at = Arrays.mismatch(expected, actual);
        if (at < 0) {
            return Optional.empty();
        }
        int pagedBytes = vector.paged().length;
        String where = at < pagedBytes ? "paged[" + at + "]" : "slices[" + (at - pagedBytes) + "]";
        return Optional.of(where + ": the reference left " + String.format("0x%02x", expected[at])
                + ", the kernel " + String.format("0x%02x", actual[at]));
    }

    private static byte[] concat(byte[] first, byte[] second) {
        byte[] both = Arrays.copyOf(first, first.length + second.length);
        System.arraycopy(second, 0, both, first.length, second.length);
        return both;
    }
}
