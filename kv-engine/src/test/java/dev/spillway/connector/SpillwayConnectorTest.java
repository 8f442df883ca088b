package dev.spillway.connector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.IntStream;

import dev.spillway.SpillwayEngine;
import dev.spillway.config.SpillwayConfig;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Drives the connector as the reference engine's scheduler does, against paged caches filled with
 * random bytes in place of a model: what one request saves, another loads into other blocks byte for
 * byte, and nothing outside the planned positions is written.
 */
class SpillwayConnectorTest {

    private static final int CHUNK = 32;
    private static final int BLOCK = 16;
    private static final int NUM_BLOCKS = 64;
    private static final KvLayout LAYOUT = new KvLayout(3, 2, 8, DType.FP32, CHUNK, 0, 1);
    private static final int ROW = LAYOUT.tokenLayerBytes() / 2;
    private static final long PLANE = (long) NUM_BLOCKS * BLOCK * ROW;

    private final Arena arena = Arena.ofShared();
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        arena.close();
    }

    private SpillwayEngine engine(String... env) {
        Map<String, String> map = new HashMap<>(Map.of("SPILLWAY_CHUNK_SIZE", Integer.toString(CHUNK),
                "SPILLWAY_MAX_LOCAL_CPU_SIZE", "0.01", "SPILLWAY_GPU", "off"));
        for (int i = 0; i < env.length; i += 2) {
            map.put(env[i], env[i + 1]);
        }
        SpillwayEngine engine = SpillwayEngine.open(SpillwayConfig.load(map), LAYOUT, "connector-test");
        open.add(engine);
        return engine;
    }

    private SpillwayConnector connector(SpillwayEngine engine, List<MemorySegment> paged) {
        SpillwayConnector connector = new SpillwayConnector(engine, BLOCK);
        open.add(connector);
        connector.registerKvCaches(paged, NUM_BLOCKS, BLOCK);
        return connector;
    }

    private List<MemorySegment> pagedCache(long seed) {
        List<MemorySegment> layers = new ArrayList<>();
        Random random = new Random(seed);
        for (int l = 0; l < LAYOUT.layers(); l++) {
            MemorySegment layer = arena.allocate(2 * PLANE, 64);
            for (long i = 0; i < layer.byteSize(); i++) {
                layer.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
            }
            layers.add(layer);
        }
        return layers;
    }

    private static int[] prompt(int length, int salt) {
        return IntStream.range(0, length).map(i -> salt * 10_007 + i).toArray();
    }

    /** Blocks {@code first, first + 1, ...}, enough for {@code tokens} positions. */
    private static int[] blocks(int first, int tokens) {
        return IntStream.range(first, first + (tokens + BLOCK - 1) / BLOCK).toArray();
    }

    private static MemorySegment row(List<MemorySegment> paged, int layer, int kv, int[] blockIds, int position) {
        long slot = (long) blockIds[position / BLOCK] * BLOCK + position % BLOCK;
        return paged.get(layer).asSlice(kv * PLANE + slot * ROW, ROW);
    }

    /** Runs one engine step on the worker side: load, every layer, save. */
    private static Set<Integer> step(WorkerConnector worker, ConnectorMetadata metadata) {
        worker.bindConnectorMetadata(metadata);
        worker.startLoadKv();
        for (int l = 0; l < LAYOUT.layers(); l++) {
            worker.waitForLayerLoad(l);
            worker.saveKvLayer(l);
        }
        worker.waitForSave();
        assertThat(worker.getFinished(Set.of())).isEqualTo(WorkerConnector.Finished.NONE);
        return worker.getBlockIdsWithLoadErrors();
    }

    /** Computes a request cold: no hit, the whole prompt in one step, its chunks saved. */
    private static void computeCold(SpillwayConnector connector, ConnectorRequest request, int[] blockIds) {
        assertThat(connector.getNumNewMatchedTokens(request, 0)).isZero();
        connector.updateStateAfterAlloc(request, blockIds, 0);
        int length = request.promptTokens().length;
        ConnectorMetadata meta = connector.buildConnectorMeta(List.of(new ScheduledRequest(request.id(), blockIds, 0, length)));
        assertThat(meta.loads()).isEmpty();
        assertThat(step(connector, meta)).isEmpty();
        connector.requestFinished(request, blockIds);
    }

    private static boolean same(MemorySegment a, MemorySegment b) {
        return a.mismatch(b) == -1;
    }

    @ParameterizedTest(name = "layerwise={0}")
    @ValueSource(strings = {"true", "false"})
    void shouldLoadWhatAnotherRequestSavedIntoOtherBlocks(String layerwise) {
        SpillwayEngine engine = engine("SPILLWAY_USE_LAYERWISE", layerwise);
        List<MemorySegment> paged = pagedCache(1);
        SpillwayConnector connector = connector(engine, paged);
        int[] tokens = prompt(100, 1);
        int[] coldBlocks = blocks(0, 100);
        computeCold(connector, new ConnectorRequest("a", tokens), coldBlocks);

        int[] longer = IntStream.concat(IntStream.of(tokens), IntStream.range(0, 40).map(i -> 5_000 + i)).toArray();
        ConnectorRequest b = new ConnectorRequest("b", longer);
        assertThat(connector.getNumNewMatchedTokens(b, 0)).isEqualTo(96);
        assertThat(connector.getNumNewMatchedTokens(b, 0)).as("repeatable").isEqualTo(96);
        assertThat(engine.metrics().value("spillway_lookup_requests_total")).as("one lookup per request").isEqualTo(2);
        int[] warmBlocks = blocks(20, longer.length);
        List<MemorySegment> before = snapshot(paged);
        connector.updateStateAfterAlloc(b, warmBlocks, 96);
        ConnectorMetadata meta = connector.buildConnectorMeta(List.of(new ScheduledRequest("b", warmBlocks, 96, 44)));
        assertThat(meta.loads()).singleElement().satisfies(load -> {
            assertThat(load.firstToken()).isZero();
            assertThat(load.endToken()).isEqualTo(96);
        });
        assertThat(meta.saves()).singleElement().satisfies(save -> assertThat(save.numTokens()).isEqualTo(128));
        assertThat(step(connector, meta)).isEmpty();

        for (int l = 0; l < LAYOUT.layers(); l++) {
            for (int kv = 0; kv < 2; kv++) {
                for (int p = 0; p < 96; p++) {
                    assertThat(same(row(paged, l, kv, warmBlocks, p), row(paged, l, kv, coldBlocks, p)))
                            .as("layer %d kv %d position %d", l, kv, p).isTrue();
                }
                for (int p = 96; p < longer.length; p++) {
                    assertThat(same(row(paged, l, kv, warmBlocks, p), row(before, l, kv, warmBlocks, p)))
                            .as("position %d is the engine's to compute", p).isTrue();
                }
            }
        }
        assertThat(engine.metrics().value("spillway_connector_loaded_tokens_total")).isEqualTo(96);
        assertThat(engine.metrics().value("spillway_connector_saved_chunks_total")).isEqualTo(4);
    }

    @Test
    void shouldOfferOneTokenLessForAWholePromptHitAndLeaveTheLastPositionToTheEngine() {
        SpillwayEngine engine = engine();
        List<MemorySegment> paged = pagedCache(2);
        SpillwayConnector connector = connector(engine, paged);
        int[] tokens = prompt(64, 2);
        computeCold(connector, new ConnectorRequest("a", tokens), blocks(0, 64));
        ConnectorRequest again = new ConnectorRequest("again", tokens);
        assertThat(connector.getNumNewMatchedTokens(again, 0)).isEqualTo(63);
        int[] warm = blocks(30, 64);
        List<MemorySegment> before = snapshot(paged);
        connector.updateStateAfterAlloc(again, warm, 63);
        assertThat(step(connector, connector.buildConnectorMeta(List.of(new ScheduledRequest("again", warm, 63, 1)))))
                .isEmpty();
        assertThat(same(row(paged, 1, 0, warm, 62), row(paged, 1, 0, blocks(0, 64), 62))).isTrue();
        assertThat(same(row(paged, 1, 0, warm, 63), row(before, 1, 0, warm, 63))).isTrue();
    }

    @Test
    void shouldSkipWhatTheEngineAlreadyComputed() {
        SpillwayEngine engine = engine();
        List<MemorySegment> paged = pagedCache(3);
        SpillwayConnector connector = connector(engine, paged);
        int[] tokens = prompt(100, 3);
        computeCold(connector, new ConnectorRequest("a", tokens), blocks(0, 100));
        ConnectorRequest b = new ConnectorRequest("b", tokens);
        assertThat(connector.getNumNewMatchedTokens(b, 32)).isEqualTo(64);
        int[] warm = blocks(40, 100);
        List<MemorySegment> before = snapshot(paged);
        connector.updateStateAfterAlloc(b, warm, 64);
        assertThat(step(connector, connector.buildConnectorMeta(List.of(new ScheduledRequest("b", warm, 96, 4)))))
                .isEmpty();
        assertThat(same(row(paged, 0, 1, warm, 31), row(before, 0, 1, warm, 31))).as("the engine's own prefix").isTrue();
        assertThat(same(row(paged, 0, 1, warm, 32), row(paged, 0, 1, blocks(0, 100), 32))).isTrue();
        assertThat(same(row(paged, 2, 1, warm, 95), row(paged, 2, 1, blocks(0, 100), 95))).isTrue();
    }

    @Test
    void shouldReportTheBlocksOfChunksEvictedBeforeTheLoadAndWriteNothingThere() {
        // Room for 4 chunks and pins that expire at once: the hit is gone by the time it is loaded.
        long chunkBytes = LAYOUT.chunkBytes();
        SpillwayEngine engine = engine("SPILLWAY_MAX_LOCAL_CPU_SIZE", Double.toString(4.5 * chunkBytes / (1 << 30)),
                "SPILLWAY_PIN_TIMEOUT_MS", "1");
        List<MemorySegment> paged = pagedCache(4);
        SpillwayConnector connector = connector(engine, paged);
        int[] tokens = prompt(64, 4);
        computeCold(connector, new ConnectorRequest("a", tokens), blocks(0, 64));
        ConnectorRequest b = new ConnectorRequest("b", prompt(96, 4));
        assertThat(connector.getNumNewMatchedTokens(b, 0)).isEqualTo(64);
        sleepPastPins();
        computeCold(connector, new ConnectorRequest("other", prompt(128, 9)), blocks(8, 128));
        int[] warm = blocks(30, 96);
        List<MemorySegment> before = snapshot(paged);
        connector.updateStateAfterAlloc(b, warm, 64);
        Set<Integer> errors = step(connector, connector.buildConnectorMeta(List.of(new ScheduledRequest("b", warm, 64, 32))));
        assertThat(errors).containsExactlyInAnyOrder(30, 31, 32, 33);
        for (int p = 0; p < 64; p++) {
            assertThat(same(row(paged, 0, 0, warm, p), row(before, 0, 0, warm, p))).isTrue();
        }
        assertThat(engine.metrics().value("spillway_connector_load_error_tokens_total")).isEqualTo(64);
        assertThat(connector.getBlockIdsWithLoadErrors()).as("reported once").isEmpty();
    }

    @Test
    void shouldRejectAChunkSizeThatIsNotAMultipleOfTheBlockSize() {
        SpillwayEngine engine = engine();
        assertThatThrownBy(() -> new SpillwayConnector(engine, 24))
                .hasMessage("engine block_size=24: expected a positive divisor of chunk_size=32 (set SPILLWAY_CHUNK_SIZE "
                        + "to a multiple of the engine's block size)");
    }

    @Test
    void shouldRejectAPagedCacheThatDisagreesWithTheLayout() {
        SpillwayConnector connector = new SpillwayConnector(engine(), BLOCK);
        open.add(connector);
        List<MemorySegment> wrong = List.of(arena.allocate(PLANE), arena.allocate(PLANE), arena.allocate(PLANE));
        assertThatThrownBy(() -> connector.registerKvCaches(wrong, NUM_BLOCKS, BLOCK))
                .hasMessageStartingWith("paged cache layer 0 size=" + PLANE + ": expected " + 2 * PLANE + " bytes");
    }

    @Test
    void shouldRejectAnExternalTokenCountItDidNotOffer() {
        SpillwayEngine engine = engine();
        SpillwayConnector connector = connector(engine, pagedCache(5));
        int[] tokens = prompt(64, 5);
        computeCold(connector, new ConnectorRequest("a", tokens), blocks(0, 64));
        ConnectorRequest b = new ConnectorRequest("b", tokens);
        connector.getNumNewMatchedTokens(b, 0);
        assertThatThrownBy(() -> connector.updateStateAfterAlloc(b, blocks(10, 64), 32))
                .hasMessage("numExternalTokens=32 for request b: expected 0 or 63 (what getNumNewMatchedTokens offered)");
        assertThatThrownBy(() -> connector.updateStateAfterAlloc(b, blocks(10, 16), 63))
                .hasMessage("blockIds of request b: 1 blocks, expected at least 4 to cover 63 tokens of block_size=16");
    }

    private static void sleepPastPins() {
        try {
            Thread.sleep(5);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private List<MemorySegment> snapshot(List<MemorySegment> paged) {
        List<MemorySegment> copy = new ArrayList<>();
        for (MemorySegment layer : paged) {
            copy.add(arena.allocate(layer.byteSize(), 64).copyFrom(layer));
        }
        return copy;
    }
}
