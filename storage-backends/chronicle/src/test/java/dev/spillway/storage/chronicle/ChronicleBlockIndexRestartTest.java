package dev.spillway.storage.chronicle;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import dev.spillway.testing.ChildJvm;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The index as the disk tier meets it after a restart: written by one process, read by the next. */
class ChronicleBlockIndexRestartTest {

    private static final int MAX_ENTRIES = 2000;
    private static final int COUNT = 1000;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "writer {0}s")
    @ValueSource(strings = {"close", "halt"})
    void shouldFindEveryEntryThatAnotherProcessPut(String mode) throws Exception {
        Path file = dir.resolve("index.dat");

        runWriter(file, mode);

        try (ChronicleBlockIndex index = ChronicleBlockIndex.open(file, MAX_ENTRIES)) {
            assertThat(index.size()).isEqualTo(COUNT);
            for (int i = 0; i < COUNT; i++) {
                assertThat(index.get(TestEntries.key(i))).as("key %d", i).contains(TestEntries.entry(i));
            }
        }
    }

    private void runWriter(Path file, String mode) throws IOException, InterruptedException {
        List<String> command = ChildJvm.command(IndexWriterMain.class, file.toString(), Integer.toString(MAX_ENTRIES),
                Integer.toString(COUNT), mode);
        Path log = dir.resolve("writer.log");
        Process writer = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!writer.waitFor(60, TimeUnit.SECONDS)) {
            writer.destroyForcibly().waitFor();
            throw new AssertionError("writer JVM did not exit within 60 s; its output:\n" + Files.readString(log));
        }
        assertThat(writer.exitValue()).as("writer JVM exit status; its output:%n%s", Files.readString(log)).isZero();
    }
}
