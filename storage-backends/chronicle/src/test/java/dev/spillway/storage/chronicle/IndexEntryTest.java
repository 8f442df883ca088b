package dev.spillway.storage.chronicle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HexFormat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class IndexEntryTest {

    @Property
    void shouldReadBackWhatItWrites(@ForAll @LongRange(min = 0) long slabOffset, @ForAll @IntRange(min = 1) int length,
                                    @ForAll long checksum, @ForAll long lastAccessMillis) {
        IndexEntry entry = new IndexEntry(slabOffset, length, checksum, lastAccessMillis);

        assertThat(IndexEntry.fromBytes(entry.toBytes())).isEqualTo(entry);
    }

    @Test
    void shouldWriteTheDocumentedLittleEndianLayout() {
        IndexEntry entry = new IndexEntry(0x0102030405060708L, 0x11121314, 0x2122232425262728L, 0x3132333435363738L);

        assertThat(HexFormat.of().formatHex(entry.toBytes())).isEqualTo(
                "0807060504030201" + "14131211" + "2827262524232221" + "3837363534333231");
    }

    @Test
    void shouldNameABadOffsetOrLength() {
        assertThatThrownBy(() -> new IndexEntry(-1, 10, 0, 0))
                .hasMessage("IndexEntry.slabOffset=-1: expected >= 0");
        assertThatThrownBy(() -> new IndexEntry(0, 0, 0, 0))
                .hasMessage("IndexEntry.length=0: expected >= 1");
    }
}
