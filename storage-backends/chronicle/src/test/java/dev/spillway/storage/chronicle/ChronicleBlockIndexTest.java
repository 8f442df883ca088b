package dev.spillway.storage.chronicle;

import static dev.spillway.storage.chronicle.TestEntries.entry;
import static dev.spillway.storage.chronicle.TestEntries.key;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import dev.spillway.key.BlockKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChronicleBlockIndexTest {

    @TempDir
    Path dir;

    @Test
    void shouldGetWhatWasPutAndNothingElse() throws IOException {
        try (ChronicleBlockIndex index = ChronicleBlockIndex.open(dir.resolve("index.dat"), 100)) {
            index.put(key(1), entry(1));
            index.put(key(2), entry(2));

            assertThat(index.get(key(1))).contains(entry(1));
            assertThat(index.get(key(2))).contains(entry(2));
            assertThat(index.get(key(3))).isEmpty();
            assertThat(index.size()).isEqualTo(2);
        }
    }

    @Test
    void shouldReplaceTheEntryOfAKeyPutTwice() throws IOException {
        try (ChronicleBlockIndex index = ChronicleBlockIndex.open(dir.resolve("index.dat"), 100)) {
            index.put(key(1), entry(1));
            index.put(key(1), entry(7));

            assertThat(index.get(key(1))).contains(entry(7));
            assertThat(index.size()).isEqualTo(1);
        }
    }

    @Test
    void shouldRemoveOnlyHeldKeys() throws IOException {
        try (ChronicleBlockIndex index = ChronicleBlockIndex.open(dir.resolve("index.dat"), 100)) {
            index.put(key(1), entry(1));

            assertThat(index.remove(key(1))).isTrue();
            assertThat(index.remove(key(1))).isFalse();
            assertThat(index.remove(key(2))).isFalse();
            assertThat(index.get(key(1))).isEmpty();
            assertThat(index.size()).isZero();
        }
    }

    @Test
    void shouldFindEveryEntryAfterCloseAndReopen() throws IOException {
        Path file = dir.resolve("index.dat");
        try (ChronicleBlockIndex index = ChronicleBlockIndex.open(file, 1000)) {
            for (int i = 0; i < 500; i++) {
                index.put(key(i), entry(i));
            }
            index.remove(key(0));
        }
        try (ChronicleBlockIndex index = ChronicleBlockIndex.open(file, 1000)) {
            assertThat(index.size()).isEqualTo(499);
            assertThat(index.get(key(0))).isEmpty();
            for (int i = 1; i < 500; i++) {
                assertThat(index.get(key(i))).as("key %d", i).contains(entry(i));
            }
        }
    }

    @Test
    void shouldPassEveryEntryToForEachButNotTheMetadata() throws IOException {
        try (ChronicleBlockIndex index = ChronicleBlockIndex.open(dir.resolve("index.dat"), 100)) {
            Map<BlockKey, IndexEntry> expected = new HashMap<>();
            for (int i = 0; i < 50; i++) {
                index.put(key(i), entry(i));
                expected.put(key(i), entry(i));
            }
            Map<BlockKey, IndexEntry> seen = new HashMap<>();
            index.forEach(seen::put);

            assertThat(seen).isEqualTo(expected);
        }
    }

    @Test
    void shouldLetForEachRemoveWhatItWalks() throws IOException {
        try (ChronicleBlockIndex index = ChronicleBlockIndex.open(dir.resolve("index.dat"), 100)) {
            for (int i = 0; i < 50; i++) {
                index.put(key(i), entry(i));
            }
            index.forEach((k, e) -> {
                if (e.slabOffset() % 8192 == 0) {
                    index.remove(k);
                }
            });

            assertThat(index.size()).isEqualTo(25);
            assertThat(index.get(key(0))).isEmpty();
            assertThat(index.get(key(1))).contains(entry(1));
        }
    }

    @Test
    void shouldRefuseANewKeyWhenFullButStillReplaceAndAcceptAfterARemove() throws IOException {
        try (ChronicleBlockIndex index = ChronicleBlockIndex.open(dir.resolve("index.dat"), 64)) {
            for (int i = 0; i < 64; i++) {
                index.put(key(i), entry(i));
            }

            assertThatThrownBy(() -> index.put(key(64), entry(64)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("is full")
                    .hasMessageContaining("maxEntries=64");
            index.put(key(3), entry(99));
            assertThat(index.get(key(3))).contains(entry(99));
            assertThat(index.size()).isEqualTo(64);

            index.remove(key(0));
            index.put(key(64), entry(64));
            assertThat(index.get(key(64))).contains(entry(64));
            assertThat(index.size()).isEqualTo(64);
        }
    }

    @Test
    void shouldHoldExactlyMaxEntriesWhenThreadsRaceToFillIt() throws Exception {
        try (ChronicleBlockIndex index = ChronicleBlockIndex.open(dir.resolve("index.dat"), 100)) {
            // Every thread offers the same 300 keys, each from its own starting point, so threads
            // race both for the last free entries and to insert the same key.
            int threads = 4;
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
                for (int t = 0; t < threads; t++) {
                    int first = t * 75;
                    done.add(pool.submit(() -> {
                        start.await();
                        for (int n = 0; n < 300; n++) {
                            int i = (first + n) % 300;
                            try {
                                index.put(key(i), entry(i));
                            } catch (IllegalStateException full) {
                                // Expected once 100 distinct keys are in.
                            }
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> f : done) {
                    f.get();
                }
            }
            AtomicInteger walked = new AtomicInteger();
            index.forEach((k, e) -> walked.incrementAndGet());

            assertThat(index.size()).isEqualTo(100);
            assertThat(walked).hasValue(100);
        }
    }

    @Test
    void shouldRefuseToReopenWithAnotherCapacity() throws IOException {
        Path file = dir.resolve("index.dat");
        ChronicleBlockIndex.open(file, 100).close();

        assertThatThrownBy(() -> ChronicleBlockIndex.open(file, 200))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxEntries=200")
                .hasMessageContaining("created with maxEntries=100")
                .hasMessageContaining(file.toString());
    }

    @Test
    void shouldRejectAFileThatIsNotABlockIndex() throws IOException {
        Path file = dir.resolve("not-an-index.dat");
        Files.writeString(file, "not a chronicle map ".repeat(300), StandardCharsets.US_ASCII);

        assertThatThrownBy(() -> ChronicleBlockIndex.open(file, 100))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(file.toString());
    }

    @Test
    void shouldNameTheFileWhenItsDirectoryIsMissing() {
        Path file = dir.resolve("missing").resolve("index.dat");

        assertThatThrownBy(() -> ChronicleBlockIndex.open(file, 100))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("file=" + file);
    }

    @Test
    void shouldNameABadMaxEntries() {
        assertThatThrownBy(() -> ChronicleBlockIndex.open(dir.resolve("index.dat"), 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxEntries=0: expected >= 1");
    }
}
