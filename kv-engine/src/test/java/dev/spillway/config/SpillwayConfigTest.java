package dev.spillway.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.eviction.PolicyKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class SpillwayConfigTest {

    @TempDir
    Path dir;

    static Map<String, String> env(String... namesAndValues) {
        Map<String, String> env = new HashMap<>();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            env.put(namesAndValues[i], namesAndValues[i + 1]);
        }
        return env;
    }

    static Path yaml(Path dir, String text) throws IOException {
        return Files.writeString(dir.resolve("spillway.yaml"), text);
    }

    static String fileSource(Path file) {
        return "file:" + file.toAbsolutePath().normalize();
    }

    @Test
    void shouldUseTheDocumentedDefaultsWhenNothingIsSet() {
        SpillwayConfig config = SpillwayConfig.load(Map.of("PATH", "/usr/bin"));

        assertThat(config.chunkSize()).isEqualTo(256);
        assertThat(config.localCpu()).isTrue();
        assertThat(config.maxLocalCpuSizeGiB()).isEqualTo(5.0);
        assertThat(config.maxLocalCpuBytes()).isEqualTo(5L << 30);
        assertThat(config.localDisk()).isEmpty();
        assertThat(config.maxLocalDiskSizeGiB()).isZero();
        assertThat(config.maxLocalDiskBytes()).isZero();
        assertThat(config.remoteUrl()).isEmpty();
        assertThat(config.remoteTlsCaCertificates()).isEmpty();
        assertThat(config.cachePolicy()).isEqualTo(PolicyKind.LRU);
        assertThat(config.prefixAwareEviction()).isFalse();
        assertThat(config.saveUnfullChunk()).isFalse();
        assertThat(config.useLayerwise()).isTrue();
        assertThat(config.pinTimeoutMillis()).isEqualTo(30_000L);
        assertThat(config.namespace()).isEqualTo("default");
        assertThat(config.metricsPort()).isEmpty();
        assertThat(config.warnings()).isEmpty();
    }

    @Test
    void shouldListEveryKeyInTableOrderWithTypedDefaults() {
        List<ConfigEntry> entries = SpillwayConfig.load(Map.of()).entries();

        assertThat(entries).extracting(ConfigEntry::key)
                .containsExactlyElementsOf(Arrays.stream(ConfigKey.values()).map(ConfigKey::key).toList());
        assertThat(entries).extracting(ConfigEntry::source).containsOnly("default");
        assertThat(entries).extracting(ConfigEntry::value).containsExactly(
                256, true, 5.0, null, 0.0, null, null, 1000L, null, "write-through", 1, "lru", false, false, true, 30_000L,
                "default", "auto", 0.0, 2, 0.0, null);
    }

    @Test
    void shouldLetSpillwayBeatLmcacheBeatFileBeatDefault() throws IOException {
        Path file = yaml(dir, "chunk_size: 128\n");
        Map<String, String> env = env("SPILLWAY_CONFIG_FILE", file.toString(),
                "LMCACHE_CHUNK_SIZE", "512", "SPILLWAY_CHUNK_SIZE", "1024");

        SpillwayConfig all = SpillwayConfig.load(env);
        assertThat(all.chunkSize()).isEqualTo(1024);
        assertThat(all.entry(ConfigKey.CHUNK_SIZE).source()).isEqualTo("env:SPILLWAY_CHUNK_SIZE");
        assertThat(all.variable(ConfigKey.CHUNK_SIZE)).isEqualTo("SPILLWAY_CHUNK_SIZE");
        assertThat(all.warnings()).containsExactly("LMCACHE_CHUNK_SIZE is overridden by SPILLWAY_CHUNK_SIZE; ignored");

        env.remove("SPILLWAY_CHUNK_SIZE");
        SpillwayConfig alias = SpillwayConfig.load(env);
        assertThat(alias.chunkSize()).isEqualTo(512);
        assertThat(alias.entry(ConfigKey.CHUNK_SIZE).source()).isEqualTo("env:LMCACHE_CHUNK_SIZE");
        assertThat(alias.variable(ConfigKey.CHUNK_SIZE)).isEqualTo("LMCACHE_CHUNK_SIZE");

        env.remove("LMCACHE_CHUNK_SIZE");
        SpillwayConfig fromFile = SpillwayConfig.load(env);
        assertThat(fromFile.chunkSize()).isEqualTo(128);
        assertThat(fromFile.entry(ConfigKey.CHUNK_SIZE).source()).isEqualTo(fileSource(file));
        assertThat(fromFile.variable(ConfigKey.CHUNK_SIZE)).isEqualTo(fileSource(file) + ":chunk_size");

        env.remove("SPILLWAY_CONFIG_FILE");
        assertThat(SpillwayConfig.load(env).entry(ConfigKey.CHUNK_SIZE))
                .isEqualTo(new ConfigEntry("chunk_size", 256, "default"));
        assertThat(SpillwayConfig.load(env).variable(ConfigKey.CHUNK_SIZE)).isEqualTo("SPILLWAY_CHUNK_SIZE");
    }

    /** A value for every key, with what else must be set so that the configuration is consistent. */
    static Stream<Arguments> everyKey() {
        return Stream.of(
                Arguments.of(ConfigKey.CHUNK_SIZE, "512", 512, Map.of()),
                Arguments.of(ConfigKey.LOCAL_CPU, "False", false, Map.of("remote_url", "redis://h:6379")),
                Arguments.of(ConfigKey.MAX_LOCAL_CPU_SIZE, "0.5", 0.5, Map.of()),
                Arguments.of(ConfigKey.LOCAL_DISK, "file:///tmp/lmcache/", "file:///tmp/lmcache/",
                        Map.of("max_local_disk_size", "2")),
                Arguments.of(ConfigKey.MAX_LOCAL_DISK_SIZE, "2.5", 2.5, Map.of("local_disk", "/tmp/d")),
                Arguments.of(ConfigKey.REMOTE_URL, "redis://cache:6379", "redis://cache:6379", Map.of()),
                Arguments.of(ConfigKey.REMOTE_TLS_CA_FILE, CaPemFiles.shared().toString(),
                        CaPemFiles.shared().toString(), Map.of("remote_url", "rediss://cache:6380")),
                Arguments.of(ConfigKey.REMOTE_TIMEOUT_MS, "250", 250L, Map.of()),
                Arguments.of(ConfigKey.REMOTE_TTL_SECONDS, "3600", 3600L, Map.of()),
                Arguments.of(ConfigKey.WRITE_POLICY, "Write-Back", "write-back", Map.of()),
                Arguments.of(ConfigKey.LOCAL_DISK_ADMIT_AFTER, "2", 2, Map.of()),
                Arguments.of(ConfigKey.CACHE_POLICY, "S3-FIFO", "s3fifo", Map.of()),
                Arguments.of(ConfigKey.PREFIX_AWARE_EVICTION, "yes", true, Map.of()),
                Arguments.of(ConfigKey.SAVE_UNFULL_CHUNK, "True", true, Map.of()),
                Arguments.of(ConfigKey.USE_LAYERWISE, "off", false, Map.of()),
                Arguments.of(ConfigKey.PIN_TIMEOUT_MS, "1500", 1500L, Map.of()),
                Arguments.of(ConfigKey.NAMESPACE, "tenant-a", "tenant-a", Map.of()),
                Arguments.of(ConfigKey.GPU, "SIM", "sim", Map.of()),
                Arguments.of(ConfigKey.GPU_CACHE_SIZE, "1.5", 1.5, Map.of()),
                Arguments.of(ConfigKey.COPY_STREAMS, "4", 4, Map.of()),
                Arguments.of(ConfigKey.SIM_LINK_GBPS, "12.5", 12.5, Map.of()),
                Arguments.of(ConfigKey.METRICS_PORT, "9464", 9464, Map.of()));
    }

    @Test
    void shouldHaveASampleForEveryKey() {
        assertThat(everyKey().map(arguments -> arguments.get()[0])).containsExactly((Object[]) ConfigKey.values());
    }

    @ParameterizedTest
    @MethodSource("everyKey")
    void shouldReadEveryKeyFromEachOfItsSources(ConfigKey key, String written, Object value,
                                                Map<String, String> companions) throws IOException {
        Map<String, String> base = new HashMap<>();
        companions.forEach((k, v) -> base.put(ConfigKey.byKey(k).orElseThrow().variable(), v));

        Map<String, String> spillway = new HashMap<>(base);
        spillway.put(key.variable(), written);
        assertThat(SpillwayConfig.load(spillway).entry(key))
                .isEqualTo(new ConfigEntry(key.key(), value, "env:" + key.variable()));

        key.lmcacheVariable().ifPresent(alias -> {
            Map<String, String> lmcache = new HashMap<>(base);
            lmcache.put(alias, written);
            assertThat(SpillwayConfig.load(lmcache).entry(key))
                    .isEqualTo(new ConfigEntry(key.key(), value, "env:" + alias));
        });

        Path file = yaml(dir, key.key() + ": '" + written + "'\n");
        Map<String, String> fromFile = new HashMap<>(base);
        fromFile.put("SPILLWAY_CONFIG_FILE", file.toString());
        assertThat(SpillwayConfig.load(fromFile).entry(key))
                .isEqualTo(new ConfigEntry(key.key(), value, fileSource(file)));
    }

    @Test
    void shouldIgnoreLmcacheVariablesThatSpillwayDoesNotAliasWithAWarning() {
        SpillwayConfig config = SpillwayConfig.load(env(
                "LMCACHE_NAMESPACE", "x", "LMCACHE_USE_EXPERIMENTAL", "True", "LMCACHE_CHUNK_SIZE", "512"));

        assertThat(config.namespace()).isEqualTo("default");
        assertThat(config.chunkSize()).isEqualTo(512);
        assertThat(config.warnings()).containsExactly(
                "LMCACHE_NAMESPACE has no Spillway equivalent; ignored",
                "LMCACHE_USE_EXPERIMENTAL has no Spillway equivalent; ignored");
    }

    @Test
    void shouldReadAnLmcacheConfigFileAndWarnAboutKeysSpillwayDoesNotHave() throws IOException {
        Path file = yaml(dir, """
                chunk_size: 256
                local_cpu: True
                max_local_cpu_size: 5.0
                local_disk: "file:///tmp/lmcache/"
                max_local_disk_size: 0.001
                remote_url: null
                remote_serde: "naive"
                save_unfull_chunk: False
                """);

        SpillwayConfig config = SpillwayConfig.load(env("LMCACHE_CONFIG_FILE", file.toString()));

        assertThat(config.chunkSize()).isEqualTo(256);
        assertThat(config.localCpu()).isTrue();
        assertThat(config.maxLocalCpuSizeGiB()).isEqualTo(5.0);
        assertThat(config.localDisk()).contains("file:///tmp/lmcache/");
        assertThat(config.maxLocalDiskBytes()).isEqualTo(1_073_742L);
        assertThat(config.remoteUrl()).isEmpty();
        assertThat(config.entry(ConfigKey.REMOTE_URL)).isEqualTo(new ConfigEntry("remote_url", null, fileSource(file)));
        assertThat(config.entry(ConfigKey.LOCAL_CPU).source()).isEqualTo(fileSource(file));
        assertThat(config.warnings())
                .containsExactly(fileSource(file) + ":remote_serde has no Spillway equivalent; ignored");
    }

    @Test
    void shouldAcceptTypedAndQuotedYamlValuesAlike() throws IOException {
        Path typed = yaml(dir, "chunk_size: 512\nuse_layerwise: false\nmax_local_cpu_size: 2\nnamespace: 42\n");
        Path quoted = Files.writeString(dir.resolve("quoted.yaml"),
                "chunk_size: '512'\nuse_layerwise: 'False'\nmax_local_cpu_size: '2.0'\nnamespace: '42'\n");

        for (Path file : List.of(typed, quoted)) {
            SpillwayConfig config = SpillwayConfig.load(env("SPILLWAY_CONFIG_FILE", file.toString()));
            assertThat(config.chunkSize()).isEqualTo(512);
            assertThat(config.useLayerwise()).isFalse();
            assertThat(config.maxLocalCpuSizeGiB()).isEqualTo(2.0);
            assertThat(config.namespace()).isEqualTo("42");
        }
    }

    @Test
    void shouldTakeAnEmptyFileAsNoKeys() throws IOException {
        Path file = yaml(dir, "# nothing here yet\n");

        assertThat(SpillwayConfig.load(env("SPILLWAY_CONFIG_FILE", file.toString())).entries())
                .extracting(ConfigEntry::source).containsOnly("default");
    }

    @Test
    void shouldPreferTheSpillwayConfigFileAndWarnAboutTheLmcacheOne() throws IOException {
        Path spillway = yaml(dir, "chunk_size: 64\n");
        Path lmcache = Files.writeString(dir.resolve("lmcache.yaml"), "chunk_size: 32\n");

        SpillwayConfig config = SpillwayConfig.load(env(
                "SPILLWAY_CONFIG_FILE", spillway.toString(), "LMCACHE_CONFIG_FILE", lmcache.toString()));

        assertThat(config.chunkSize()).isEqualTo(64);
        assertThat(config.warnings())
                .containsExactly("LMCACHE_CONFIG_FILE is overridden by SPILLWAY_CONFIG_FILE; ignored");
    }

    @Test
    void shouldLetAnEmptyVariableUnsetAnOptionalKeyThatTheFileSets() throws IOException {
        Path file = yaml(dir, "remote_url: redis://cache:6379\nmetrics_port: 9464\n");

        SpillwayConfig config = SpillwayConfig.load(env(
                "SPILLWAY_CONFIG_FILE", file.toString(), "SPILLWAY_REMOTE_URL", "", "SPILLWAY_METRICS_PORT", " "));

        assertThat(config.remoteUrl()).isEmpty();
        assertThat(config.metricsPort()).isEmpty();
        assertThat(config.entry(ConfigKey.REMOTE_URL).source()).isEqualTo("env:SPILLWAY_REMOTE_URL");
    }

    @ParameterizedTest
    @CsvSource({"true,true", "TRUE,true", "1,true", "yes,true", "On,true",
                "false,false", "False,false", "0,false", "NO,false", "off,false"})
    void shouldAcceptEveryBooleanSpelling(String written, boolean value) {
        assertThat(SpillwayConfig.load(env("SPILLWAY_SAVE_UNFULL_CHUNK", written)).saveUnfullChunk())
                .isEqualTo(value);
    }

    @ParameterizedTest
    @ValueSource(strings = {"redis://localhost:6379", "rediss://user:pw@cache.example.com:6380/2",
                            "redis://:pw@10.0.0.1:6379", "redis://[::1]:6379",
                            "redis-sentinel://s1:26379,s2:26379,s3:26379/1",
                            "redis-sentinel://s1:26379,s2:26379?master=kv-cache",
                            "redis-cluster://10.0.0.1:7000,10.0.0.2:7001"})
    void shouldAcceptRedisUrls(String url) {
        assertThat(SpillwayConfig.load(env("SPILLWAY_REMOTE_URL", url)).remoteUrl()).contains(url);
    }

    @Test
    void shouldMaskTheRemotePasswordInEntriesButNotInTheAccessor() {
        SpillwayConfig config = SpillwayConfig.load(env("LMCACHE_REMOTE_URL", "rediss://app:s3cret@cache:6380"));

        assertThat(config.remoteUrl()).contains("rediss://app:s3cret@cache:6380");
        assertThat(config.entry(ConfigKey.REMOTE_URL).value()).isEqualTo("rediss://app:****@cache:6380");
        assertThat(config.toString()).doesNotContain("s3cret").contains("rediss://app:****@cache:6380");
    }

    @Test
    void shouldReadEveryCertificateOfTheCaFileOnceAtLoad() throws IOException {
        Path file = CaPemFiles.write(dir.resolve("cas.pem"), 2);

        SpillwayConfig config = SpillwayConfig.load(env("SPILLWAY_REMOTE_URL", "rediss://cache:6380",
                "SPILLWAY_REMOTE_TLS_CA_FILE", file.toString()));
        Files.delete(file);

        assertThat(config.remoteTlsCaCertificates()).containsExactlyElementsOf(CaPemFiles.jdkCas().subList(0, 2));
        assertThat(config.entry(ConfigKey.REMOTE_TLS_CA_FILE))
                .isEqualTo(new ConfigEntry("remote_tls_ca_file", file.toString(), "env:SPILLWAY_REMOTE_TLS_CA_FILE"));
    }

    @Test
    void shouldTrustTheJdkDefaultsWithoutACaFile() {
        assertThat(SpillwayConfig.load(env("SPILLWAY_REMOTE_URL", "rediss://cache:6380")).remoteTlsCaCertificates())
                .isEmpty();
    }

    @Test
    void shouldConvertSmallSizesToWholeBytes() {
        SpillwayConfig config = SpillwayConfig.load(env("SPILLWAY_MAX_LOCAL_CPU_SIZE", "0.001"));

        assertThat(config.maxLocalCpuSizeGiB()).isEqualTo(0.001);
        assertThat(config.maxLocalCpuBytes()).isEqualTo(1_073_742L);
    }
}
