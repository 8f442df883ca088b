package dev.spillway.bench;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The raw baseline of {@link RemoteTierBenchmark}: the least a Java client can do to SET and GET a
 * binary value in Redis. One blocking socket, RESP written by hand, the value sent straight from the
 * caller's segment and the bulk reply read straight into the caller's buffer, with no heap copy and
 * no event loop; several commands are pipelined only by {@link #setAll} and {@link #getAll}.
 * Not thread-safe: one instance (one connection) per caller thread.
 */
final class RawResp implements AutoCloseable {

    private static final byte[] OK = "+OK\r\n".getBytes(StandardCharsets.US_ASCII);

    private final SocketChannel channel;
    /** Command headers, reply lines and CRLFs; a GET's first value bytes may arrive in it with the reply line. */
    private final ByteBuffer small = ByteBuffer.allocateDirect(256);

    /** Connects to Redis on {@code 127.0.0.1:port}. */
    RawResp(int port) throws IOException {
        channel = SocketChannel.open(new InetSocketAddress("127.0.0.1", port));
        // Netty, under Redisson, sets TCP_NODELAY too; without it the baseline would wait on Nagle.
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
    }

    /**
     * {@code SET key value}: sends the command, then the value from {@code value} without copying
     * it, and waits for {@code +OK}.
     */
    void set(byte[] key, MemorySegment value) throws IOException {
        sendSet(key, value);
        readOk();
    }

    /**
     * Pipelined {@code SET}s: sends one per key, each value from its segment, then reads the
     * replies, as a client batching a write of several blocks does.
     */
    void setAll(List<byte[]> keys, List<MemorySegment> values) throws IOException {
        for (int i = 0; i < keys.size(); i++) {
            sendSet(keys.get(i), values.get(i));
        }
        for (int i = 0; i < keys.size(); i++) {
            readOk();
        }
    }

    private void sendSet(byte[] key, MemorySegment value) throws IOException {
        small.clear();
        putAscii("*3\r\n$3\r\nSET\r\n$" + key.length + "\r\n");
        small.put(key);
        putAscii("\r\n$" + value.byteSize() + "\r\n");
        writeAll(small.flip());
        writeAll(value.asByteBuffer());
        small.clear();
        putAscii("\r\n");
        writeAll(small.flip());
    }

    private void readOk() throws IOException {
        small.clear().limit(OK.length);
        readFully(small);
        for (int i = 0; i < OK.length; i++) {
            if (small.get(i) != OK[i]) {
                throw new IOException("SET: expected +OK, got '" + ascii(small.flip()) + "'");
            }
        }
    }

    /**
     * {@code GET key} into {@code destination}.
     *
     * @return the value's length, or -1 when the key is absent
     * @throws IOException when the value does not fit {@code destination}, or on an error reply
     */
    long get(byte[] key, MemorySegment destination) throws IOException {
        sendGet(key);
        return readBulk(destination);
    }

    /**
     * Pipelined {@code GET}s: sends one per key, then reads the replies in order, each into its
     * destination, as a client batching a request's blocks does.
     *
     * @return per key the value's length, or -1 when the key is absent
     * @throws IOException as {@link #get} does
     */
    long[] getAll(List<byte[]> keys, List<MemorySegment> destinations) throws IOException {
        for (byte[] key : keys) {
            sendGet(key);
        }
        long[] lengths = new long[keys.size()];
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = readBulk(destinations.get(i));
        }
        return lengths;
    }

    private void sendGet(byte[] key) throws IOException {
        small.clear();
        putAscii("*2\r\n$3\r\nGET\r\n$" + key.length + "\r\n");
        small.put(key);
        putAscii("\r\n");
        writeAll(small.flip());
    }

    /**
     * Reads one bulk reply into {@code destination}, and nothing after it, so that pipelined
     * replies can be read one after another. The reply line is read into the small buffer, which
     * may take the value's first bytes with it but never more than the value: the values read
     * here are larger than that buffer.
     */
    private long readBulk(MemorySegment destination) throws IOException {
        small.clear();
        int lineEnd;
        while ((lineEnd = indexOfCrlf(small)) < 0) {
            if (!small.hasRemaining() || channel.read(small) < 0) {
                throw new IOException("GET: connection closed or reply line too long");
            }
        }
        if (small.get(0) != '$') {
            throw new IOException("GET: expected a bulk reply, got '" + ascii(small.flip()) + "'");
        }
        long length = Long.parseLong(ascii(small.duplicate().position(1).limit(lineEnd)));
        if (length < 0) {
            return -1;
        }
        if (length > destination.byteSize()) {
            throw new IOException("GET: value of " + length + " bytes, buffer of " + destination.byteSize());
        }
        // Value and trailing CRLF: their first bytes may have come with the line into the small buffer.
        int afterLine = lineEnd + 2;
        int filled = small.position();
        int valueInSmall = (int) Math.min(filled - afterLine, length);
        ByteBuffer target = destination.asSlice(0, length).asByteBuffer();
        target.put(small.slice(afterLine, valueInSmall));
        readFully(target);
        int crlfInSmall = filled - afterLine - valueInSmall;
        small.clear().limit(2 - crlfInSmall);
        readFully(small);
        return length;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    private void putAscii(String text) {
        small.put(text.getBytes(StandardCharsets.US_ASCII));
    }

    private void writeAll(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    private void readFully(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                throw new IOException("connection closed by Redis");
            }
        }
    }

    /** Returns where the first CRLF starts in {@code buffer}'s filled part, or -1. */
    private static int indexOfCrlf(ByteBuffer buffer) {
        for (int i = 0; i + 1 < buffer.position(); i++) {
            if (buffer.get(i) == '\r' && buffer.get(i + 1) == '\n') {
                return i;
            }
        }
        return -1;
    }

    private static String ascii(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        return new String(bytes, StandardCharsets.US_ASCII);
    }
}
