package dev.spillway.storage.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.redisson.client.codec.ByteArrayCodec;
import org.redisson.client.codec.Codec;
import org.redisson.client.handler.CommandsQueue;
import org.redisson.client.protocol.CommandData;
import org.redisson.client.protocol.QueueCommandHolder;
import org.redisson.client.protocol.RedisCommand;
import org.redisson.client.protocol.RedisCommands;

/**
 * {@link BulkReplyReader} on byte streams cut into reads at arbitrary points: what reaches the
 * decoder (the cumulation it returns, read after each cut) and what lands in the destination.
 */
class BulkReplyReaderTest {

    private static final int BLOCK = BulkReplyReader.MIN_STREAMED_BYTES + 1000;

    private final Arena arena = Arena.ofShared();
    private final EmbeddedChannel channel = new EmbeddedChannel();
    private final Deque<QueueCommandHolder> queue = new ArrayDeque<>();

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
        arena.close();
    }

    /**
     * Once as reads into Netty's buffers, once as a socket with the reader's receive allocator
     * ({@code lending}), which reads into the destination itself after the read with the length line.
     */
    @Property(tries = 80)
    void shouldLandALargeGetReplyAndHandTheDecoderItsLengthAndWhatFollows(
            @ForAll @IntRange(min = 1, max = 9) int cuts, @ForAll long seed, @ForAll boolean lending) {
        byte[] block = random(BLOCK, seed);
        MemorySegment destination = arena.allocate(BLOCK + 10).fill((byte) 0x77);
        awaiting(RedisCommands.GET, new SegmentReadCodec(destination));
        byte[] stream = concat(bulk(block), ascii("+OK\r\n"));
        int[] lentReads = new int[1];

        String decoded = lending ? feedLending(stream, cuts, seed, lentReads) : feed(stream, cuts, seed);

        assertThat(decoded).isEqualTo(":" + BLOCK + "\r\n+OK\r\n");
        assertThat(destination.asSlice(0, BLOCK).mismatch(MemorySegment.ofArray(block))).isEqualTo(-1);
        assertThat(destination.asSlice(BLOCK).mismatch(arena.allocate(10).fill((byte) 0x77))).isEqualTo(-1);
        // A read that ends inside the block leaves the rest to be lent.
        int bodyStart = ("$" + BLOCK + "\r\n").length();
        boolean cutInsideBlock = Arrays.stream(cutPoints(stream, cuts, seed))
                .anyMatch(point -> point > bodyStart && point < bodyStart + BLOCK);
        assertThat(lentReads[0] > 0).isEqualTo(lending && cutInsideBlock);
    }

    @Test
    void shouldLendNothingBehindTlsOrForAHeapOrConfinedDestination() {
        awaiting(RedisCommands.GET, new SegmentReadCodec(arena.allocate(BLOCK)));
        int[] lentReads = new int[1];
        BulkReplyReader behindTls = new BulkReplyReader(channel, false);
        behindTls.cumulate(ByteBufAllocator.DEFAULT, Unpooled.EMPTY_BUFFER,
                Unpooled.wrappedBuffer(concat(ascii("$" + BLOCK + "\r\n"), new byte[100]))).release();
        assertThat(behindTls.lend()).isNull();

        byte[] heap = new byte[BLOCK];
        awaiting(RedisCommands.GET, new SegmentReadCodec(MemorySegment.ofArray(heap)));
        byte[] block = random(BLOCK, 8);
        assertThat(feedLending(bulk(block), 4, 8, lentReads)).isEqualTo(":" + BLOCK + "\r\n");
        assertThat(lentReads[0]).isZero();
        assertThat(heap).isEqualTo(block);

        // A segment confined to this thread cannot be read into from an event loop.
        try (Arena confined = Arena.ofConfined()) {
            SegmentReadCodec codec = new SegmentReadCodec(confined.allocate(BLOCK));
            CompletableFuture<ByteBuf> elsewhere = CompletableFuture.supplyAsync(() -> codec.lend(0, BLOCK));
            assertThat(elsewhere.join()).isNull();
        }
    }

    @Test
    void shouldHoldOffTheEndOfACallWhileItsDestinationIsLentToARead() throws InterruptedException {
        MemorySegment destination = arena.allocate(BLOCK).fill((byte) 0x77);
        SegmentReadCodec codec = new SegmentReadCodec(destination);
        awaiting(RedisCommands.GET, codec);
        BulkReplyReader reader = new BulkReplyReader(channel, true);
        reader.cumulate(ByteBufAllocator.DEFAULT, Unpooled.EMPTY_BUFFER,
                Unpooled.wrappedBuffer(concat(ascii("$" + BLOCK + "\r\n"), new byte[100]))).release();
        ByteBuf read = reader.lend();
        assertThat(read.writableBytes()).isEqualTo(BLOCK - 100);

        Thread closer = new Thread(codec::close);
        closer.start();
        closer.join(200);
        assertThat(closer.isAlive()).as("close() returned while a read could still write the destination").isTrue();
        read.writeBytes(new byte[100]);
        reader.cumulate(ByteBufAllocator.DEFAULT, Unpooled.EMPTY_BUFFER, read).release();
        closer.join();

        // The call is over: the rest is dropped, and the reply still ends as one integer.
        assertThat(reader.lend()).isNull();
        ByteBuf rest = reader.cumulate(ByteBufAllocator.DEFAULT, Unpooled.EMPTY_BUFFER,
                Unpooled.wrappedBuffer(concat(new byte[BLOCK - 200], ascii("\r\n"))));
        try {
            assertThat(rest.toString(StandardCharsets.ISO_8859_1)).isEqualTo(":" + BLOCK + "\r\n");
        } finally {
            rest.release();
        }
        assertThat(destination.asSlice(200).mismatch(arena.allocate(BLOCK - 200).fill((byte) 0x77))).isEqualTo(-1);
    }

    @Property(tries = 20)
    void shouldSkipABlockThatDoesNotFitAndSayMissing(@ForAll @IntRange(min = 1, max = 9) int cuts, @ForAll long seed) {
        MemorySegment destination = arena.allocate(BLOCK - 1).fill((byte) 0x77);
        awaiting(RedisCommands.GET, new SegmentReadCodec(destination));

        assertThat(feed(bulk(random(BLOCK, seed)), cuts, seed)).isEqualTo(":-1\r\n");
        assertThat(destination.mismatch(arena.allocate(BLOCK - 1).fill((byte) 0x77))).isEqualTo(-1);
    }

    @Test
    void shouldNotWriteTheDestinationOfACallThatIsOver() {
        MemorySegment destination = arena.allocate(BLOCK).fill((byte) 0x77);
        SegmentReadCodec codec = new SegmentReadCodec(destination);
        awaiting(RedisCommands.GET, codec);
        codec.close();

        assertThat(feed(bulk(random(BLOCK, 1)), 3, 1)).isEqualTo(":" + BLOCK + "\r\n");
        assertThat(destination.mismatch(arena.allocate(BLOCK).fill((byte) 0x77))).isEqualTo(-1);
    }

    @Test
    void shouldLeaveEveryOtherReplyToTheDecoder() {
        byte[] block = random(BLOCK, 2);
        byte[] small = random(BulkReplyReader.MIN_STREAMED_BYTES - 1, 3);
        MemorySegment destination = arena.allocate(BLOCK).fill((byte) 0x77);
        SegmentReadCodec codec = new SegmentReadCodec(destination);

        // Small blocks, absent keys and errors.
        awaiting(RedisCommands.GET, codec);
        for (byte[] reply : new byte[][] {bulk(small), ascii("$-1\r\n"), ascii("-MOVED 1 127.0.0.1:7000\r\n")}) {
            assertThat(feed(reply, 2, 4)).isEqualTo(new String(reply, StandardCharsets.ISO_8859_1));
        }
        // A large bulk string answering another command, or a GET decoded by another codec.
        awaiting(RedisCommands.GET, ByteArrayCodec.INSTANCE);
        assertThat(feed(bulk(block), 2, 5)).isEqualTo(new String(bulk(block), StandardCharsets.ISO_8859_1));
        awaiting(new RedisCommand<>("HGET"), codec);
        assertThat(feed(bulk(block), 2, 6)).isEqualTo(new String(bulk(block), StandardCharsets.ISO_8859_1));
        // A reply that starts after bytes the decoder has not consumed yet.
        awaiting(RedisCommands.GET, codec);
        BulkReplyReader reader = new BulkReplyReader(channel, true);
        ByteBuf pending = Unpooled.copiedBuffer(ascii("+OK\r"));
        ByteBuf out = reader.cumulate(ByteBufAllocator.DEFAULT, pending, Unpooled.wrappedBuffer(bulk(block)));
        try {
            assertThat(out.readableBytes()).isEqualTo(4 + bulk(block).length);
        } finally {
            out.release();
        }
        assertThat(destination.mismatch(arena.allocate(BLOCK).fill((byte) 0x77))).isEqualTo(-1);
    }

    /** Makes {@code command} the head of the channel's command queue, as Redisson does on a write. */
    private void awaiting(RedisCommand<?> command, Codec codec) {
        queue.clear();
        queue.add(new QueueCommandHolder(new CommandData<>(new CompletableFuture<>(), codec, command, new Object[0]),
                channel.newPromise()));
        channel.attr(CommandsQueue.COMMANDS_QUEUE).set(queue);
    }

    /**
     * Feeds {@code stream} to a new reader in {@code cuts + 1} reads, as a decoder that leaves
     * everything undecoded until the end, and returns what the decoder has then.
     */
    private String feed(byte[] stream, int cuts, long seed) {
        BulkReplyReader reader = new BulkReplyReader(channel, true);
        int[] points = cutPoints(stream, cuts, seed);
        ByteBuf cumulation = Unpooled.EMPTY_BUFFER;
        int from = 0;
        for (int i = 0; i <= points.length; i++) {
            int to = i < points.length ? points[i] : stream.length;
            cumulation = reader.cumulate(ByteBufAllocator.DEFAULT, cumulation, Unpooled.copiedBuffer(stream, from, to - from));
            from = to;
        }
        try {
            return cumulation.toString(StandardCharsets.ISO_8859_1);
        } finally {
            cumulation.release();
        }
    }

    /**
     * Feeds {@code stream} as a socket would with the reader's receive allocator: each read goes
     * into the buffer {@link BulkReplyReader#lend} hands out, when it hands one out, and takes no
     * more than that buffer's room; reads otherwise end at {@code cuts} random points. Counts the
     * lent reads into {@code lentReads[0]}.
     */
    private String feedLending(byte[] stream, int cuts, long seed, int[] lentReads) {
        BulkReplyReader reader = new BulkReplyReader(channel, true);
        int[] points = cutPoints(stream, cuts, seed);
        ByteBuf cumulation = Unpooled.EMPTY_BUFFER;
        int from = 0;
        int point = 0;
        while (from < stream.length) {
            while (point < points.length && points[point] <= from) {
                point++;
            }
            int to = point < points.length ? points[point] : stream.length;
            ByteBuf read = reader.lend();
            if (read != null) {
                lentReads[0]++;
                to = Math.min(to, from + read.writableBytes());
                read.writeBytes(stream, from, to - from);
            } else {
                read = Unpooled.copiedBuffer(stream, from, to - from);
            }
            from = to;
            cumulation = reader.cumulate(ByteBufAllocator.DEFAULT, cumulation, read);
        }
        try {
            return cumulation.toString(StandardCharsets.ISO_8859_1);
        } finally {
            cumulation.release();
        }
    }

    /**
     * Returns {@code cuts} sorted random points at which to cut {@code stream} into reads, none
     * inside its first line: the reader takes over a reply only when its length line is whole in
     * the first read, which the reply's first read always holds in practice.
     */
    private static int[] cutPoints(byte[] stream, int cuts, long seed) {
        int lineEnd = new String(stream, StandardCharsets.ISO_8859_1).indexOf("\r\n") + 2;
        return new SplittableRandom(seed).ints(cuts, 0, stream.length + 1)
                .map(point -> point > 0 && point < lineEnd ? lineEnd : point).sorted().toArray();
    }

    private static byte[] bulk(byte[] value) {
        return concat(ascii("$" + value.length + "\r\n"), value, ascii("\r\n"));
    }

    private static byte[] random(int bytes, long seed) {
        byte[] value = new byte[bytes];
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < bytes; i++) {
            value[i] = (byte) random.nextInt(256);
        }
        return value;
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }
}
