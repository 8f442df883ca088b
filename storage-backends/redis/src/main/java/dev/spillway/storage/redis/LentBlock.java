package dev.spillway.storage.redis;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;

import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.channel.Channel;

/**
 * A caller's block lent to Netty for one {@code SET}: the block's own memory as a direct
 * {@code ByteBuf}, which {@link BulkValueWriter} hands to the socket by reference. Nothing copies it
 * and nothing frees it; the memory stays the caller's.
 *
 * <p><b>When the caller has it back.</b> {@link RedisBackend#put}'s future completes only after
 * {@link #returned()} has, so a caller that reuses its block once the future is done never races
 * the socket. Two references read the block: Redisson's (the command's argument, released when the
 * command succeeds, fails or is discarded) and the frame's ({@link BulkValueWriter}'s retained
 * slice, released by Netty once the socket has taken the bytes or the write has failed). The block
 * is returned when both are gone.
 *
 * <p><b>A write that outlives its command.</b> Redisson fails a command on its response timeout
 * even while the frame still waits in the channel's outbound buffer (a stalled Redis, a full
 * socket), and that frame would go on holding the block until Redis reads again, which may be
 * never. {@link #recall()}, called once the command has failed, closes the channel while the
 * block is still being sent on it: Netty then fails the pending write and releases the frame. A
 * block not yet framed when it is recalled is never framed ({@link #sendOn} refuses it); a block
 * whose write is over needs nothing.
 * <pre>
 *   LENT --sendOn(channel)--> SENDING --written()--> WRITTEN
 *     |                          |
 *     |                          +--recall(): closes the channel (its pending write fails: written())
 *     +--recall()--> RECALLED (sendOn refuses)
 * </pre>
 * Closing a connection is the price of a command that failed mid-write, which only happens when
 * that connection is stuck anyway; Redisson reconnects.
 */
final class LentBlock extends UnpooledDirectByteBuf {

    private static final int LENT = 0;
    private static final int SENDING = 1;
    private static final int WRITTEN = 2;
    private static final int RECALLED = 3;

    private final CompletableFuture<Void> returned = new CompletableFuture<>();
    /** Guards {@link #state} and {@link #channel}. */
    private final Object lock = new Object();
    private int state = LENT;
    private Channel channel;

    /**
     * @param block the bytes to send, in native memory that stays valid and unchanged until
     *              {@link #returned()} completes
     */
    LentBlock(MemorySegment block) {
        super(UnpooledByteBufAllocator.DEFAULT, block.asByteBuffer(), Math.toIntExact(block.byteSize()));
    }

    /** Completes once nothing can read the block any more. */
    CompletableFuture<Void> returned() {
        return returned;
    }

    /**
     * Records that the block is about to be framed for {@code channel}; the caller then takes the
     * frame's reference, and calls {@link #written()} when the frame's write is over.
     *
     * @return false when the command was recalled first: the block must not be sent
     */
    boolean sendOn(Channel channel) {
        synchronized (lock) {
            if (state == RECALLED) {
                return false;
            }
            this.channel = channel;
            state = SENDING;
            return true;
        }
    }

    /** Records that the frame's write is over, done or failed: the socket no longer reads the block. */
    void written() {
        synchronized (lock) {
            state = WRITTEN;
            channel = null;
        }
    }

    /**
     * Makes sure a failed command stops reading the block: a block still waiting to be framed is
     * never framed, and the channel of a block being sent is closed, which fails its write and
     * releases its frame. Idempotent.
     */
    void recall() {
        Channel stuck = null;
        synchronized (lock) {
            if (state == LENT) {
                state = RECALLED;
            } else if (state == SENDING) {
                stuck = channel;
            }
        }
        if (stuck != null) {
            stuck.close();
        }
    }

    @Override
    protected void deallocate() {
        // The memory is the caller's: the superclass only drops its view (it was made not to free it).
        super.deallocate();
        returned.complete(null);
    }
}
