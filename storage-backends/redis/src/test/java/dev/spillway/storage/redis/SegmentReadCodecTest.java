package dev.spillway.storage.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import dev.spillway.storage.StorageBackend;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The GET codec's copy window, without Redis: it writes the destination only while open. */
class SegmentReadCodecTest {

    private final Arena arena = Arena.ofShared();

    @AfterEach
    void free() {
        arena.close();
    }

    @Test
    void shouldCopyAReplyThatFitsAndConsumeIt() {
        MemorySegment destination = arena.allocate(8).fill((byte) 0x77);
        SegmentReadCodec codec = new SegmentReadCodec(destination);
        ByteBuf reply = Unpooled.wrappedBuffer(new byte[] {1, 2, 3, 4, 5});

        assertThat(codec.land(reply)).isEqualTo(5);

        assertThat(reply.readableBytes()).isZero();
        assertThat(destination.toArray(ValueLayout.JAVA_BYTE))
                .containsExactly(1, 2, 3, 4, 5, 0x77, 0x77, 0x77);
        assertThat(reply.release()).isTrue();
    }

    @Test
    void shouldLeaveTheDestinationAloneWhenTheReplyDoesNotFit() {
        MemorySegment destination = arena.allocate(4).fill((byte) 0x77);
        ByteBuf reply = Unpooled.wrappedBuffer(new byte[] {1, 2, 3, 4, 5});

        assertThat(new SegmentReadCodec(destination).land(reply)).isEqualTo(StorageBackend.MISSING);

        assertThat(reply.readableBytes()).isZero();
        assertThat(destination.toArray(ValueLayout.JAVA_BYTE)).containsOnly(0x77);
        reply.release();
    }

    @Test
    void shouldDropAReplyThatArrivesAfterTheCallClosedIt() {
        MemorySegment destination = arena.allocate(8).fill((byte) 0x77);
        SegmentReadCodec codec = new SegmentReadCodec(destination);
        codec.close();
        ByteBuf reply = Unpooled.wrappedBuffer(new byte[] {1, 2, 3});

        assertThat(codec.land(reply)).isEqualTo(StorageBackend.MISSING);

        assertThat(reply.readableBytes()).isZero();
        assertThat(destination.toArray(ValueLayout.JAVA_BYTE)).containsOnly(0x77);
        reply.release();
    }

    @Test
    void shouldCopyIntoAHeapDestinationThatNettyCannotView() {
        MemorySegment destination = MemorySegment.ofArray(new long[1]);
        ByteBuf reply = Unpooled.wrappedBuffer(new byte[] {1, 2, 3, 4, 5, 6, 7, 8});

        assertThat(new SegmentReadCodec(destination).land(reply)).isEqualTo(8);

        assertThat(destination.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(
                ByteOrder.LITTLE_ENDIAN), 0)).isEqualTo(0x0807060504030201L);
        reply.release();
    }
}
