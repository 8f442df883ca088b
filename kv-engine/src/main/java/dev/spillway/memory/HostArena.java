package dev.spillway.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * One contiguous off-heap region for a host tier, 4 KiB aligned, released on {@link #close}.
 *
 * <p>On Linux the region is an anonymous private {@code mmap}: the kernel commits pages on first
 * touch, so a 5 GiB tier costs resident memory only for the chunks it holds, and opening it takes
 * no time. {@link Arena#allocate} would zero, and so commit, the whole region up front. Where
 * {@code mmap} cannot be bound the arena falls back to {@link Arena#allocate}. When a GPU exists,
 * a later runtime supplies page-locked memory through the same type.
 *
 * <p>Thread-safe: the segment may be used by any thread until {@link #close}, which must happen
 * once, after every user is done.
 */
public final class HostArena implements HostRegion {

    /** Alignment of the region and of every slot cut from it. */
    public static final long ALIGNMENT = 4096;

    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final long MAP_FAILED = -1L;
    private static final Optional<MethodHandle> MMAP = bind("mmap", FunctionDescriptor.of(ValueLayout.ADDRESS,
            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_LONG));
    private static final Optional<MethodHandle> MUNMAP = bind("munmap", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));

    private final Arena arena;
    private final MemorySegment segment;

    private HostArena(Arena arena, MemorySegment segment) {
        this.arena = arena;
        this.segment = segment;
    }

    /**
     * Reserves {@code bytes} bytes of host memory.
     *
     * @throws IllegalArgumentException when {@code bytes < 1}
     * @throws OutOfMemoryError         when the operating system refuses the region
     */
    @SuppressWarnings("restricted") // mmap's result has no size until we give it one; the arena bounds its lifetime
    public static HostArena allocate(long bytes) {
        if (bytes < 1) {
            throw new IllegalArgumentException("host arena size=" + bytes + ": expected at least 1 byte");
        }
        // A shared arena owns the region either way, so that any access after close() fails with
        // IllegalStateException instead of touching unmapped memory.
        Arena arena = Arena.ofShared();
        if (MMAP.isEmpty() || MUNMAP.isEmpty()) {
            return new HostArena(arena, arena.allocate(bytes, ALIGNMENT));
        }
        MemorySegment address;
        try {
            address = (MemorySegment) MMAP.get().invokeExact(MemorySegment.NULL, bytes, PROT_READ_WRITE,
                    MAP_PRIVATE_ANONYMOUS, -1, 0L);
        } catch (Throwable t) {
            arena.close();
            throw new IllegalStateException("mmap of " + bytes + " bytes failed", t);
        }
        if (address.address() == MAP_FAILED) {
            arena.close();
            throw new OutOfMemoryError("mmap of " + bytes + " bytes for the host tier was refused");
        }
        return new HostArena(arena, address.reinterpret(bytes, arena, start -> unmap(start, bytes)));
    }

    /** Returns the whole region. */
    @Override
    public MemorySegment segment() {
        return segment;
    }

    /** Returns the region's size in bytes. */
    public long byteSize() {
        return segment.byteSize();
    }

    /** Returns the memory to the operating system; every slice of it is invalid afterwards. */
    @Override
    public void close() {
        arena.close();
    }

    private static void unmap(MemorySegment start, long bytes) {
        int rc;
        try {
            rc = (int) MUNMAP.orElseThrow().invokeExact(start, bytes);
        } catch (Throwable t) {
            throw new IllegalStateException("munmap of " + bytes + " bytes failed", t);
        }
        if (rc != 0) {
            throw new IllegalStateException("munmap of " + bytes + " bytes returned " + rc);
        }
    }

    @SuppressWarnings("restricted") // binds two libc calls whose signatures are fixed by POSIX
    private static Optional<MethodHandle> bind(String name, FunctionDescriptor descriptor) {
        Linker linker = Linker.nativeLinker();
        return linker.defaultLookup().find(name).map(symbol -> linker.downcallHandle(symbol, descriptor));
    }
}
