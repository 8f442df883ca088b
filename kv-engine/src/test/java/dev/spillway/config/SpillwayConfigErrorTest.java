package dev.spillway.config;

import static dev.spillway.config.SpillwayConfigTest.env;
import static dev.spillway.config.SpillwayConfigTest.fileSource;
import static dev.spillway.config.SpillwayConfigTest.yaml;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SpillwayConfigErrorTest {

    @TempDir
    Path dir;

    /** Loads {@code env}, which must fail, and returns the failure. */
    static ConfigException failure(Map<String, String> env) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> SpillwayConfig.load(env));
        assertThat(e).as("load(%s) should fail", env).isNotNull();
        return e;
    }

    /** Checks that the exception, and its message, name the variable, the value and the expectation. */
    static void assertNames(ConfigException e, String variable, String value, String expected) {
        assertThat(e.variable()).isEqualTo(variable);
        assertThat(e.value()).isEqualTo(value);
        assertThat(e.expected()).contains(expected);
        assertThat(e.getMessage()).startsWith(variable + "='" + value + "': ").endsWith("expected " + e.expected());
    }

    @Test
    void shouldSayWhichVariableWhichValueAndWhatWasExpected() {
        ConfigException e = failure(env("SPILLWAY_CHUNK_SIZE", "abc"));

        assertThat(e).hasMessage("SPILLWAY_CHUNK_SIZE='abc': expected an integer between 1 and 65536");
        assertNames(e, "SPILLWAY_CHUNK_SIZE", "abc", "an integer between 1 and 65536");
    }

    @Test
    void shouldRejectAnUnknownSpillwayVariableAndListTheKnownOnes() {
        ConfigException e = failure(env("SPILLWAY_CHUNKSIZE", "256"));

        assertNames(e, "SPILLWAY_CHUNKSIZE", "256", "SPILLWAY_CHUNK_SIZE");
        assertThat(e.getMessage()).contains("unknown variable")
                .contains("SPILLWAY_CONFIG_FILE", "SPILLWAY_CHUNK_SIZE", "SPILLWAY_METRICS_PORT");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "SPILLWAY_CHUNK_SIZE         | 0                   | an integer between 1 and 65536",
        "LMCACHE_CHUNK_SIZE          | 65537               | an integer between 1 and 65536",
        "LMCACHE_CHUNK_SIZE          | 256.0               | an integer between 1 and 65536",
        "SPILLWAY_CHUNK_SIZE         | 99999999999999999999 | an integer between 1 and 65536",
        "LMCACHE_LOCAL_CPU           | maybe               | a boolean",
        "SPILLWAY_MAX_LOCAL_CPU_SIZE | 0                   | a size in GiB greater than 0",
        "SPILLWAY_MAX_LOCAL_CPU_SIZE | 5GB                 | a size in GiB greater than 0",
        "SPILLWAY_MAX_LOCAL_CPU_SIZE | NaN                 | a size in GiB greater than 0",
        "SPILLWAY_MAX_LOCAL_CPU_SIZE | 2000000             | at most 1048576",
        "LMCACHE_MAX_LOCAL_DISK_SIZE | -1                  | a size in GiB from 0",
        "LMCACHE_LOCAL_DISK          | s3://bucket/dir     | a directory path or a file:///absolute/path URL",
        "LMCACHE_CACHE_POLICY        | random              | one of lru, fifo, lfu, mru, s3fifo",
        "SPILLWAY_PIN_TIMEOUT_MS     | 0                   | an integer greater than 0",
        "SPILLWAY_PIN_TIMEOUT_MS     | 1s                  | an integer greater than 0",
        "SPILLWAY_NAMESPACE          | ''                  | a name of 1 to 128",
        "SPILLWAY_NAMESPACE          | a:b                 | a name of 1 to 128",
        "SPILLWAY_METRICS_PORT       | 65536               | an integer between 0 and 65535",
        "SPILLWAY_PREFIX_AWARE_EVICTION | 2                | a boolean",
    })
    void shouldRejectMalformedAndOutOfRangeValues(String variable, String value, String expected) {
        assertNames(failure(env(variable, value)), variable, value, expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {"lm://localhost:65432", "http://cache:6379", "redis://cache", "redis://a:1,b:2",
                            "redis://cache:0", "redis://cache:70000", "redis-cluster://a:1/0",
                            "redis-cluster://a:1,,b:2", "redis://ca_che:6379", "redis://cache:6379/x",
                            "redis://cache:6379?master=m", "redis-sentinel://s1:26379?db=1"})
    void shouldRejectRemoteUrlsWithAnotherSchemeOrABadHostList(String url) {
        assertNames(failure(env("LMCACHE_REMOTE_URL", url)), "LMCACHE_REMOTE_URL", url, "redis://host:port");
    }

    @Test
    void shouldMaskThePasswordOfARejectedUrl() {
        ConfigException e = failure(env("SPILLWAY_REMOTE_URL", "redis://app:s3cret@cache"));

        assertNames(e, "SPILLWAY_REMOTE_URL", "redis://app:****@cache", "redis://host:port");
        assertThat(e.getMessage()).doesNotContain("s3cret");
    }

    @Test
    void shouldRejectAMissingFile() {
        String missing = dir.resolve("absent.yaml").toString();

        ConfigException e = failure(env("SPILLWAY_CONFIG_FILE", missing));

        assertNames(e, "SPILLWAY_CONFIG_FILE", missing, "a readable YAML file");
        assertThat(e.getMessage()).contains("no such file");
    }

    @Test
    void shouldRejectAFileThatCannotBeRead() {
        ConfigException e = failure(env("LMCACHE_CONFIG_FILE", dir.toString()));

        assertNames(e, "LMCACHE_CONFIG_FILE", dir.toString(), "a readable YAML file");
        assertThat(e.getMessage()).contains("cannot read it");
    }

    @Test
    void shouldRejectAFileThatIsNotYaml() throws IOException {
        Path file = yaml(dir, "chunk_size: [256\n");

        ConfigException e = failure(env("SPILLWAY_CONFIG_FILE", file.toString()));

        assertNames(e, "SPILLWAY_CONFIG_FILE", file.toString(), "YAML file holding a map");
        assertThat(e.getMessage()).contains("not valid YAML (line 2");
    }

    @Test
    void shouldRejectAFileWithTheSameKeyTwice() throws IOException {
        Path file = yaml(dir, "chunk_size: 256\nchunk_size: 512\n");

        assertThat(failure(env("SPILLWAY_CONFIG_FILE", file.toString())).getMessage())
                .contains("not valid YAML").contains("duplicate key chunk_size");
    }

    @Test
    void shouldRejectAFileThatIsNotAMap() throws IOException {
        Path file = yaml(dir, "- chunk_size\n- 256\n");

        ConfigException e = failure(env("SPILLWAY_CONFIG_FILE", file.toString()));

        assertNames(e, "SPILLWAY_CONFIG_FILE", file.toString(), "YAML file holding a map");
        assertThat(e.getMessage()).contains("not a map");
    }

    @Test
    void shouldRejectAnUnknownKeyInASpillwayFile() throws IOException {
        Path file = yaml(dir, "chunk_size: 256\nremote_serde: naive\n");

        ConfigException e = failure(env("SPILLWAY_CONFIG_FILE", file.toString()));

        assertNames(e, fileSource(file) + ":remote_serde", "naive", "one of chunk_size, local_cpu");
        assertThat(e.getMessage()).contains("unknown key");
    }

    @Test
    void shouldNameTheFileAndKeyOfABadFileValue() throws IOException {
        Path file = yaml(dir, "chunk_size: 256.5\n");

        assertNames(failure(env("LMCACHE_CONFIG_FILE", file.toString())),
                fileSource(file) + ":chunk_size", "256.5", "an integer between 1 and 65536");
    }

    @Test
    void shouldRejectANullForAKeyThatMustHaveAValue() throws IOException {
        Path file = yaml(dir, "chunk_size:\n");

        assertNames(failure(env("SPILLWAY_CONFIG_FILE", file.toString())),
                fileSource(file) + ":chunk_size", "null", "an integer between 1 and 65536");
    }

    @Test
    void shouldSayWhyACaFileCannotBeUsed() throws IOException {
        String expected = "a path to a readable PEM file of one or more X.509 CA certificates";
        Path missing = dir.resolve("absent.pem");
        Path empty = Files.writeString(dir.resolve("empty.pem"), "");
        Path key = Files.writeString(dir.resolve("key.pem"), "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n");
        Path garbage = Files.writeString(dir.resolve("garbage.pem"), "not a certificate\n");
        Map<Path, String> problems = Map.of(missing, "no such file", dir, "not a regular file",
                empty, "the file holds no certificate", key, "the file is not PEM X.509 certificates",
                garbage, "the file is not PEM X.509 certificates");

        problems.forEach((file, problem) -> {
            ConfigException e = failure(env("SPILLWAY_REMOTE_URL", "rediss://cache:6380",
                    "SPILLWAY_REMOTE_TLS_CA_FILE", file.toString()));
            assertNames(e, "SPILLWAY_REMOTE_TLS_CA_FILE", file.toString(), expected);
            assertThat(e.getMessage()).as(file.toString()).contains("': " + problem);
        });
    }

    @Test
    void shouldRejectACaFileUrl() {
        assertNames(failure(env("SPILLWAY_REMOTE_URL", "rediss://cache:6380",
                "SPILLWAY_REMOTE_TLS_CA_FILE", "file:///etc/ca.pem")),
                "SPILLWAY_REMOTE_TLS_CA_FILE", "file:///etc/ca.pem", "a path to a readable PEM file");
    }

    @ParameterizedTest
    @ValueSource(strings = {"redis://app:s3cret@cache:6379", "redis-sentinel://s1:26379,s2:26379",
                            "redis-cluster://n1:7000,n2:7000"})
    void shouldRejectACaFileForAUrlWithoutTls(String url) {
        String ca = CaPemFiles.shared().toString();
        ConfigException e = failure(env("SPILLWAY_REMOTE_URL", url, "SPILLWAY_REMOTE_TLS_CA_FILE", ca));

        assertNames(e, "SPILLWAY_REMOTE_TLS_CA_FILE", ca, "unset, or remote_url set to a rediss:// URL");
        assertThat(e.getMessage()).contains("remote_url '" + url.replace("s3cret", "****")
                + "' (env:SPILLWAY_REMOTE_URL) does not use TLS").doesNotContain("s3cret");
    }

    @Test
    void shouldRejectACaFileWithoutARemoteTier() {
        String ca = CaPemFiles.shared().toString();
        ConfigException e = failure(env("SPILLWAY_REMOTE_TLS_CA_FILE", ca));

        assertNames(e, "SPILLWAY_REMOTE_TLS_CA_FILE", ca, "unset, or remote_url set to a rediss:// URL");
        assertThat(e.getMessage()).contains("remote_url is not set");
    }

    @Test
    void shouldRejectALocalDiskWithoutCapacity() {
        ConfigException e = failure(env("LMCACHE_LOCAL_DISK", "file:///tmp/lmcache/", "SPILLWAY_MAX_LOCAL_DISK_SIZE", "0"));

        assertNames(e, "SPILLWAY_MAX_LOCAL_DISK_SIZE", "0", "a size in GiB greater than 0");
        assertThat(e.getMessage()).contains("local_disk is set (env:LMCACHE_LOCAL_DISK)");
    }

    @Test
    void shouldRejectADiskCapacityWithoutALocalDisk() {
        ConfigException e = failure(env("LMCACHE_MAX_LOCAL_DISK_SIZE", "10"));

        assertNames(e, "LMCACHE_MAX_LOCAL_DISK_SIZE", "10", "0, or local_disk set as well");
        assertThat(e.getMessage()).contains("local_disk is not set");
    }

    @Test
    void shouldRejectAConfigurationWithNoTier() {
        ConfigException e = failure(env("LMCACHE_LOCAL_CPU", "False"));

        assertNames(e, "LMCACHE_LOCAL_CPU", "False", "true, or local_disk or remote_url set");
        assertThat(e.getMessage()).contains("no tier enabled");
    }

    @Test
    void shouldRejectAGpuTierWithoutAGpuRuntime() {
        ConfigException e = failure(env("SPILLWAY_GPU", "off", "SPILLWAY_GPU_CACHE_SIZE", "0.5"));

        assertThat(e).hasMessage("SPILLWAY_GPU_CACHE_SIZE='0.5': gpu=off (env:SPILLWAY_GPU) leaves the GPU tier without"
                + " a GPU runtime; expected 0 while gpu=off, or gpu=auto, cuda or sim");
        assertNames(e, "SPILLWAY_GPU_CACHE_SIZE", "0.5", "0 while gpu=off");
    }

    @Test
    void shouldAcceptAGpuTierOnEveryRuntimeButOff() {
        for (String gpu : new String[] {"auto", "cuda", "sim"}) {
            assertThat(SpillwayConfig.load(env("SPILLWAY_GPU", gpu, "SPILLWAY_GPU_CACHE_SIZE", "0.5")).gpuCacheBytes())
                    .isEqualTo(1L << 29);
        }
        assertThat(SpillwayConfig.load(env("SPILLWAY_GPU", "off", "SPILLWAY_GPU_CACHE_SIZE", "0")).gpuCacheBytes()).isZero();
    }

    @Test
    void shouldAcceptNoCpuTierWhenAnotherTierIsOn() {
        assertThat(SpillwayConfig.load(env("LMCACHE_LOCAL_CPU", "False", "LMCACHE_LOCAL_DISK", "/data/kv",
                "LMCACHE_MAX_LOCAL_DISK_SIZE", "100")).localCpu()).isFalse();
    }
}
