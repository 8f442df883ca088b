package dev.spillway.storage.redis;

import java.nio.charset.StandardCharsets;
import java.util.Deque;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.handler.codec.ByteToMessageDecoder;
import org.redisson.client.handler.CommandDecoder;
import org.redisson.client.handler.CommandsQueue;
import org.redisson.client.protocol.CommandData;
import org.redisson.client.protocol.QueueCommandHolder;
import org.redisson.client.protocol.RedisCommands;

/**
 * Lands the block of a get's reply in the caller's segment as it arrives from the socket, instead
 * of after the whole reply has: the cumulator of one connection's reply decoder.
 *
 * <p>Redisson's {@link CommandDecoder} decodes a reply only once all of it has arrived, so a
 * 4 MiB block would be copied into the caller's segment in one go after its last byte, adding a
 * whole memcpy to every get's latency. This cumulator, which sees the received bytes before the
 * decoder does, takes over a reply when
 * <ul>
 *   <li>it starts at the beginning of a read with nothing of an earlier reply left undecoded
 *       (Redisson does not decode a single command's reply in parts, so the decoder then stands
 *       between two replies),</li>
 *   <li>the command it answers, the head of the connection's command queue, is a single
 *       {@code GET} of the backend ({@link SegmentReadCodec}), and</li>
 *   <li>its {@code $<length>\r\n} line is whole in that read and names at least
 *       {@link #MIN_STREAMED_BYTES}.</li>
 * </ul>
 * It then copies the part of the bulk string in that read into the destination
 * ({@link SegmentReadCodec#landPart}, which drops what arrives after the call is over) and has the
 * connection's next reads fill the rest of the destination in place: its receive allocator
 * ({@link #receiveAllocator}) hands the socket the destination's remaining bytes as the read
 * buffer ({@link #lend}), so that those bytes go from the kernel to the caller's segment in one
 * copy, as a blocking client reading into its own buffer has them. Without that, the event loop
 * would copy every byte twice (kernel to receive buffer, receive buffer to segment), and with one
 * caller that second copy is on the critical path: the event loop is the busiest thread of a get.
 * It hides the bulk string from the decoder and, once
 * the bulk string and its CRLF are all in, hands the decoder an integer reply {@code :<length>\r\n}
 * in its place (or {@code :-1\r\n} when the block did not fit, and was skipped), followed by
 * whatever came after it. A {@code GET} never answers with an integer, so the backend reads that
 * integer as "landed, this many bytes". Every other reply (absent keys, errors, redirections,
 * batches, small blocks, other commands) goes to the decoder untouched, accumulated as a composite
 * of the buffers read ({@link ByteToMessageDecoder#COMPOSITE_CUMULATOR}).
 *
 * <p>Lending is off behind TLS: there the socket carries ciphertext, which the TLS handler decrypts
 * into buffers of its own before this cumulator sees the bytes, and they are copied as above.
 *
 * <p>Runs on the connection's event loop only; one instance per connection.
 */
final class BulkReplyReader implements ByteToMessageDecoder.Cumulator {

    /** Replies this size or larger are landed as they arrive; a smaller one is decoded whole. */
    static final int MIN_STREAMED_BYTES = 64 * 1024;

    /** The longest {@code $<length>\r\n} line: a sign, 19 digits, the CRLF. */
    private static final int MAX_LINE_BYTES = 1 + 20 + 2;
    private static final byte[] CRLF = {'\r', '\n'};

    private final Channel channel;
    /** Whether the socket's reads reach this cumulator unchanged, so that they may fill the destination. */
    private final boolean lending;
    /** The receive buffer {@link #lend} last handed out. */
    private ByteBuf lent;
    /** The reply being landed, or null between such replies. */
    private SegmentReadCodec target;
    private long length;
    private long received;
    private int crlfLeft;
    private boolean fits;

    /**
     * @param channel the connection whose command queue names the destinations
     * @param lending whether reads may fill a destination in place ({@link #lend}): only when
     *                the socket's bytes reach the decoder unchanged, that is without TLS
     */
    BulkReplyReader(Channel channel, boolean lending) {
        this.channel = channel;
        this.lending = lending;
    }

    /**
     * Returns the receive allocator for the connection: {@code delegate}'s, except that while a
     * reply is being landed each read gets the rest of its destination ({@link #lend}).
     */
    // Netty 4.1's RecvByteBufAllocator returns its Handle type, deprecated in favour of one that
    // extends it; there is no other way to wrap it.
    @SuppressWarnings("deprecation")
    RecvByteBufAllocator receiveAllocator(RecvByteBufAllocator delegate) {
        return () -> new RecvByteBufAllocator.DelegatingHandle(delegate.newHandle()) {
            @Override
            public ByteBuf allocate(ByteBufAllocator alloc) {
                ByteBuf destination = lend();
                return destination != null ? destination : super.allocate(alloc);
            }
        };
    }

    /**
     * Returns the bytes of the destination that the reply being landed has not filled yet, as an
     * empty buffer for the next socket read, or null when no reply is being landed, it is landed
     * whole, its block does not fit or its call is over. A read never goes past the bulk string's
     * last byte, so the CRLF and whatever follows arrive in Netty's buffers as usual.
     */
    ByteBuf lend() {
        if (!lending || target == null || !fits || received == length) {
            return null;
        }
        lent = target.lend(received, Math.toIntExact(length - received));
        return lent;
    }

    @Override
    public ByteBuf cumulate(ByteBufAllocator alloc, ByteBuf cumulation, ByteBuf in) {
        if (in == lent) {
            // The socket read straight into the destination; the CRLF is still to come.
            lent = null;
            received += in.readableBytes();
            in.release();
            return Unpooled.EMPTY_BUFFER;
        }
        if (target == null) {
            if (cumulation.isReadable() || !start(in)) {
                return ByteToMessageDecoder.COMPOSITE_CUMULATOR.cumulate(alloc, cumulation, in);
            }
            cumulation.release();
        }
        int body = (int) Math.min(length - received, in.readableBytes());
        if (body > 0) {
            ByteBuf part = in.readSlice(body);
            if (fits) {
                target.landPart(part, received);
            }
            received += body;
        }
        int crlf = Math.min(crlfLeft, in.readableBytes());
        in.skipBytes(crlf);
        crlfLeft -= crlf;
        if (received < length || crlfLeft > 0) {
            in.release();
            return Unpooled.EMPTY_BUFFER;
        }
        target = null;
        ByteBuf landed = alloc.buffer(MAX_LINE_BYTES)
                .writeByte(':')
                .writeBytes(Long.toString(fits ? length : -1).getBytes(StandardCharsets.US_ASCII))
                .writeBytes(CRLF);
        return ByteToMessageDecoder.COMPOSITE_CUMULATOR.cumulate(alloc, landed, in);
    }

    /**
     * Takes over the reply at the start of {@code in} if it is a large bulk string answering the
     * backend's {@code GET}, consuming its {@code $<length>\r\n} line.
     */
    private boolean start(ByteBuf in) {
        int from = in.readerIndex();
        if (!in.isReadable() || in.getByte(from) != '$') {
            return false;
        }
        Deque<QueueCommandHolder> queue = channel.attr(CommandsQueue.COMMANDS_QUEUE).get();
        QueueCommandHolder head = queue == null ? null : queue.peek();
        if (head == null || !(head.getCommand() instanceof CommandData<?, ?> command)
                || command.getCommand() != RedisCommands.GET
                || !(command.getCodec() instanceof SegmentReadCodec codec)) {
            return false;
        }
        long value = 0;
        int at = from + 1;
        int end = Math.min(from + MAX_LINE_BYTES, in.writerIndex());
        for (; at < end && in.getByte(at) != '\r'; at++) {
            byte digit = in.getByte(at);
            if (digit < '0' || digit > '9' || value > (Long.MAX_VALUE - 9) / 10) {
                return false;
            }
            value = value * 10 + (digit - '0');
        }
        if (at == from + 1 || at + 1 >= end || in.getByte(at + 1) != '\n' || value < MIN_STREAMED_BYTES) {
            return false;
        }
        in.readerIndex(at + 2);
        target = codec;
        length = value;
        received = 0;
        crlfLeft = CRLF.length;
        fits = codec.fits(value);
        return true;
    }
}
