package dev.spillway.storage.redis;

import java.nio.charset.StandardCharsets;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.ByteToMessageDecoder;
import org.redisson.client.NettyHook;
import org.redisson.client.handler.CommandDecoder;
import org.redisson.client.handler.CommandEncoder;
import org.redisson.client.protocol.CommandData;

/**
 * Sends a command's large {@link ByteBuf} arguments (the put's block copies) to the socket as they
 * are, instead of letting Redisson's {@link CommandEncoder} copy them into the outgoing frame.
 *
 * <p>Redisson's encoder writes every argument into one buffer that Netty grows by reallocation,
 * so a 4 MiB block is copied into it once and moved again as it grows (and, past Netty's pooled
 * chunk size, into freshly allocated and zeroed memory). This handler, which {@link Hook} places
 * just before that encoder on each connection, frames such a command itself: the RESP header and
 * small arguments go into a small buffer, and each large argument is added, by reference, to a
 * composite buffer that the socket sends with a gathering write. It handles a single
 * {@link CommandData} (not a batch, which Redisson encodes elsewhere) that has an argument of at
 * least {@link #MIN_BULK_BYTES}, and passes everything else on to Redisson's encoder.
 *
 * <p>Buffer lifetimes: the frame holds its own reference to each large argument
 * ({@code retainedSlice}), released by Netty once the bytes are written or the write fails, so
 * Redisson releasing the argument when the command completes (a timeout included) never frees
 * memory the socket is still sending. The arguments are the backend's pooled copies, never the
 * caller's memory.
 *
 * <p>Mirrors {@link CommandEncoder#write}: a write whose promise was cancelled (Redisson gave up on
 * it before it reached the connection) is dropped, and a failure to frame fails the command.
 */
@Sharable
final class BulkValueWriter extends ChannelOutboundHandlerAdapter {

    /** Arguments this size or larger are sent by reference; smaller ones are copied into the frame. */
    static final int MIN_BULK_BYTES = 64 * 1024;

    static final BulkValueWriter INSTANCE = new BulkValueWriter();

    private static final byte[] CRLF = {'\r', '\n'};

    private BulkValueWriter() {
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (!(msg instanceof CommandData<?, ?> command) || !hasBulkArgument(command)) {
            ctx.write(msg, promise);
            return;
        }
        if (!promise.setUncancellable()) {
            return;
        }
        CompositeByteBuf frame = ctx.alloc().compositeDirectBuffer(2 * command.getParams().length + 2);
        // Each head (RESP framing and small arguments) is added to the frame once written, since the
        // frame's writer index counts a component's readable bytes when it is added; the frame owns
        // what was added to it (and releases a component it failed to add).
        ByteBuf head = null;
        try {
            head = ctx.alloc().directBuffer(256);
            int arguments = 1 + command.getParams().length + (command.getCommand().getSubName() != null ? 1 : 0);
            head.writeByte('*').writeBytes(CommandEncoder.longToString(arguments)).writeBytes(CRLF);
            writeSmall(head, command.getCommand().getName().getBytes(StandardCharsets.UTF_8));
            if (command.getCommand().getSubName() != null) {
                writeSmall(head, command.getCommand().getSubName().getBytes(StandardCharsets.UTF_8));
            }
            for (Object param : command.getParams()) {
                if (param instanceof ByteBuf value && value.readableBytes() >= MIN_BULK_BYTES) {
                    head.writeByte('$').writeBytes(CommandEncoder.longToString(value.readableBytes())).writeBytes(CRLF);
                    frame.addComponent(true, head);
                    head = null;
                    frame.addComponent(true, value.retainedSlice());
                    head = ctx.alloc().directBuffer(256);
                    head.writeBytes(CRLF);
                } else if (param instanceof ByteBuf value) {
                    head.writeByte('$').writeBytes(CommandEncoder.longToString(value.readableBytes())).writeBytes(CRLF);
                    head.writeBytes(value, value.readerIndex(), value.readableBytes()).writeBytes(CRLF);
                } else if (param instanceof byte[] bytes) {
                    writeSmall(head, bytes);
                } else if (param == null) {
                    writeSmall(head, new byte[0]);
                } else {
                    writeSmall(head, String.valueOf(param).getBytes(StandardCharsets.UTF_8));
                }
            }
            frame.addComponent(true, head);
            head = null;
        } catch (RuntimeException e) {
            if (head != null) {
                head.release();
            }
            frame.release();
            command.tryFailure(e);
            promise.tryFailure(e);
            return;
        }
        ctx.write(frame, promise);
    }

    private static boolean hasBulkArgument(CommandData<?, ?> command) {
        for (Object param : command.getParams()) {
            if (param instanceof ByteBuf value && value.readableBytes() >= MIN_BULK_BYTES) {
                return true;
            }
        }
        return false;
    }

    private static void writeSmall(ByteBuf out, byte[] argument) {
        out.writeByte('$').writeBytes(CommandEncoder.longToString(argument.length)).writeBytes(CRLF)
                .writeBytes(argument).writeBytes(CRLF);
    }

    /**
     * Installs {@link BulkValueWriter} on every connection Redisson opens, and has its reply decoder
     * accumulate a reply that spans several reads as a composite of the buffers read, instead of
     * copying them into one buffer grown by reallocation: a get's block is then copied once, from
     * those buffers into the caller's segment ({@link SegmentReadCodec}).
     */
    static final class Hook implements NettyHook {

        @Override
        public void afterBoostrapInitialization(Bootstrap bootstrap) {
            // Nothing: the handler goes on each channel.
        }

        @Override
        public void afterChannelInitialization(Channel channel) {
            ChannelPipeline pipeline = channel.pipeline();
            var encoder = pipeline.context(CommandEncoder.class);
            if (encoder != null) {
                pipeline.addAfter(encoder.name(), "spillway-bulk-value-writer", INSTANCE);
            }
            CommandDecoder decoder = pipeline.get(CommandDecoder.class);
            if (decoder != null) {
                decoder.setCumulator(ByteToMessageDecoder.COMPOSITE_CUMULATOR);
            }
        }
    }
}
