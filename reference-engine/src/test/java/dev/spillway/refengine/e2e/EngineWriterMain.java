package dev.spillway.refengine.e2e;

import java.nio.file.Path;

import dev.spillway.SpillwayEngine;

/** A separate JVM that runs {@link E2e#requests} with a disk tier at {@code args[0]} and closes, so that another JVM finds them. */
public final class EngineWriterMain {

    private EngineWriterMain() {
    }

    /** Stores the requests' KV on the disk tier at {@code args[0]} and exits 0. */
    public static void main(String[] args) {
        try (SpillwayEngine spillway = E2e.spillway(EndToEndTest.diskEnv(Path.of(args[0])))) {
            E2e.cached(spillway, E2e.requests("child"));
        }
    }
}
