package dev.spillway.storage.redis;

import java.util.HashMap;
import java.util.Map;

import dev.spillway.config.SpillwayConfig;

/** Spillway configurations with the remote tier on, as the environment would give them. */
final class RemoteConfigs {

    private RemoteConfigs() {
    }

    /**
     * Returns the configuration with {@code SPILLWAY_REMOTE_URL=url} and the further variables given.
     *
     * @param variables alternating {@code SPILLWAY_*} names and values
     */
    static SpillwayConfig remote(String url, String... variables) {
        Map<String, String> env = new HashMap<>();
        env.put("SPILLWAY_REMOTE_URL", url);
        for (int i = 0; i + 1 < variables.length; i += 2) {
            env.put(variables[i], variables[i + 1]);
        }
        return SpillwayConfig.load(env);
    }
}
