package dev.spillway.refengine.e2e;

import static dev.spillway.refengine.e2e.E2e.assertIdentical;
import static dev.spillway.refengine.e2e.E2e.cached;
import static dev.spillway.refengine.e2e.E2e.cold;
import static dev.spillway.refengine.e2e.E2e.external;
import static dev.spillway.refengine.e2e.E2e.requests;
import static dev.spillway.refengine.e2e.E2e.spillway;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;

import dev.spillway.SpillwayEngine;
import dev.spillway.refengine.scheduler.InferenceRequest;
import dev.spillway.refengine.scheduler.RequestResult;
import dev.spillway.storage.redis.RedisServerProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end over a real {@code redis-server} on a loopback port, started and stopped by pid here:
 * the remote tier alone, every tier together, and Redis killed between requests.
 */
class RemoteTierEndToEndTest {

    @TempDir
    Path dir;

    private RedisServerProcess redis;

    @BeforeEach
    void startRedis() throws Exception {
        redis = RedisServerProcess.start(0, List.of());
    }

    @AfterEach
    void stopRedis() {
        redis.close();
    }

    private String[] remote() {
        return new String[] {"SPILLWAY_REMOTE_URL", redis.address(), "SPILLWAY_REMOTE_TIMEOUT_MS", "2000"};
    }

    @Test
    void remoteTierAloneServesAFreshEngine() {
        try (SpillwayEngine writer = spillway(remote())) {
            cached(writer, requests("write"));
        }
        List<RequestResult> cold = cold(requests("r"));
        try (SpillwayEngine spillway = spillway(remote())) {
            List<RequestResult> cached = cached(spillway, requests("remote"));
            assertIdentical(cold, cached);
            assertThat(external(cached)).isEqualTo(E2e.REPEAT_HITS);
            assertThat(spillway.metrics().value("spillway_retrieved_tokens_total{tier=\"G4\"}")).isPositive();
            assertThat(spillway.metrics().value("spillway_retrieved_tokens_total{tier=\"G3\"}")).isZero();
        }
    }

    @Test
    void everyTierTogetherStaysIdentical() {
        String[] all = EndToEndTest.with(EndToEndTest.diskEnv(dir.resolve("g3")), remote());
        List<RequestResult> cold = cold(requests("r"));
        try (SpillwayEngine spillway = spillway(all)) {
            assertIdentical(cold, cached(spillway, requests("first")));
            assertIdentical(cold, cached(spillway, requests("second")));
        }
        try (SpillwayEngine restarted = spillway(all)) {
            List<RequestResult> cached = cached(restarted, requests("restarted"));
            assertIdentical(cold, cached);
            assertThat(cached.getFirst().externalTokens()).isEqualTo(128);
        }
    }

    @Test
    void redisKilledBetweenRequestsTurnsIntoMissesWithIdenticalOutput() throws Exception {
        List<InferenceRequest> requests = requests("r");
        try (SpillwayEngine writer = spillway(remote())) {
            cached(writer, requests);
        }
        List<RequestResult> cold = cold(requests);
        try (SpillwayEngine spillway = spillway(remote())) {
            List<RequestResult> before = cached(spillway, requests.subList(0, 1));
            assertIdentical(cold.subList(0, 1), before);
            assertThat(before.getFirst().externalTokens()).isEqualTo(128);
            redis.kill();
            List<RequestResult> after = cached(spillway, requests.subList(1, requests.size()));
            assertIdentical(cold.subList(1, cold.size()), after);
            assertThat(spillway.metrics().value("spillway_tier_errors_total{tier=\"G4\",operation=\"exists\"}"))
                    .isPositive();
        }
    }
}
