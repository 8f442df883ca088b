package dev.spillway.storage.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.redisson.client.codec.ByteArrayCodec;
import org.redisson.client.protocol.CommandData;
import org.redisson.client.protocol.CommandsData;
import org.redisson.client.protocol.RedisCommands;

/**
 * When a put's block is the caller's again: {@link BulkValueWriter} frames {@code SET}s (alone and
 * in a batch) with their {@link LentBlock}s by reference on a channel whose outbound buffer is not
 * flushed, the way a stalled connection holds a write, and the tests follow the block's
 * {@link LentBlock#returned()} as Redisson's reference and the frame's go.
 */
class LentBlockTest {

    private final Arena arena = Arena.ofShared();
    private final EmbeddedChannel channel = new EmbeddedChannel(BulkValueWriter.INSTANCE);

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
        arena.close();
    }

    @Test
    void shouldFrameTheSetWithTheCallersBytesByReference() {
        MemorySegment block = arena.allocate(5).copyFrom(MemorySegment.ofArray("hello".getBytes(StandardCharsets.US_ASCII)));
        LentBlock lent = new LentBlock(block);
        channel.writeAndFlush(set("k", lent));

        ByteBuf frame = channel.readOutbound();
        try {
            assertThat(frame.toString(StandardCharsets.US_ASCII))
                    .isEqualTo("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n");
        } finally {
            frame.release();
        }
        lent.release();
        assertThat(lent.returned()).isDone();
    }

    @Test
    void shouldKeepTheBlockUntilBothTheCommandAndTheWriteHaveLetGo() {
        LentBlock lent = new LentBlock(arena.allocate(1024));
        ChannelFuture write = channel.write(set("k", lent));

        lent.release();
        assertThat(lent.returned()).as("the frame still waits in the outbound buffer").isNotDone();
        lent.recall();
        assertThat(write.isDone() && !write.isSuccess()).as("closing the channel failed the pending write").isTrue();
        assertThat(lent.returned()).isDone();
        assertThat(channel.isOpen()).isFalse();
    }

    @Test
    void shouldLeaveTheChannelOpenWhenTheWriteWasOverBeforeTheRecall() {
        LentBlock lent = new LentBlock(arena.allocate(1024));
        channel.writeAndFlush(set("k", lent));
        ((ByteBuf) channel.readOutbound()).release();

        lent.recall();
        lent.release();
        assertThat(channel.isOpen()).isTrue();
        assertThat(lent.returned()).isDone();
    }

    @Test
    void shouldNeverSendABlockRecalledBeforeItWasFramed() {
        LentBlock lent = new LentBlock(arena.allocate(1024));
        lent.recall();
        CommandData<Void, Void> command = set("k", lent);
        ChannelFuture write = channel.writeAndFlush(command);

        assertThat(write.isSuccess()).isFalse();
        assertThat(command.getPromise()).isCompletedExceptionally();
        Object sent = channel.readOutbound();
        assertThat(sent).isNull();
        lent.release();
        assertThat(lent.returned()).isDone();
    }

    @Test
    void shouldFrameABatchOfSetsAndReturnEveryBlockOnceItsWriteIsOver() {
        LentBlock first = new LentBlock(arena.allocate(3).fill((byte) 'a'));
        LentBlock second = new LentBlock(arena.allocate(2).fill((byte) 'b'));
        CommandsData batch = new CommandsData(new CompletableFuture<>(), List.<CommandData<?, ?>>of(set("k1", first), set("k2", second)),
                false, false);
        channel.writeAndFlush(batch);

        ByteBuf frame = channel.readOutbound();
        try {
            assertThat(frame.toString(StandardCharsets.US_ASCII)).isEqualTo(
                    "*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$3\r\naaa\r\n*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$2\r\nbb\r\n");
        } finally {
            frame.release();
        }
        first.release();
        second.release();
        assertThat(first.returned()).isDone();
        assertThat(second.returned()).isDone();
    }

    private static CommandData<Void, Void> set(String key, LentBlock block) {
        return new CommandData<>(new CompletableFuture<>(), ByteArrayCodec.INSTANCE, RedisCommands.SET,
                new Object[] {key.getBytes(StandardCharsets.US_ASCII), block});
    }
}
