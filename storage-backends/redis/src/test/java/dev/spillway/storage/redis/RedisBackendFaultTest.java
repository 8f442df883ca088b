package dev.spillway.storage.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;

import dev.spillway.key.BlockKey;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import dev.spillway.storage.StorageException;
import dev.spillway.storage.redis.testing.BoundedPoll;
import dev.spillway.storage.redis.testing.NettyLeakCheck;
import dev.spillway.storage.redis.testing.RedisServerFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Redis killed under load and restarted on the same port: the request path sees misses, dropped
 * writes or {@link StorageException}s, never a thrown exception, and the same backend serves again
 * once Redis is back. The breaker's timing is {@link CircuitBreakerTest}'s business; here the
 * waits are bounded polls.
 */
@ExtendWith(NettyLeakCheck.class)
class RedisBackendFaultTest {

    private static final int LOADERS = 2;
    private static final int BLOCK_BYTES = 4096;
    private static final String DROPPED = "spillway_backend_dropped_total{backend=\"redis\",operation=\"%s\"}";
    private static final String TRIPS = "spillway_backend_breaker_trips_total{backend=\"redis\"}";

    private final Arena arena = Arena.ofShared();
    private final AtomicInteger thrownOnCaller = new AtomicInteger();
    private final AtomicInteger storageErrors = new AtomicInteger();
    private final AtomicReference<Throwable> unexpected = new AtomicReference<>();

    @Test
    void shouldTurnAKilledRedisIntoMissesAndDropsAndRecoverAfterItRestarts() throws Exception {
        SpillwayMetrics metrics = new SpillwayMetrics();
        try (RedisServerFixture redis = new RedisServerFixture().start();
             RedisBackend backend = RedisBackend.open(URI.create(redis.address()),
                     RemoteConfigs.remote(redis.address(), "SPILLWAY_REMOTE_TIMEOUT_MS", "300"), metrics)) {
            AtomicBoolean stop = new AtomicBoolean();
            CountDownLatch warmedUp = new CountDownLatch(20);
            List<Thread> loaders = new ArrayList<>();
            for (int t = 0; t < LOADERS; t++) {
                int loader = t;
                loaders.add(Thread.ofPlatform().name("loader-" + t).start(() -> load(backend, loader, stop, warmedUp)));
            }
            try {
                assertThat(warmedUp.await(30, TimeUnit.SECONDS)).as("load running against a live Redis").isTrue();

                redis.kill();
                BoundedPoll.until("circuit open and reads answered as misses", Duration.ofSeconds(30),
                        () -> metrics.value(TRIPS) >= 1 && metrics.value(DROPPED.formatted("get")) > 0);

                redis.restart();
                BlockKey probe = new BlockKey(1, 2, 3, 4, 5, 64);
                MemorySegment block = block(7);
                BoundedPoll.until("the same backend stores and reads back a block", Duration.ofSeconds(30),
                        () -> storesAndReadsBack(backend, probe, block));
            } finally {
                stop.set(true);
                for (Thread loader : loaders) {
                    loader.join(TimeUnit.SECONDS.toMillis(30));
                }
            }

            assertThat(unexpected.get()).as("only StorageExceptions, misses and drops").isNull();
            assertThat(thrownOnCaller.get()).as("exceptions thrown on the caller's thread").isZero();
            assertThat(storageErrors.get()).as("failed calls before the circuit opened")
                    .isGreaterThanOrEqualTo(RedisBackend.FAILURE_THRESHOLD);
            assertThat(metrics.value(DROPPED.formatted("put"))).as("dropped stores").isPositive();
            assertThat(metrics.value(DROPPED.formatted("exists"))).as("lookups answered as misses").isPositive();
        } finally {
            arena.close();
        }
    }

    /**
     * One loader: stores a few blocks, checks and reads them, over and over, waiting for each call
     * (a bounded wait: a future that never completes fails the test).
     */
    private void load(StorageBackend backend, int loader, AtomicBoolean stop, CountDownLatch warmedUp) {
        List<BlockKey> keys = new ArrayList<>();
        List<MemorySegment> blocks = new ArrayList<>();
        List<MemorySegment> buffers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            keys.add(new BlockKey(loader, 1, 2, i, ~i, 64));
            blocks.add(block(loader * 10L + i));
            buffers.add(arena.allocate(BLOCK_BYTES));
        }
        while (!stop.get() && unexpected.get() == null) {
            int[] present = {0};
            int[] length = {StorageBackend.MISSING};
            boolean stored = settle(() -> backend.put(keys, blocks), done -> { });
            settle(() -> backend.exists(keys), count -> present[0] = count);
            settle(() -> backend.get(keys, buffers), lengths -> length[0] = lengths[0]);
            if (stored && present[0] == keys.size() && length[0] == BLOCK_BYTES) {
                warmedUp.countDown();
            }
        }
    }

    /**
     * Makes one call and waits for it; hands its value to {@code onValue} and returns true when it
     * completed normally, counts a StorageException, records anything else.
     */
    private <T> boolean settle(Supplier<CompletableFuture<T>> call, Consumer<T> onValue) {
        CompletableFuture<T> future;
        try {
            future = call.get();
        } catch (RuntimeException e) {
            thrownOnCaller.incrementAndGet();
            unexpected.compareAndSet(null, e);
            return false;
        }
        try {
            onValue.accept(future.get(30, TimeUnit.SECONDS));
            return true;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof StorageException) {
                storageErrors.incrementAndGet();
            } else {
                unexpected.compareAndSet(null, e.getCause());
            }
        } catch (InterruptedException | TimeoutException e) {
            unexpected.compareAndSet(null, e);
        }
        return false;
    }

    private MemorySegment block(long seed) {
        MemorySegment block = arena.allocate(BLOCK_BYTES);
        for (long i = 0; i < BLOCK_BYTES; i += 8) {
            block.set(ValueLayout.JAVA_LONG_UNALIGNED, i, seed * 31 + i);
        }
        return block;
    }

    private boolean storesAndReadsBack(StorageBackend backend, BlockKey key, MemorySegment block) {
        MemorySegment buffer = arena.allocate(BLOCK_BYTES);
        try {
            backend.put(List.of(key), List.of(block)).get(30, TimeUnit.SECONDS);
            int[] lengths = backend.get(List.of(key), List.of(buffer)).get(30, TimeUnit.SECONDS);
            return lengths[0] == BLOCK_BYTES && buffer.mismatch(block) == -1;
        } catch (ExecutionException e) {
            return false;
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
