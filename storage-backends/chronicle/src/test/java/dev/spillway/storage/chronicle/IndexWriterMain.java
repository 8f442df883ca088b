package dev.spillway.storage.chronicle;

import java.nio.file.Path;

/**
 * Run in a child JVM by {@link ChronicleBlockIndexRestartTest}: puts {@link TestEntries} 0..count-1
 * into an index, then either closes it and exits, or halts at once without closing it or running
 * shutdown hooks, as a killed process would.
 *
 * <p>Arguments: index file, maxEntries, count, {@code close} or {@code halt}.
 */
final class IndexWriterMain {

    private IndexWriterMain() {
    }

    /** Entry point of the child JVM. */
    public static void main(String[] args) throws Exception {
        ChronicleBlockIndex index = ChronicleBlockIndex.open(Path.of(args[0]), Long.parseLong(args[1]));
        int count = Integer.parseInt(args[2]);
        for (int i = 0; i < count; i++) {
            index.put(TestEntries.key(i), TestEntries.entry(i));
        }
        switch (args[3]) {
            case "close" -> index.close();
            case "halt" -> Runtime.getRuntime().halt(0);
            default -> throw new IllegalArgumentException("mode=" + args[3] + ": expected close or halt");
        }
    }
}
