package dev.spillway.storage.redis;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.ssl.SslHandler;
import org.redisson.client.NettyHook;
import org.redisson.client.handler.CommandBatchEncoder;
import org.redisson.client.handler.CommandDecoder;
import org.redisson.client.handler.CommandEncoder;
import org.redisson.client.protocol.CommandData;
import org.redisson.client.protocol.CommandsData;
import org.redisson.client.protocol.QueueCommand;

/**
 * Sends the blocks of the backend's puts ({@link LentBlock}s) to the socket from the caller's
 * memory, instead of letting Redisson's encoders copy them into the outgoing frame.
 *
 * <p>Redisson's {@link CommandEncoder} (and {@link CommandBatchEncoder}, which calls it per command
 * of a batch) writes every argument into one buffer that Netty grows by reallocation, so a 4 MiB
 * block would be copied into it once and moved again as it grows (and, past Netty's pooled chunk
 * size, into freshly allocated memory). This handler, which {@link Hook} places on each connection
 * where it sees commands and batches before either encoder does, frames a command or a batch that
 * carries a {@link LentBlock} itself: the RESP headers and small arguments go into small buffers,
 * and each block is added, by reference, to a composite buffer that the socket sends with a
 * gathering write. Everything else goes on to Redisson's encoders.
 *
 * <p>Buffer lifetimes: the frame holds its own reference to each block ({@code retainedSlice}),
 * released by Netty once the bytes are written or the write fails, and tells each block when its
 * write is over ({@link LentBlock#written}); a block recalled before it was framed is not sent and
 * fails its command ({@link LentBlock#sendOn}). So the block is read only while the put waits.
 *
 * <p>Mirrors the encoders' {@code write}: a write whose promise was cancelled (Redisson gave up on
 * it before it reached the connection) is dropped, and a failure to frame fails the command.
 */
@Sharable
final class BulkValueWriter extends ChannelOutboundHandlerAdapter {

    static final BulkValueWriter INSTANCE = new BulkValueWriter();

    private static final byte[] CRLF = {'\r', '\n'};
    private static final int HEAD_BYTES = 256;

    private BulkValueWriter() {
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        List<CommandData<?, ?>> commands = switch (msg) {
            case CommandData<?, ?> command when lendsBlock(command) -> List.of(command);
            case CommandsData batch when batch.getCommands().stream().anyMatch(BulkValueWriter::lendsBlock) ->
                    batch.getCommands();
            default -> null;
        };
        if (commands == null) {
            ctx.write(msg, promise);
            return;
        }
        if (!promise.setUncancellable()) {
            return;
        }
        List<LentBlock> framed = new ArrayList<>();
        CompositeByteBuf frame = ctx.alloc().compositeDirectBuffer(Integer.MAX_VALUE);
        try {
            for (CommandData<?, ?> command : commands) {
                frame(ctx, command, frame, framed);
            }
        } catch (RuntimeException e) {
            frame.release();
            framed.forEach(LentBlock::written);
            ((QueueCommand) msg).tryFailure(e);
            promise.tryFailure(e);
            return;
        }
        promise.addListener(written -> framed.forEach(LentBlock::written));
        ctx.write(frame, promise);
    }

    /**
     * Appends one command's RESP frame: its blocks by reference, the rest copied into small head
     * buffers. Each head is added once written, since the frame's writer index counts a
     * component's readable bytes when it is added; the frame owns what was added to it.
     */
    private static void frame(ChannelHandlerContext ctx, CommandData<?, ?> command, CompositeByteBuf frame,
                              List<LentBlock> framed) {
        ByteBuf head = ctx.alloc().directBuffer(HEAD_BYTES);
        try {
            int arguments = 1 + command.getParams().length + (command.getCommand().getSubName() != null ? 1 : 0);
            head.writeByte('*').writeBytes(CommandEncoder.longToString(arguments)).writeBytes(CRLF);
            writeSmall(head, command.getCommand().getName().getBytes(StandardCharsets.UTF_8));
            if (command.getCommand().getSubName() != null) {
                writeSmall(head, command.getCommand().getSubName().getBytes(StandardCharsets.UTF_8));
            }
            for (Object param : command.getParams()) {
                if (param instanceof LentBlock block) {
                    if (!block.sendOn(ctx.channel())) {
                        throw new IllegalStateException("the put's block was recalled before it was sent");
                    }
                    head.writeByte('$').writeBytes(CommandEncoder.longToString(block.readableBytes())).writeBytes(CRLF);
                    frame.addComponent(true, head);
                    head = null;
                    framed.add(block);
                    frame.addComponent(true, block.retainedSlice());
                    head = ctx.alloc().directBuffer(HEAD_BYTES);
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
            throw e;
        }
    }

    private static boolean lendsBlock(CommandData<?, ?> command) {
        for (Object param : command.getParams()) {
            if (param instanceof LentBlock) {
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
     * Installs {@link BulkValueWriter} on every connection Redisson opens, and a
     * {@link BulkReplyReader} as its reply decoder's cumulator, which lands a get's large block in
     * the caller's segment as it arrives and accumulates every other reply that spans several
     * reads as a composite of the buffers read, instead of copying them into one buffer grown by
     * reallocation: a get's block is copied once, from those buffers into the caller's segment.
     */
    static final class Hook implements NettyHook {

        @Override
        public void afterBoostrapInitialization(Bootstrap bootstrap) {
            // Nothing: the handler goes on each channel.
        }

        @Override
        public void afterChannelInitialization(Channel channel) {
            ChannelPipeline pipeline = channel.pipeline();
            // Outbound messages pass the handlers from the pipeline's tail to its head: after the
            // batch encoder in the pipeline is before both encoders on the way out.
            var batchEncoder = pipeline.context(CommandBatchEncoder.class);
            if (batchEncoder != null) {
                pipeline.addAfter(batchEncoder.name(), "spillway-bulk-value-writer", INSTANCE);
            }
            CommandDecoder decoder = pipeline.get(CommandDecoder.class);
            if (decoder != null) {
                // Redisson adds the TLS handler before calling the hook.
                boolean plain = pipeline.get(SslHandler.class) == null;
                BulkReplyReader reader = new BulkReplyReader(channel, plain);
                decoder.setCumulator(reader);
                if (plain) {
                    channel.config().setRecvByteBufAllocator(
                            reader.receiveAllocator(channel.config().getRecvByteBufAllocator()));
                }
            }
        }
    }
}
