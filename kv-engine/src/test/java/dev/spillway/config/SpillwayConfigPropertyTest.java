package dev.spillway.config;

import static dev.spillway.config.SpillwayConfigErrorTest.assertNames;
import static dev.spillway.config.SpillwayConfigErrorTest.failure;
import static dev.spillway.config.SpillwayConfigTest.env;
import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.AlphaChars;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.StringLength;

class SpillwayConfigPropertyTest {

    @Property(tries = 200)
    void shouldAcceptEveryChunkSizeInRange(@ForAll @IntRange(min = 1, max = 65536) int size) {
        assertThat(SpillwayConfig.load(env("SPILLWAY_CHUNK_SIZE", Integer.toString(size))).chunkSize())
                .isEqualTo(size);
    }

    @Property(tries = 200)
    void shouldRejectEveryChunkSizeOutOfRange(@ForAll int size) {
        Assume.that(size < 1 || size > 65536);
        assertNames(failure(env("SPILLWAY_CHUNK_SIZE", Integer.toString(size))),
                "SPILLWAY_CHUNK_SIZE", Integer.toString(size), "an integer between 1 and 65536");
    }

    @Property(tries = 200)
    void shouldNeverShowARemotePassword(@ForAll @AlphaChars @StringLength(min = 6, max = 20) String password) {
        String url = "redis://user:" + password + "@cache:6379";
        ConfigEntry entry = SpillwayConfig.load(env("SPILLWAY_REMOTE_URL", url)).entry(ConfigKey.REMOTE_URL);
        assertThat(String.valueOf(entry.value())).isEqualTo("redis://user:****@cache:6379");

        ConfigException e = failure(env("SPILLWAY_REMOTE_URL", url.replace(":6379", "")));
        assertThat(e.getMessage()).doesNotContain(":" + password + "@");
    }
}
