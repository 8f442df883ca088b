package dev.spillway.storage.redis.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.Optional;

import org.junit.jupiter.api.Test;

class RedisServerFixtureTest {

    @Test
    void shouldServeOnItsPortUntilClosedThenBeGone() throws IOException, InterruptedException {
        long pid;
        try (RedisServerFixture redis = new RedisServerFixture().start()) {
            pid = redis.pid();
            assertThat(redis.address()).isEqualTo("redis://127.0.0.1:" + redis.port());
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).contains(true);
        }
        assertThat(ProcessHandle.of(pid).filter(ProcessHandle::isAlive)).isEqualTo(Optional.empty());
    }

    @Test
    void shouldStartTwoServersOnDifferentPorts() throws IOException, InterruptedException {
        try (RedisServerFixture first = new RedisServerFixture().start();
             RedisServerFixture second = new RedisServerFixture().start()) {
            assertThat(first.port()).isNotEqualTo(second.port());
        }
    }

    @Test
    void shouldSayHowToUseAFixtureThatWasNotStarted() {
        try (RedisServerFixture redis = new RedisServerFixture()) {
            assertThatThrownBy(redis::port)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("call start()");
        }
    }
}
