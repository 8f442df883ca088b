package dev.spillway.storage.redis;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;

import dev.spillway.storage.StorageBackend;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.buffer.UnpooledDirectByteBuf;
import org.redisson.client.codec.BaseCodec;
import org.redisson.client.codec.ByteArrayCodec;
import org.redisson.client.protocol.Decoder;
import org.redisson.client.protocol.Encoder;

/**
 * The codec of one GET of a {@link RedisBackend#get} call: its value decoder copies the reply's bulk
 * string straight from Netty's receive buffer into the caller's destination segment, on the
 * event loop, and decodes to the number of bytes copied ({@link StorageBackend#MISSING} when the
 * block does not fit, or when the call is already over). One copy, and nothing retained: the reply
 * buffer stays Netty's, so there is no reference count to get wrong. A large reply to a single GET
 * does not reach the value decoder: {@link BulkReplyReader} lands it part by part through
 * {@link #landPart} as it arrives, or lends the socket the rest of the destination to read into
 * ({@link #lend}), which saves that copy too.
 *
 * <p><b>Lifetime of the destination.</b> Redisson can deliver a reply after the call's future has
 * completed (a response timeout completes it exceptionally while the reply is still on its way),
 * when the caller may already be reusing or have freed the destination. So every copy happens
 * inside the open window of this codec: {@link #close} ends the window, waiting for a copy (or a
 * lent read) in progress to finish, and a reply decoded after that is dropped without touching the
 * destination. {@code RedisBackend} closes every codec of a call before completing its future,
 * successfully or not, so the destination is only ever written while its caller is waiting.
 *
 * <p>One instance per GET (it names its destination); not shared between commands.
 */
final class SegmentReadCodec extends BaseCodec {

    private static final int OPEN = 0;
    private static final int COPYING = 1;
    private static final int CLOSED = 2;

    private final MemorySegment destination;
    private final Object lock = new Object();
    /** Guarded by {@link #lock}. */
    private int state = OPEN;

    private final Decoder<Object> decoder = (buf, decoderState) -> land(buf);

    SegmentReadCodec(MemorySegment destination) {
        this.destination = destination;
    }

    @Override
    public Decoder<Object> getValueDecoder() {
        return decoder;
    }

    /** Unused: the GET's only argument is its key, which Redisson writes itself. */
    @Override
    public Encoder getValueEncoder() {
        return ByteArrayCodec.INSTANCE.getValueEncoder();
    }

    @Override
    public ClassLoader getClassLoader() {
        return SegmentReadCodec.class.getClassLoader();
    }

    /**
     * Copies the reply into the destination if it fits and the call is still waiting.
     *
     * @return the block's length, or {@link StorageBackend#MISSING} when nothing was copied
     */
    Integer land(ByteBuf reply) {
        int length = reply.readableBytes();
        if (!fits(length)) {
            reply.skipBytes(length);
            return StorageBackend.MISSING;
        }
        return landPart(reply, 0) ? length : StorageBackend.MISSING;
    }

    /** Returns whether a block of {@code length} bytes fits the destination. */
    boolean fits(long length) {
        return length <= destination.byteSize();
    }

    /**
     * Copies {@code part}, the bytes at {@code offset} of a block that {@link #fits}, into the
     * destination at that offset if the call is still waiting, and consumes them either way:
     * {@link BulkReplyReader} lands a large reply part by part as it arrives.
     *
     * @return whether the bytes were copied (false once the call is over)
     */
    boolean landPart(ByteBuf part, long offset) {
        int length = part.readableBytes();
        if (!beginCopy()) {
            part.skipBytes(length);
            return false;
        }
        try {
            copy(part, destination.asSlice(offset, length));
        } finally {
            endCopy();
        }
        return true;
    }

    /**
     * Lends the destination's bytes from {@code offset} on, {@code length} of them, as an empty
     * receive buffer for one socket read to fill in place ({@link BulkReplyReader#lend}), if the
     * call is still waiting and the destination is native memory this thread may access (a segment
     * confined to the caller's thread is refused here, and the copy path then fails the call as it
     * always has). The window stays in a copy, so {@link #close} waits, until the buffer is
     * released, which Netty does after a read that took nothing and {@link BulkReplyReader} after
     * one that took bytes.
     *
     * @return the buffer, or null when the call is over or the destination is on the heap or confined
     *         to another thread
     */
    ByteBuf lend(long offset, int length) {
        if (!destination.isNative() || !destination.isAccessibleBy(Thread.currentThread()) || !beginCopy()) {
            return null;
        }
        return new Lent(destination.asSlice(offset, length));
    }

    private boolean beginCopy() {
        synchronized (lock) {
            if (state == CLOSED) {
                return false;
            }
            state = COPYING;
            return true;
        }
    }

    private void endCopy() {
        synchronized (lock) {
            state = OPEN;
            lock.notifyAll();
        }
    }

    /**
     * Ends the window in which a reply may be copied into the destination, after a copy in
     * progress (at most one block's memcpy, on an event loop) has finished. Idempotent.
     */
    void close() {
        boolean interrupted = false;
        synchronized (lock) {
            while (state == COPYING) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            state = CLOSED;
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Part of the destination as a receive buffer: nothing frees its memory; releasing it ends the copy. */
    private final class Lent extends UnpooledDirectByteBuf {

        Lent(MemorySegment part) {
            super(UnpooledByteBufAllocator.DEFAULT, part.asByteBuffer(), Math.toIntExact(part.byteSize()));
            clear();
        }

        @Override
        protected void deallocate() {
            super.deallocate();
            endCopy();
        }
    }

    private static void copy(ByteBuf reply, MemorySegment target) {
        int length = (int) target.byteSize();
        ByteBuffer view;
        try {
            view = target.asByteBuffer();
        } catch (UnsupportedOperationException e) {
            // A heap segment over an array other than byte[]: through a temporary array.
            byte[] bytes = new byte[length];
            reply.readBytes(bytes);
            MemorySegment.copy(bytes, 0, target, ValueLayout.JAVA_BYTE, 0, length);
            return;
        }
        reply.readBytes(view);
    }
}
