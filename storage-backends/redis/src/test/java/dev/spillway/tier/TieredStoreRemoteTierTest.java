package dev.spillway.tier;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.spillway.config.SpillwayConfig;
import dev.spillway.eviction.PolicyKind;
import dev.spillway.key.ChunkHasher;
import dev.spillway.key.TokenChunker;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import dev.spillway.memory.HostArena;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.MeteredBackend;
import dev.spillway.storage.VerifyingBackend;
import dev.spillway.storage.redis.RedisBackend;
import dev.spillway.storage.redis.testing.RedisServerFixture;
import org.junit.jupiter.api.Test;

/**
 * The remote tier (G4) under a {@link TieredStore} with a host tier of four slots, on a real
 * {@code redis-server}: chunks evicted from host memory come back from Redis byte for byte, a
 * prompt's chunks in one batched call, the chunks queued behind a put written together, and a
 * killed Redis turns lookups and retrieves into misses and writes into counted failures, never an
 * exception, and a stopped (hanging) Redis fills the write-behind queue without holding up a store.
 */
class TieredStoreRemoteTierTest {

    private static final KvLayout LAYOUT = new KvLayout(2, 1, 8, DType.FP32, 4, 0, 1);
    private static final int HOST_SLOTS = 4;
    private static final long TIMEOUT_MILLIS = 300;
    private static final long FLUSH_MILLIS = 30_000;
    private static final String G2_HITS = "spillway_lookup_hit_tokens_total{tier=\"G2\"}";
    private static final String G4_HITS = "spillway_lookup_hit_tokens_total{tier=\"G4\"}";
    private static final String G4_STORED = "spillway_stored_chunks_total{tier=\"G4\"}";
    private static final String G4_GETS = "spillway_backend_operations_total{backend=\"redis\",operation=\"get\"}";
    private static final String G4_PUTS = "spillway_backend_operations_total{backend=\"redis\",operation=\"put\"}";
    private static final String FAILED = "spillway_skipped_chunks_total{tier=\"G4\",cause=\"failed\"}";
    private static final int QUEUE_CHUNKS = 64;

    private final SpillwayMetrics metrics = new SpillwayMetrics();
    private final ChunkHasher hasher = new ChunkHasher(new TokenChunker(4, false), "ns", "model", LAYOUT.fingerprint());

    private TieredStore open(RedisServerFixture redis) {
        return open(redis, QUEUE_CHUNKS, HOST_SLOTS, TIMEOUT_MILLIS);
    }

    private TieredStore open(RedisServerFixture redis, int queueChunks, int hostSlots, long timeoutMillis) {
        SpillwayConfig config = SpillwayConfig.load(Map.of("SPILLWAY_CHUNK_SIZE", "4", "SPILLWAY_REMOTE_URL", redis.address(),
                "SPILLWAY_REMOTE_TIMEOUT_MS", Long.toString(timeoutMillis)));
        VerifyingBackend remote = new VerifyingBackend(
                new MeteredBackend(RedisBackend.open(URI.create(redis.address()), config, metrics), metrics), LAYOUT, metrics);
        return TieredStore.create(hasher, LAYOUT, hostSlots * HostArena.ALIGNMENT, HostArena::allocate, PolicyKind.LRU,
                false, 30_000, metrics, List.of(new LowerTier(Tier.REMOTE, remote, timeoutMillis, 1, queueChunks)),
                WritePolicy.WRITE_THROUGH);
    }

    private static int[] prompt(int first, int length) {
        int[] tokens = new int[length];
        for (int i = 0; i < length; i++) {
            tokens[i] = first + i;
        }
        return tokens;
    }

    private static void storeAndFlush(TieredStore store, int[] tokens) throws InterruptedException {
        store.store(tokens, tokens.length, new PrefixKv(tokens));
        assertThat(store.flush(FLUSH_MILLIS)).as("write-behind drained").isTrue();
    }

    /** Retrieves {@code tokens}, checking every chunk's bytes; returns the chunk starts delivered. */
    private static List<Integer> retrieveChecked(TieredStore store, int[] tokens) {
        PrefixKv kv = new PrefixKv(tokens);
        List<Integer> starts = new ArrayList<>();
        store.retrieve(tokens, tokens.length, (chunk, start, count, src) -> {
            assertThat(kv.matches(start, count, src)).as("bytes of chunk %d", chunk).isTrue();
            starts.add(start);
        });
        return starts;
    }

    @Test
    void shouldServeChunksEvictedFromHostMemoryFromRedis() throws Exception {
        try (RedisServerFixture redis = new RedisServerFixture().start(); TieredStore store = open(redis)) {
            int[] first = prompt(1, 12);
            storeAndFlush(store, first);
            storeAndFlush(store, prompt(500, 12));
            assertThat(metrics.value(G4_STORED)).isEqualTo(6);

            assertThat(store.lookup(first, 12)).isEqualTo(12);
            assertThat(metrics.value(G4_HITS)).as("evicted chunks found in Redis").isPositive();
            assertThat(retrieveChecked(store, first)).containsExactly(0, 4, 8);
            assertThat(metrics.value("spillway_retrieved_tokens_total{tier=\"G4\"}")).isPositive();

            long hostHits = metrics.value(G2_HITS);
            assertThat(store.lookup(first, 12)).isEqualTo(12);
            assertThat(metrics.value(G2_HITS) - hostHits).as("promoted into host memory").isEqualTo(12);
        }
    }

    @Test
    void shouldReadAPromptsChunksFromRedisInOneCall() throws Exception {
        try (RedisServerFixture redis = new RedisServerFixture().start(); TieredStore store = open(redis)) {
            // Four chunks each, as many as host memory holds: the second prompt evicts the first.
            int[] first = prompt(1, 16);
            storeAndFlush(store, first);
            storeAndFlush(store, prompt(500, 16));
            assertThat(store.lookup(first, 16)).isEqualTo(16);
            assertThat(metrics.value(G2_HITS)).as("nothing of the first prompt left in host memory").isZero();
            long gets = metrics.value(G4_GETS);

            assertThat(retrieveChecked(store, first)).containsExactly(0, 4, 8, 12);
            assertThat(metrics.value(G4_GETS) - gets).as("calls that read the four chunks from Redis").isEqualTo(1);
        }
    }

    @Test
    void shouldTurnAKilledRedisIntoMissesAndCountedWrites() throws Exception {
        try (RedisServerFixture redis = new RedisServerFixture().start(); TieredStore store = open(redis)) {
            int[] evicted = prompt(1, 12);
            int[] resident = prompt(500, 12);
            storeAndFlush(store, evicted);
            storeAndFlush(store, resident);

            redis.kill();
            assertThat(store.lookup(evicted, 12)).as("chunk 0 is only in the dead tier").isZero();
            assertThat(retrieveChecked(store, evicted)).isEmpty();
            assertThat(store.lookup(resident, 12)).as("host memory still serves").isEqualTo(12);
            assertThat(retrieveChecked(store, resident)).containsExactly(0, 4, 8);

            storeAndFlush(store, prompt(900, 12));
            long failedWrites = metrics.value(FAILED)
                    + metrics.value("spillway_backend_dropped_total{backend=\"redis\",operation=\"put\"}");
            assertThat(failedWrites).as("each new chunk's write failed or was dropped").isEqualTo(3);
        }
    }

    @Test
    void shouldDropWritesInsteadOfBlockingStoresWhileRedisHangs() throws Exception {
        try (RedisServerFixture redis = new RedisServerFixture().start(); TieredStore store = open(redis, 1, HOST_SLOTS, TIMEOUT_MILLIS)) {
            signal(redis, "STOP");
            try {
                // A stopped Redis keeps its connections open and answers nothing, so the writer's
                // first put hangs until the remote timeout and the queue of one fills behind it.
                for (int p = 0; p < 8; p++) {
                    int[] tokens = prompt(1_000 + 100 * p, 12);
                    store.store(tokens, 12, new PrefixKv(tokens));
                }
                // Getting here while Redis is still stopped is what shows that no store waited on it.
                assertThat(metrics.value("spillway_write_behind_dropped_total{tier=\"G4\"}"))
                        .as("chunks that found the queue full").isPositive();
            } finally {
                signal(redis, "CONT");
            }
            assertThat(store.flush(FLUSH_MILLIS)).as("write-behind drained").isTrue();

            // One chunk: a second stored at once would find the queue of one taken.
            long written = metrics.value(G4_STORED);
            storeAndFlush(store, prompt(5_000, 4));
            assertThat(metrics.value(G4_STORED) - written).as("written once Redis runs again").isEqualTo(1);
        }
    }

    @Test
    void shouldWriteTheChunksQueuedBehindAPutTogether() throws Exception {
        // Host memory for every chunk here, so that none is evicted before the writer reaches it, and
        // a timeout that Redis's pause below never comes near.
        try (RedisServerFixture redis = new RedisServerFixture().start();
             TieredStore store = open(redis, QUEUE_CHUNKS, 32, FLUSH_MILLIS)) {
            long stored = metrics.value(G4_STORED);
            signal(redis, "STOP");
            try {
                int[] first = prompt(1, 4);
                store.store(first, first.length, new PrefixKv(first));
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(FLUSH_MILLIS);
                while (metrics.value(G4_PUTS) < 1) {
                    assertThat(System.nanoTime()).as("the writer's first put started").isLessThan(deadline);
                    Thread.sleep(1);
                }
                // The writer waits on Redis with one chunk: these 20 queue behind it.
                int[] next = prompt(100, 80);
                store.store(next, next.length, new PrefixKv(next));
            } finally {
                signal(redis, "CONT");
            }
            assertThat(store.flush(FLUSH_MILLIS)).as("write-behind drained").isTrue();

            assertThat(metrics.value(G4_PUTS)).as("puts: the first chunk, then 16 and 4 of the 20 behind it")
                    .isEqualTo(3);
            assertThat(metrics.value(G4_STORED) - stored).as("chunks written").isEqualTo(21);
        }
    }

    /** Sends {@code SIG<name>} to the fixture's redis-server and waits for kill(1) to succeed. */
    private static void signal(RedisServerFixture redis, String name) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(redis.pid()))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(kill.waitFor()).as("kill -%s %d", name, redis.pid()).isZero();
    }
}
