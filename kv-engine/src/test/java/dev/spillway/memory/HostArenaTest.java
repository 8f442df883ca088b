package dev.spillway.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

class HostArenaTest {

    @Test
    void shouldGiveAlignedZeroedMemoryThatCommitsOnTouch() {
        long size = 8L << 30;
        long rssBefore = residentBytes();
        try (HostArena arena = HostArena.allocate(size)) {
            assertThat(residentBytes() - rssBefore).as("an untouched arena is not resident").isLessThan(64L << 20);
            MemorySegment segment = arena.segment();
            assertThat(segment.byteSize()).isEqualTo(size);
            assertThat(segment.address() % HostArena.ALIGNMENT).isZero();
            assertThat(segment.get(ValueLayout.JAVA_LONG, size - 8)).isZero();
            segment.set(ValueLayout.JAVA_LONG, size - 8, 42L);
            assertThat(segment.get(ValueLayout.JAVA_LONG, size - 8)).isEqualTo(42L);
        }
    }

    private static long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new IllegalStateException("/proc/self/status has no VmRSS line");
    }

    @Test
    void shouldFailAccessAfterClose() {
        HostArena arena = HostArena.allocate(4096);
        MemorySegment segment = arena.segment();
        arena.close();
        assertThatThrownBy(() -> segment.get(ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void shouldRejectAnEmptyArena() {
        assertThatThrownBy(() -> HostArena.allocate(0)).hasMessage("host arena size=0: expected at least 1 byte");
    }
}
