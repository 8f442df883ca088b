package dev.spillway.storage.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import dev.spillway.key.BlockKey;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import dev.spillway.storage.StorageException;
import dev.spillway.storage.redis.testing.BoundedPoll;
import dev.spillway.storage.redis.testing.NettyLeakCheck;
import dev.spillway.storage.redis.testing.RedisServerFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The buffers of the data path: a put reads the caller's blocks only until its future completes
 * (even when its write is stuck in a stalled connection), a get writes the caller's destination
 * only while the caller waits (never after a timeout has handed it back), and no Netty buffer leaks
 * on any of these paths ({@link NettyLeakCheck}).
 */
@ExtendWith(NettyLeakCheck.class)
class RedisBackendBufferTest {

    @RegisterExtension
    static final RedisServerFixture REDIS = new RedisServerFixture();

    private static final int BLOCK_BYTES = 256 * 1024 + 96;

    private final Arena arena = Arena.ofShared();
    private RedisBackend backend;

    @BeforeEach
    void open() {
        backend = RedisBackend.open(URI.create(REDIS.address()),
                RemoteConfigs.remote(REDIS.address(), "SPILLWAY_REMOTE_TIMEOUT_MS", "300"), new SpillwayMetrics());
    }

    @AfterEach
    void close() {
        backend.close();
        arena.close();
    }

    @Test
    void shouldStoreWhatTheBlocksHeldAndLetTheCallerReuseThemOnceThePutCompletes() {
        List<BlockKey> keys = List.of(key(1), key(2), key(3));
        List<MemorySegment> blocks = new ArrayList<>();
        for (int i = 0; i < keys.size(); i++) {
            blocks.add(filled(BLOCK_BYTES, (byte) (i + 1)));
        }
        backend.put(keys, blocks).join();
        for (MemorySegment block : blocks) {
            block.fill((byte) 0x55);
        }

        MemorySegment exact = arena.allocate(BLOCK_BYTES);
        MemorySegment larger = arena.allocate(BLOCK_BYTES + 4096).fill((byte) 0x77);
        MemorySegment small = arena.allocate(BLOCK_BYTES - 1).fill((byte) 0x77);
        MemorySegment absent = arena.allocate(64).fill((byte) 0x77);
        int[] lengths = backend.get(List.of(keys.get(0), keys.get(1), keys.get(2), key(99)),
                List.of(exact, larger, small, absent)).join();

        assertThat(lengths).containsExactly(BLOCK_BYTES, BLOCK_BYTES, StorageBackend.MISSING, StorageBackend.MISSING);
        assertThat(exact.mismatch(filled(BLOCK_BYTES, (byte) 1))).isEqualTo(-1);
        assertThat(larger.asSlice(0, BLOCK_BYTES).mismatch(filled(BLOCK_BYTES, (byte) 2))).isEqualTo(-1);
        assertThat(larger.get(ValueLayout.JAVA_BYTE, BLOCK_BYTES)).isEqualTo((byte) 0x77);
        assertThat(small.mismatch(filled(BLOCK_BYTES - 1, (byte) 0x77))).isEqualTo(-1);
        assertThat(absent.mismatch(filled(64, (byte) 0x77))).isEqualTo(-1);

        // One key a call: BulkReplyReader lands each block as it arrives instead of the codec.
        larger.fill((byte) 0x77);
        assertThat(backend.get(List.of(keys.get(2)), List.of(larger)).join()).containsExactly(BLOCK_BYTES);
        assertThat(larger.asSlice(0, BLOCK_BYTES).mismatch(filled(BLOCK_BYTES, (byte) 3))).isEqualTo(-1);
        assertThat(larger.get(ValueLayout.JAVA_BYTE, BLOCK_BYTES)).isEqualTo((byte) 0x77);
        assertThat(backend.get(List.of(keys.get(0)), List.of(small)).join()).containsExactly(StorageBackend.MISSING);
        assertThat(small.mismatch(filled(BLOCK_BYTES - 1, (byte) 0x77))).isEqualTo(-1);
        assertThat(backend.get(List.of(key(99)), List.of(absent)).join()).containsExactly(StorageBackend.MISSING);
        // The connection still pairs replies with commands after each of those.
        assertThat(backend.get(List.of(keys.get(1)), List.of(exact)).join()).containsExactly(BLOCK_BYTES);
        assertThat(exact.mismatch(filled(BLOCK_BYTES, (byte) 2))).isEqualTo(-1);
    }

    @Test
    void shouldNotWriteTheDestinationWhenTheReplyArrivesAfterTheTimeout() throws Exception {
        BlockKey key = key(7);
        backend.put(List.of(key), List.of(filled(BLOCK_BYTES, (byte) 9))).join();
        MemorySegment destination = arena.allocate(BLOCK_BYTES).fill((byte) 0x11);

        // Redis holds every client's commands for 1 s: the get times out after 300 ms, and its reply
        // comes in some 700 ms later, to a call that has handed its destination back.
        pauseClients(1000);
        assertThatThrownBy(() -> backend.get(List.of(key), List.of(destination)).join())
                .isInstanceOf(CompletionException.class)
                .hasCauseInstanceOf(StorageException.class);

        // Once the same backend reads normally again, the pause is over and the late reply has come.
        MemorySegment again = arena.allocate(BLOCK_BYTES);
        BoundedPoll.until("the backend reads again after the pause", Duration.ofSeconds(20),
                () -> readsBack(key, again, (byte) 9));
        assertThat(destination.mismatch(filled(BLOCK_BYTES, (byte) 0x11))).isEqualTo(-1);
    }

    @Test
    void shouldSendABlockOfOneKeyCallByReferenceIntact() {
        // One key: a single SET, which BulkValueWriter frames with the block by reference.
        MemorySegment block = filled(BLOCK_BYTES, (byte) 5);
        block.set(ValueLayout.JAVA_BYTE, BLOCK_BYTES - 1, (byte) 6);
        backend.put(List.of(key(4)), List.of(block)).join();
        MemorySegment destination = arena.allocate(BLOCK_BYTES);

        assertThat(backend.get(List.of(key(4)), List.of(destination)).join()).containsExactly(BLOCK_BYTES);
        assertThat(destination.mismatch(block)).isEqualTo(-1);
    }

    @Test
    void shouldLetPutsThatTimedOutWhileRedisWasPausedLandIntact() throws Exception {
        pauseClients(1000);
        assertThatThrownBy(() -> backend.put(List.of(key(10)), List.of(filled(BLOCK_BYTES, (byte) 5))).join())
                .isInstanceOf(CompletionException.class)
                .hasCauseInstanceOf(StorageException.class);
        assertThatThrownBy(() -> backend.put(List.of(key(8), key(9)),
                List.of(filled(BLOCK_BYTES, (byte) 3), filled(BLOCK_BYTES, (byte) 4))).join())
                .isInstanceOf(CompletionException.class)
                .hasCauseInstanceOf(StorageException.class);
        // Paused clients' commands are read but not run: the writes were over when the puts failed,
        // so their connections stay open and the commands run, intact, when the pause ends.
        MemorySegment destination = arena.allocate(BLOCK_BYTES);
        BoundedPoll.until("key 9 lands intact after the pause", Duration.ofSeconds(20),
                () -> readsBack(key(9), destination, (byte) 4));
        BoundedPoll.until("key 10 lands intact after the pause", Duration.ofSeconds(20),
                () -> readsBack(key(10), destination, (byte) 5));
    }

    @Test
    void shouldStopReadingTheBlockBeforeAPutStuckInAStalledConnectionCompletes() throws Exception {
        // Larger than what loopback socket buffers hold: with Redis stopped, the write cannot finish.
        int bytes = 64 * 1024 * 1024;
        MemorySegment block = filled(bytes, (byte) 7);
        signal("STOP");
        try {
            var stuck = backend.put(List.of(key(20)), List.of(block));
            // Bounded, so that a put that never gives its block back fails the test instead of hanging it.
            assertThatThrownBy(() -> stuck.get(20, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .hasCauseInstanceOf(StorageException.class);
            // The put has completed, so the block is the caller's again: nothing may send it now.
            block.fill((byte) 0x55);
        } finally {
            signal("CONT");
        }
        // Redis got a cut-off command on a closed connection and stored nothing: no block made of
        // the bytes written after the put gave the block back.
        MemorySegment small = arena.allocate(BLOCK_BYTES);
        BoundedPoll.until("the backend writes again after the stall", Duration.ofSeconds(20),
                () -> putsAndReadsBack(key(21), small));
        MemorySegment destination = arena.allocate(bytes);
        assertThat(backend.get(List.of(key(20)), List.of(destination)).join()).containsExactly(StorageBackend.MISSING);
    }

    /** Returns whether a put of {@code key} succeeds and reads back intact; a failed call is false. */
    private boolean putsAndReadsBack(BlockKey key, MemorySegment destination) {
        try {
            backend.put(List.of(key), List.of(filled(BLOCK_BYTES, (byte) 8))).join();
            return readsBack(key, destination, (byte) 8);
        } catch (CompletionException e) {
            return false;
        }
    }

    /** Sends {@code SIG<name>} to the redis-server process: STOP freezes it, CONT resumes it. */
    private static void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(REDIS.pid())).inheritIO().start();
        assertThat(kill.waitFor()).as("kill -%s exit status", name).isZero();
    }

    /** Returns whether {@code key} reads back as BLOCK_BYTES of {@code value}; a failed read (paused Redis) is false. */
    private boolean readsBack(BlockKey key, MemorySegment destination, byte value) {
        try {
            return backend.get(List.of(key), List.of(destination)).join()[0] == BLOCK_BYTES
                    && destination.mismatch(filled(BLOCK_BYTES, value)) == -1;
        } catch (CompletionException e) {
            return false;
        }
    }

    private MemorySegment filled(int bytes, byte value) {
        return arena.allocate(bytes).fill(value);
    }

    private static BlockKey key(int chunk) {
        return new BlockKey(1, 2, 3, chunk, ~chunk, 16);
    }

    /** CLIENT PAUSE on a plain socket, so the tier's own connections are the ones held. */
    private static void pauseClients(int millis) throws IOException {
        String ms = Integer.toString(millis);
        String command = "*3\r\n$6\r\nCLIENT\r\n$5\r\nPAUSE\r\n$" + ms.length() + "\r\n" + ms + "\r\n";
        try (Socket socket = new Socket("127.0.0.1", REDIS.port())) {
            OutputStream out = socket.getOutputStream();
            out.write(command.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] reply = new byte[5];
            int read = 0;
            while (read < reply.length) {
                int n = in.read(reply, read, reply.length - read);
                if (n < 0) {
                    break;
                }
                read += n;
            }
            assertThat(new String(reply, 0, read, StandardCharsets.US_ASCII)).isEqualTo("+OK\r\n");
        }
    }
}
