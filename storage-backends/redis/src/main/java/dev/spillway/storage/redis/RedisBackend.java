package dev.spillway.storage.redis;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;

import dev.spillway.config.SpillwayConfig;
import dev.spillway.key.BlockKey;
import dev.spillway.metrics.Counter;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import dev.spillway.storage.StorageException;
import io.netty.util.Timeout;
import org.redisson.Redisson;
import org.redisson.api.BatchOptions;
import org.redisson.api.BatchResult;
import org.redisson.api.RFuture;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.ByteArrayCodec;
import org.redisson.client.protocol.RedisCommands;
import org.redisson.command.CommandAsyncExecutor;
import org.redisson.command.CommandBatchService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shared remote tier (G4): blocks in Redis, a standalone server, a Sentinel-managed master or a
 * Redis Cluster, through Redisson.
 *
 * <p>Design.
 * <ul>
 *   <li><b>One round trip per call.</b> Each operation sends one command per block (EXISTS, GET,
 *       SET [EX ttl], DEL) at once. Exists, put and remove queue them in a Redisson batch and send
 *       it pipelined; in a cluster the batch splits the commands by key slot and sends one pipeline
 *       per master, so a call costs one round trip per master it touches. A get sends its GETs as
 *       separate commands in parallel over the connection pool instead, because only the reply to
 *       a single command is landed in the caller's segment as it arrives (see below). A call of one
 *       block sends its one command without a batch, which would only add bookkeeping.</li>
 *   <li><b>Binary keys.</b> Keys are {@link RedisBlockKeys} (binary); Redisson's object API would send
 *       them as UTF-8 strings and mangle them, so every command goes through the command executor's
 *       {@code byte[]}-key calls.</li>
 *   <li><b>No copy on the way out, one on the way in, no heap arrays.</b> A put lends the
 *       caller's blocks to Netty ({@link LentBlock}): {@link BulkValueWriter} frames each
 *       {@code SET} (or batch of them) with the block by reference and the socket sends it from the
 *       caller's memory. The put's future completes only once nothing reads the blocks any more
 *       ({@link StorageBackend#put}'s contract): after Redis's reply, or, when the command fails,
 *       after its write is over; a write still stuck in a stalled connection's outbound buffer when
 *       its command fails is ended by closing that connection. A get decodes each reply with a
 *       {@link SegmentReadCodec} of its own, which copies the bulk string from Netty's receive
 *       buffers straight into the caller's segment (for a large block on a plain connection, the
 *       socket reads most of it into the segment itself, see {@link BulkReplyReader}), and which
 *       the call closes before completing its future, so a reply that arrives after a timeout is
 *       dropped rather than written into memory the caller has taken back. That copy runs on a
 *       Netty event loop, so {@link #get}'s destinations must be segments of a shared (or global or
 *       automatic) arena, not a confined one; a put's blocks likewise, and in native memory (a heap
 *       block is copied first).</li>
 *   <li><b>Failures never reach the request thread.</b> No call blocks or throws for I/O reasons. A
 *       failed round trip (timeout, refused connection, error reply) completes the future
 *       exceptionally with a {@link StorageException}, which the tier above counts and treats as a
 *       miss or a skipped store. After {@value #FAILURE_THRESHOLD} consecutive failures the
 *       {@link CircuitBreaker} opens: calls then complete <em>normally</em> at once without touching
 *       the network (exists 0, get all {@link #MISSING}, put and remove dropped), counted in
 *       {@code spillway_backend_dropped_total}, because on the request path the engine wants misses,
 *       not a stream of exceptions it would only turn into misses. Every backoff (500 ms, doubling to
 *       30 s) one call probes Redis; its success closes the circuit, so a restarted Redis is used
 *       again without reopening the backend.</li>
 *   <li><b>Fail fast.</b> Connect and response timeouts are the configured remote timeout and
 *       Redisson retries nothing, so a dead Redis costs one timeout per call until the breaker opens.
 *       Redisson starts a command's response timeout only once its write is over, and a write into
 *       a stopped Redis never is; so every call also fails once the remote timeout has passed since
 *       it was made, whatever Redisson's command is waiting for.</li>
 * </ul>
 *
 * <p>Thread-safe.
 */
public final class RedisBackend implements StorageBackend {

    /** The backend's name in logs and metric labels. */
    public static final String NAME = "redis";

    /** Consecutive failed round trips that open the circuit. */
    static final int FAILURE_THRESHOLD = 3;
    /** How long the circuit first stays open. */
    static final long INITIAL_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    /** The cap of the doubling backoff. */
    static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(30);

    private static final Logger LOG = LoggerFactory.getLogger(RedisBackend.class);

    private final RedisUrl url;
    private final RedissonClient client;
    private final CommandAsyncExecutor commands;
    private final BatchOptions batchOptions;
    private final long timeoutMillis;
    private final OptionalLong ttlSeconds;
    private final CircuitBreaker breaker;
    private final Counter droppedExists;
    private final Counter droppedGet;
    private final Counter droppedPut;
    private final Counter droppedRemove;
    private final Counter trips;
    private final Set<CompletableFuture<?>> inFlight = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private RedisBackend(RedisUrl url, RedissonClient client, long timeoutMillis, OptionalLong ttlSeconds,
                         SpillwayMetrics metrics) {
        this.url = url;
        this.client = client;
        this.commands = ((Redisson) client).getCommandExecutor();
        this.batchOptions = BatchOptions.defaults()
                .responseTimeout(timeoutMillis, TimeUnit.MILLISECONDS)
                .retryAttempts(0);
        this.timeoutMillis = timeoutMillis;
        this.ttlSeconds = ttlSeconds;
        this.breaker = new CircuitBreaker(FAILURE_THRESHOLD, INITIAL_BACKOFF_NANOS, MAX_BACKOFF_NANOS, System::nanoTime);
        String help = "Blocks answered without the backend while its circuit breaker was open: "
                + "reads as misses, writes and removals dropped";
        this.droppedExists = metrics.counter("spillway_backend_dropped_total", help, "backend", NAME, "operation", "exists");
        this.droppedGet = metrics.counter("spillway_backend_dropped_total", help, "backend", NAME, "operation", "get");
        this.droppedPut = metrics.counter("spillway_backend_dropped_total", help, "backend", NAME, "operation", "put");
        this.droppedRemove = metrics.counter("spillway_backend_dropped_total", help, "backend", NAME, "operation", "remove");
        this.trips = metrics.counter("spillway_backend_breaker_trips_total",
                "Times the backend's circuit breaker opened after consecutive failures", "backend", NAME);
    }

    /**
     * Connects to the Redis named by {@code url} ({@link RedisUrl} lists the forms), with the
     * remote timeout, TTL and TLS trust of {@code config}.
     *
     * @param metrics where the backend's dropped-operation and breaker-trip counters live
     * @throws IllegalArgumentException when the URL is malformed
     * @throws StorageException         when Redis cannot be reached or rejects the connection, or
     *                                  when a TLS server's certificate is not trusted or does not
     *                                  name its host
     */
    public static RedisBackend open(URI url, SpillwayConfig config, SpillwayMetrics metrics) {
        RedisUrl parsed = RedisUrl.parse(url);
        long timeoutMillis = config.remoteTimeoutMillis();
        RedissonClient client;
        try {
            client = Redisson.create(parsed.toConfig((int) Math.min(Integer.MAX_VALUE, timeoutMillis),
                    config.remoteTlsCaCertificates()));
        } catch (RuntimeException e) {
            throw new StorageException(NAME, "open", parsed + ": " + e.getMessage(), e);
        }
        return new RedisBackend(parsed, client, timeoutMillis, config.remoteTtlSeconds(), metrics);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public CompletableFuture<Integer> exists(List<BlockKey> keys) {
        return submit("exists", keys, Fanout.BATCH, droppedExists, () -> 0,
                (batch, i, key) -> batch.readAsync(key, ByteArrayCodec.INSTANCE, RedisCommands.EXISTS, key),
                responses -> {
                    int present = 0;
                    while (present < responses.size() && Boolean.TRUE.equals(responses.get(present))) {
                        present++;
                    }
                    return present;
                }, NOTHING_TO_SETTLE);
    }

    @Override
    public CompletableFuture<Void> put(List<BlockKey> keys, List<MemorySegment> blocks) {
        requireSameSize(keys, blocks, "blocks");
        LentBlock[] lent = new LentBlock[keys.size()];
        return submit("put", keys, Fanout.BATCH, droppedPut, () -> null, (batch, i, key) -> {
            lent[i] = new LentBlock(nativeBytes(blocks.get(i)));
            try {
                return ttlSeconds.isPresent()
                        ? batch.writeAsync(key, ByteArrayCodec.INSTANCE, RedisCommands.SET, key, lent[i], "EX",
                                ttlSeconds.getAsLong())
                        : batch.writeAsync(key, ByteArrayCodec.INSTANCE, RedisCommands.SET, key, lent[i]);
            } catch (RuntimeException e) {
                // Not queued, so Redisson will not release it.
                lent[i].release();
                throw e;
            }
        }, responses -> null, failed -> {
            List<CompletableFuture<Void>> returns = new ArrayList<>(lent.length);
            for (LentBlock block : lent) {
                if (block != null) {
                    if (failed) {
                        block.recall();
                    }
                    returns.add(block.returned());
                }
            }
            return CompletableFuture.allOf(returns.toArray(CompletableFuture[]::new));
        });
    }

    @Override
    public CompletableFuture<int[]> get(List<BlockKey> keys, List<MemorySegment> destinations) {
        requireSameSize(keys, destinations, "destinations");
        SegmentReadCodec[] codecs = new SegmentReadCodec[keys.size()];
        for (int i = 0; i < codecs.length; i++) {
            codecs[i] = new SegmentReadCodec(destinations.get(i));
        }
        // Commands, not a batch: BulkReplyReader lands a large reply in place only when it answers a
        // single GET; in a batch Redisson decodes each reply whole before the codec copies it.
        return submit("get", keys, Fanout.COMMANDS, droppedGet, () -> missing(keys.size()),
                (batch, i, key) -> batch.readAsync(key, codecs[i], RedisCommands.GET, key),
                responses -> {
                    int[] lengths = missing(keys.size());
                    for (int i = 0; i < lengths.length; i++) {
                        // An Integer from the codec, or a Long from BulkReplyReader, which landed the block itself.
                        if (responses.get(i) instanceof Number length) {
                            lengths[i] = length.intValue();
                        }
                    }
                    return lengths;
                },
                failed -> {
                    for (SegmentReadCodec codec : codecs) {
                        codec.close();
                    }
                    return SETTLED;
                });
    }

    @Override
    public CompletableFuture<Void> remove(List<BlockKey> keys) {
        return submit("remove", keys, Fanout.BATCH, droppedRemove, () -> null,
                (batch, i, key) -> batch.writeAsync(key, ByteArrayCodec.INSTANCE, RedisCommands.DEL, key),
                responses -> null, NOTHING_TO_SETTLE);
    }

    @Override
    public Optional<Expiry> expiry() {
        return ttlSeconds.isPresent() ? Optional.of(new Expiry(ttlSeconds.getAsLong())) : Optional.empty();
    }

    /**
     * Waits (up to about one remote timeout) for the calls in flight to complete, then shuts the
     * client down. Calls made after this complete exceptionally.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new))
                    .get(2 * timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            // Those callers have their StorageException; closing only needed the calls to be over.
        } catch (TimeoutException e) {
            LOG.warn("{}: closing with {} calls still in flight after {} ms", url, inFlight.size(), 2 * timeoutMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            client.shutdown(0, timeoutMillis, TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public String toString() {
        return "RedisBackend[" + url + "]";
    }

    /**
     * Runs one operation on a list of keys: short-circuits it while the breaker is open, otherwise
     * sends one command per key, as a batch or as separate commands ({@code fanout}), and reports
     * the outcome to the breaker.
     *
     * @param fanout   how a call of several keys goes out
     * @param whenOpen the result while the circuit is open (misses, or nothing for writes)
     * @param command  queues the command for one key
     * @param result   turns the batch's responses, in key order, into the result
     * @param settle   runs once the round trip is over, success or failure; the returned future
     *                 completes when the stage it returns has: after that, nothing of this call
     *                 may touch the caller's memory
     */
    private <T> CompletableFuture<T> submit(String operation, List<BlockKey> keys, Fanout fanout, Counter dropped,
                                            Supplier<T> whenOpen, BatchCommand command,
                                            Function<List<?>, T> result, Settle settle) {
        if (closed) {
            return CompletableFuture.failedFuture(new StorageException(NAME, operation, url + " is closed", null));
        }
        if (keys.isEmpty()) {
            return CompletableFuture.completedFuture(result.apply(List.of()));
        }
        if (!breaker.tryAcquire()) {
            dropped.add(keys.size());
            return CompletableFuture.completedFuture(whenOpen.get());
        }
        CompletableFuture<? extends List<?>> sent;
        CommandBatchService batch = null;
        try {
            if (keys.size() == 1 || fanout == Fanout.COMMANDS) {
                sent = each(command, keys);
            } else {
                batch = new CommandBatchService(commands, batchOptions);
                for (int i = 0; i < keys.size(); i++) {
                    command.queue(batch, i, RedisBlockKeys.encode(keys.get(i)));
                }
                sent = batch.executeAsync().toCompletableFuture().thenApply(BatchResult::getResponses);
            }
        } catch (RuntimeException e) {
            // Redisson may refuse synchronously (shutting down, no node for a slot): same as a failed trip.
            discard(batch);
            sent = CompletableFuture.failedFuture(e);
        }
        return track(operation, sent, result, settle);
    }

    /**
     * Sends one command per key, each on its own (the executor spreads them over the pool's
     * connections, with the same timeout and no retries); completes once all have, with their
     * responses in key order, or exceptionally if any failed. The call's deadline may end it before
     * that: a command still running then may go on writing into its destination until the call's
     * settle step closes it.
     */
    private CompletableFuture<List<?>> each(BatchCommand command, List<BlockKey> keys) {
        if (keys.size() == 1) {
            return command.queue(commands, 0, RedisBlockKeys.encode(keys.get(0))).toCompletableFuture()
                    .thenApply(Collections::singletonList);
        }
        List<CompletableFuture<?>> each = new ArrayList<>(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            each.add(command.queue(commands, i, RedisBlockKeys.encode(keys.get(i))).toCompletableFuture());
        }
        return CompletableFuture.allOf(each.toArray(CompletableFuture[]::new))
                .thenApply(done -> each.stream().<Object>map(CompletableFuture::join).toList());
    }

    /**
     * Turns a sent call's responses into its result once it is over, reporting the outcome to the
     * breaker, and keeps the call in {@link #inFlight} meanwhile.
     */
    private <T> CompletableFuture<T> track(String operation, CompletableFuture<? extends List<?>> sent,
                                           Function<List<?>, T> result, Settle settle) {
        failAfterTimeout(sent);
        CompletableFuture<T> future = sent.handle((responses, error) -> {
            CompletableFuture<?> settled = settle.afterRoundTrip(error != null);
            CompletableFuture<T> outcome;
            if (error == null) {
                if (breaker.onSuccess()) {
                    LOG.info("{}: reachable again, circuit closed", url);
                }
                outcome = CompletableFuture.completedFuture(result.apply(responses));
            } else {
                Throwable cause = error instanceof CompletionException && error.getCause() != null
                        ? error.getCause() : error;
                if (breaker.onFailure()) {
                    trips.increment();
                    LOG.warn("{}: {} consecutive failures, circuit open: reads miss and writes are dropped until a "
                            + "probe succeeds; last failure: {}", url, FAILURE_THRESHOLD, cause.toString());
                }
                String why = cause instanceof TimeoutException
                        ? "not done within the remote timeout of " + timeoutMillis + " ms" : cause.getMessage();
                outcome = CompletableFuture.failedFuture(new StorageException(NAME, operation, url + ": " + why, cause));
            }
            return settled.thenCompose(done -> outcome);
        }).thenCompose(Function.identity());
        inFlight.add(future);
        future.whenComplete((value, error) -> inFlight.remove(future));
        return future;
    }

    /**
     * Fails {@code sent} with a {@link TimeoutException} if it is not done within the remote
     * timeout. On Redisson's timer wheel rather than with {@link CompletableFuture#orTimeout}, whose
     * scheduler thread is woken by every call (each call's deadline is the earliest, the previous
     * one being cancelled): measured with {@code RemoteTierBenchmark.get1Interleaved}, that wake-up
     * cost a 1 MiB get 50-100 µs on a 2-core machine. The wheel's thread ticks on its own.
     */
    private void failAfterTimeout(CompletableFuture<?> sent) {
        try {
            Timeout deadline = commands.getServiceManager().newTimeout(
                    expired -> sent.completeExceptionally(new TimeoutException()), timeoutMillis, TimeUnit.MILLISECONDS);
            sent.whenComplete((responses, error) -> deadline.cancel());
        } catch (RuntimeException e) {
            // The client is shutting down and its timer with it: the call fails now rather than never.
            sent.completeExceptionally(e);
        }
    }

    /** Frees what a batch that was never sent holds (the put's buffers). */
    private static void discard(CommandBatchService batch) {
        if (batch == null) {
            return;
        }
        try {
            batch.discardAsync();
        } catch (RuntimeException e) {
            LOG.debug("discarding an unsent batch failed", e);
        }
    }

    /**
     * Returns {@code block} itself when it lies in native memory, which the socket can send from,
     * else a native copy of it (a heap segment: tests and tools, never the engine's buffers).
     */
    private static MemorySegment nativeBytes(MemorySegment block) {
        return block.isNative() ? block : Arena.ofAuto().allocate(block.byteSize()).copyFrom(block);
    }

    private static int[] missing(int count) {
        int[] lengths = new int[count];
        Arrays.fill(lengths, MISSING);
        return lengths;
    }

    private static void requireSameSize(List<BlockKey> keys, List<MemorySegment> segments, String what) {
        if (keys.size() != segments.size()) {
            throw new IllegalArgumentException(NAME + ": " + keys.size() + " keys and " + segments.size() + " " + what
                    + ": expected one per key");
        }
    }

    private static final CompletableFuture<Void> SETTLED = CompletableFuture.completedFuture(null);
    private static final Settle NOTHING_TO_SETTLE = failed -> SETTLED;

    /** How a call of several keys is sent; a call of one key is always one command. */
    private enum Fanout {
        /** One batch: pipelined on one connection per node, one round trip; for small replies. */
        BATCH,
        /**
         * One command per key, in parallel over the pool's connections: each large reply is landed
         * in place as it arrives. Measured with {@code RemoteTierBenchmark.getBatchInterleaved}, 8
         * blocks a call against 8 pipelined raw GETs: the tier went from 0.63x of the raw client
         * (batch) to 0.71x (commands) for 1 MiB blocks and from 0.71x to 0.82x for 4 MiB blocks.
         */
        COMMANDS
    }

    /** What a call does once its round trip is over, before its future may complete. */
    @FunctionalInterface
    private interface Settle {

        /**
         * @param failed whether the round trip failed (timed out, refused, an error reply)
         * @return completes when nothing of the call touches the caller's memory any more
         */
        CompletableFuture<?> afterRoundTrip(boolean failed);
    }

    /**
     * Queues the command of one key of a call in a batch, or, when {@code executor} is the
     * backend's command executor rather than a batch, sends it.
     */
    @FunctionalInterface
    private interface BatchCommand {

        /**
         * @param index    the key's position in the call's lists
         * @param redisKey the key's {@link RedisBlockKeys} form
         */
        RFuture<?> queue(CommandAsyncExecutor executor, int index, byte[] redisKey);
    }
}
