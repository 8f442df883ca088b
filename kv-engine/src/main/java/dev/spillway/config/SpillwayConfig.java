package dev.spillway.config;

import static dev.spillway.config.ConfigKey.CACHE_POLICY;
import static dev.spillway.config.ConfigKey.CHUNK_SIZE;
import static dev.spillway.config.ConfigKey.COPY_STREAMS;
import static dev.spillway.config.ConfigKey.GPU;
import static dev.spillway.config.ConfigKey.GPU_CACHE_SIZE;
import static dev.spillway.config.ConfigKey.LMCACHE_PREFIX;
import static dev.spillway.config.ConfigKey.LOCAL_DISK_ADMIT_AFTER;
import static dev.spillway.config.ConfigKey.LOCAL_CPU;
import static dev.spillway.config.ConfigKey.LOCAL_DISK;
import static dev.spillway.config.ConfigKey.MAX_LOCAL_CPU_SIZE;
import static dev.spillway.config.ConfigKey.MAX_LOCAL_DISK_SIZE;
import static dev.spillway.config.ConfigKey.METRICS_PORT;
import static dev.spillway.config.ConfigKey.NAMESPACE;
import static dev.spillway.config.ConfigKey.PIN_TIMEOUT_MS;
import static dev.spillway.config.ConfigKey.REMOTE_TIMEOUT_MS;
import static dev.spillway.config.ConfigKey.REMOTE_TLS_CA_FILE;
import static dev.spillway.config.ConfigKey.REMOTE_TTL_SECONDS;
import static dev.spillway.config.ConfigKey.PREFIX_AWARE_EVICTION;
import static dev.spillway.config.ConfigKey.REMOTE_URL;
import static dev.spillway.config.ConfigKey.SAVE_UNFULL_CHUNK;
import static dev.spillway.config.ConfigKey.SIM_LINK_GBPS;
import static dev.spillway.config.ConfigKey.WRITE_POLICY;
import static dev.spillway.config.ConfigKey.SPILLWAY_PREFIX;
import static dev.spillway.config.ConfigKey.USE_LAYERWISE;

import dev.spillway.eviction.PolicyKind;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Spillway's effective configuration: every {@link ConfigKey} with a valid value and the source it
 * came from. Immutable and safe to share between threads.
 *
 * <p>For each key the first of these that sets it wins: the environment variable
 * {@code SPILLWAY_<KEY>}; the LMCache alias {@code LMCACHE_<KEY>} (for keys LMCache has); the YAML
 * file named by {@code SPILLWAY_CONFIG_FILE}, else by {@code LMCACHE_CONFIG_FILE}; the default.
 *
 * <p>Everything is checked once, in {@link #load}: an instance exists only for a configuration that
 * Spillway can run with, and its accessors never fail. An empty value (or a YAML null) unsets an
 * optional key, which also overrides a lower source that sets it.
 *
 * <p>This package is the only place in Spillway that reads the process environment.
 */
public final class SpillwayConfig {

    private static final String CONFIG_FILE = "CONFIG_FILE";
    private static final String DEFAULT_SOURCE = "default";
    /** The largest default size of the disk tier, in GiB. */
    private static final long DEFAULT_DISK_MAX_GIB = 32;

    private final Map<ConfigKey, Setting> settings;
    private final List<String> warnings;
    private final List<X509Certificate> remoteTlsCaCertificates;

    private SpillwayConfig(Map<ConfigKey, Setting> settings, List<String> warnings,
                           List<X509Certificate> remoteTlsCaCertificates) {
        this.settings = new EnumMap<>(settings);
        this.warnings = List.copyOf(warnings);
        this.remoteTlsCaCertificates = List.copyOf(remoteTlsCaCertificates);
    }

    /**
     * Returns the environment of this process. Callers outside this package pass it to
     * {@link #load} (or call {@link #fromEnvironment}) instead of reading it themselves.
     */
    public static Map<String, String> environment() {
        return System.getenv();
    }

    /**
     * Loads the configuration from this process's environment; the same as
     * {@code load(environment())}.
     *
     * @throws ConfigException as {@link #load} does
     */
    public static SpillwayConfig fromEnvironment() {
        return load(environment());
    }

    /**
     * Loads and checks the configuration from {@code env} and the YAML file it names.
     *
     * @param env environment variables by name; only names starting with {@code SPILLWAY_} or
     *            {@code LMCACHE_} are looked at
     * @return the configuration, with warnings for what was ignored (unknown {@code LMCACHE_}
     *         variables, keys of an LMCache file that Spillway does not have, aliases overridden by
     *         their {@code SPILLWAY_} variable)
     * @throws ConfigException naming the variable, the value and what was expected when a
     *                         {@code SPILLWAY_} variable is unknown, a value is malformed or out of
     *                         range, the file is missing, unreadable, not YAML or not a map, a
     *                         Spillway file has an unknown key, two keys contradict each other, or
     *                         the remote tier's CA file is missing, unreadable or holds no certificate
     */
    public static SpillwayConfig load(Map<String, String> env) {
        Objects.requireNonNull(env, "env");
        List<String> warnings = new ArrayList<>();
        checkVariableNames(env, warnings);
        ConfigFile file = configFile(env, warnings);
        Map<ConfigKey, Setting> settings = new EnumMap<>(ConfigKey.class);
        for (ConfigKey key : ConfigKey.values()) {
            settings.put(key, resolve(key, env, file, warnings));
        }
        checkConsistency(settings);
        return new SpillwayConfig(settings, warnings, readCertificates(settings.get(REMOTE_TLS_CA_FILE)));
    }

    /** Returns the remote tier's connect and operation timeout in milliseconds. */
    public long remoteTimeoutMillis() {
        return (Long) value(REMOTE_TIMEOUT_MS);
    }

    /** Returns the expiry of remote blocks in seconds, if one is set. */
    public OptionalLong remoteTtlSeconds() {
        Object ttl = value(REMOTE_TTL_SECONDS);
        return ttl == null ? OptionalLong.empty() : OptionalLong.of((Long) ttl);
    }

    /** Returns whether lower tiers are written behind every store ({@code true}) or only on eviction. */
    public boolean writeThrough() {
        return "write-through".equals(value(WRITE_POLICY));
    }

    /** Returns how many stores of a chunk it takes before the disk tier admits it, 1 to 1000. */
    public int localDiskAdmitAfter() {
        return (Integer) value(LOCAL_DISK_ADMIT_AFTER);
    }

    /** Returns the GPU runtime choice: {@code auto}, {@code cuda}, {@code sim} or {@code off}. */
    public String gpu() {
        return (String) value(GPU);
    }

    /** Returns the capacity of the device tier in bytes; 0 when the tier is off. */
    public long gpuCacheBytes() {
        return ValueKind.bytes((Double) value(GPU_CACHE_SIZE));
    }

    /** Returns the number of copy streams of the transfer engine, 1 to 16. */
    public int copyStreams() {
        return (Integer) value(COPY_STREAMS);
    }

    /** Returns the bandwidth in GB/s the simulated runtime holds its copies to; 0 for no limit. */
    public double simLinkGbps() {
        return (Double) value(SIM_LINK_GBPS);
    }

    /** Returns the number of tokens per chunk, 1 to 65536. */
    public int chunkSize() {
        return (Integer) value(CHUNK_SIZE);
    }

    /** Returns whether the pinned host memory tier is on. */
    public boolean localCpu() {
        return (Boolean) value(LOCAL_CPU);
    }

    /** Returns the capacity of the host memory tier in GiB, greater than 0. */
    public double maxLocalCpuSizeGiB() {
        return (Double) value(MAX_LOCAL_CPU_SIZE);
    }

    /** Returns the capacity of the host memory tier in bytes (GiB times 2^30, rounded), at least 1. */
    public long maxLocalCpuBytes() {
        return Math.max(1, ValueKind.bytes(maxLocalCpuSizeGiB()));
    }

    /** Returns the directory (a path or {@code file://} URL, as written) of the disk tier, if it is on. */
    public Optional<String> localDisk() {
        return Optional.ofNullable((String) value(LOCAL_DISK));
    }

    /** Returns the capacity of the disk tier in GiB: greater than 0 exactly when {@link #localDisk} is set. */
    public double maxLocalDiskSizeGiB() {
        return (Double) value(MAX_LOCAL_DISK_SIZE);
    }

    /** Returns the capacity of the disk tier in bytes (GiB times 2^30, rounded). */
    public long maxLocalDiskBytes() {
        return ValueKind.bytes(maxLocalDiskSizeGiB());
    }

    /**
     * Returns the URL of the remote tier, if it is on, with its password: a {@code redis://},
     * {@code rediss://}, {@code redis-sentinel://} or {@code redis-cluster://} URL whose host:port list
     * is well formed.
     */
    public Optional<String> remoteUrl() {
        return Optional.ofNullable((String) value(REMOTE_URL));
    }

    /**
     * Returns the CA certificates that a {@code rediss://} remote tier's server certificate must
     * chain to, read from {@code remote_tls_ca_file} once, by {@link #load}; empty when that key is
     * unset, and the JDK's default trust store applies. Never empty when the key is set, which it can
     * only be together with a {@code rediss://} {@link #remoteUrl}.
     */
    public List<X509Certificate> remoteTlsCaCertificates() {
        return remoteTlsCaCertificates;
    }

    /** Returns the eviction policy. */
    public PolicyKind cachePolicy() {
        return PolicyKind.parse((String) value(CACHE_POLICY));
    }

    /** Returns whether eviction spares chunks that later chunks of a prefix chain extend. */
    public boolean prefixAwareEviction() {
        return (Boolean) value(PREFIX_AWARE_EVICTION);
    }

    /** Returns whether the last chunk of a prompt is stored when it has fewer than chunkSize tokens. */
    public boolean saveUnfullChunk() {
        return (Boolean) value(SAVE_UNFULL_CHUNK);
    }

    /** Returns whether KV moves layer by layer. */
    public boolean useLayerwise() {
        return (Boolean) value(USE_LAYERWISE);
    }

    /** Returns how long a lookup's pins last without a retrieve, in milliseconds, greater than 0. */
    public long pinTimeoutMillis() {
        return (Long) value(PIN_TIMEOUT_MS);
    }

    /** Returns the tenant namespace: 1 to 128 letters, digits, '.', '_' or '-'. */
    public String namespace() {
        return (String) value(NAMESPACE);
    }

    /** Returns the port of the Prometheus endpoint, 0 (any free port) to 65535, if it is on. */
    public OptionalInt metricsPort() {
        Integer port = (Integer) value(METRICS_PORT);
        return port == null ? OptionalInt.empty() : OptionalInt.of(port);
    }

    /**
     * Returns one key's effective value and source; a password in a URL is masked, so the entry can
     * be printed.
     */
    public ConfigEntry entry(ConfigKey key) {
        Setting setting = settings.get(key);
        Object value = setting.value() instanceof String text ? ValueKind.maskPassword(text) : setting.value();
        return new ConfigEntry(key.key(), value, setting.source());
    }

    /** Returns {@link #entry} for every key, in {@link ConfigKey} order. */
    public List<ConfigEntry> entries() {
        return Arrays.stream(ConfigKey.values()).map(this::entry).toList();
    }

    /** Returns what loading ignored, one sentence each, in a stable order; empty when nothing was. */
    public List<String> warnings() {
        return warnings;
    }

    /**
     * Returns what sets {@code key}, as a user would change it: the environment variable (its
     * {@code SPILLWAY_} name or the {@code LMCACHE_} alias that was used), {@code file:PATH:key} for
     * the YAML file, or the key's {@code SPILLWAY_} variable when the default applies. Errors about a
     * value name it, as {@link ConfigException#variable()} does.
     */
    public String variable(ConfigKey key) {
        return settings.get(key).variable();
    }

    /**
     * Returns the value of {@code key} as its source wrote it ({@code 100000} for a size given as
     * {@code SPILLWAY_MAX_LOCAL_CPU_SIZE=100000}), or the default's text, for messages that name
     * the value as a user would recognise it; a password in a URL is masked.
     */
    public String written(ConfigKey key) {
        return ValueKind.maskPassword(settings.get(key).written());
    }

    /**
     * Formats a byte count as GiB with one decimal, rounded down, the unit sizes are configured in,
     * so that a bound an error message shows is never above the true one.
     */
    public static String formatGiB(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", Math.floor(bytes * 10.0 / (1L << 30)) / 10);
    }

    /** Returns every entry as {@code key=value (source)}, passwords masked. */
    @Override
    public String toString() {
        return entries().stream()
                .map(e -> e.key() + "=" + e.value() + " (" + e.source() + ")")
                .collect(Collectors.joining(", ", "SpillwayConfig[", "]"));
    }

    private Object value(ConfigKey key) {
        return settings.get(key).value();
    }

    private static void checkVariableNames(Map<String, String> env, List<String> warnings) {
        List<String> known = Stream.concat(Stream.of(SPILLWAY_PREFIX + CONFIG_FILE),
                Arrays.stream(ConfigKey.values()).map(ConfigKey::variable)).toList();
        Set<String> aliases = Stream.concat(Stream.of(LMCACHE_PREFIX + CONFIG_FILE),
                Arrays.stream(ConfigKey.values()).flatMap(k -> k.lmcacheVariable().stream()))
                .collect(Collectors.toSet());
        for (String name : new TreeSet<>(env.keySet())) {
            if (name.startsWith(SPILLWAY_PREFIX) && !known.contains(name)) {
                throw new ConfigException(name, env.get(name), "unknown variable",
                        "one of " + String.join(", ", known));
            }
            if (name.startsWith(LMCACHE_PREFIX) && !aliases.contains(name)) {
                warnings.add(name + " has no Spillway equivalent; ignored");
            }
        }
    }

    private static ConfigFile configFile(Map<String, String> env, List<String> warnings) {
        return lookup(env, SPILLWAY_PREFIX + CONFIG_FILE, Optional.of(LMCACHE_PREFIX + CONFIG_FILE), warnings)
                .filter(named -> !named.text().isBlank())
                .map(named -> ConfigFile.read(named.variable(), named.text().strip(),
                        named.variable().startsWith(SPILLWAY_PREFIX), warnings))
                .orElse(ConfigFile.NONE);
    }

    /** Finds the variable, else its alias; warns when the variable overrides a set alias. */
    private static Optional<EnvValue> lookup(Map<String, String> env, String variable, Optional<String> alias,
                                             List<String> warnings) {
        Optional<String> setAlias = alias.filter(env::containsKey);
        if (env.containsKey(variable)) {
            setAlias.ifPresent(a -> warnings.add(a + " is overridden by " + variable + "; ignored"));
            return Optional.of(new EnvValue(variable, env.get(variable)));
        }
        return setAlias.map(a -> new EnvValue(a, env.get(a)));
    }

    private static Setting resolve(ConfigKey key, Map<String, String> env, ConfigFile file, List<String> warnings) {
        Optional<EnvValue> fromEnv = lookup(env, key.variable(), key.lmcacheVariable(), warnings);
        if (fromEnv.isPresent()) {
            EnvValue named = fromEnv.get();
            return parse(key, named.text(), "env:" + named.variable(), named.variable());
        }
        if (file.values().containsKey(key.key())) {
            return parse(key, file.values().get(key.key()), file.source(), file.variable(key.key()));
        }
        return new Setting(key.defaultValue(), DEFAULT_SOURCE, key.variable(), String.valueOf(key.defaultValue()));
    }

    private static Setting parse(ConfigKey key, Object raw, String source, String variable) {
        String written = String.valueOf(raw);
        boolean empty = raw == null || raw instanceof String text && text.isBlank();
        if (empty && key.optional()) {
            return new Setting(null, source, variable, written);
        }
        Object value;
        try {
            value = raw == null ? null : key.kind().parse(raw);
        } catch (IllegalArgumentException | ArithmeticException e) {
            value = null;
        }
        if (value == null) {
            throw new ConfigException(variable, written, key.expected());
        }
        return new Setting(value, source, variable, written);
    }

    private static void checkConsistency(Map<ConfigKey, Setting> settings) {
        Setting disk = settings.get(LOCAL_DISK);
        Setting cpu = settings.get(LOCAL_CPU);
        boolean diskOn = disk.value() != null;
        if (diskOn && DEFAULT_SOURCE.equals(settings.get(MAX_LOCAL_DISK_SIZE).source())) {
            double defaultGiB = defaultDiskGiB(disk);
            settings.put(MAX_LOCAL_DISK_SIZE, new Setting(defaultGiB, DEFAULT_SOURCE,
                    settings.get(MAX_LOCAL_DISK_SIZE).variable(), String.valueOf(defaultGiB)));
        }
        Setting diskSize = settings.get(MAX_LOCAL_DISK_SIZE);
        double diskGiB = (Double) diskSize.value();
        if (diskOn && diskGiB == 0) {
            throw new ConfigException(diskSize.variable(), diskSize.written(),
                    "local_disk is set (" + disk.source() + ") but the disk tier has no capacity",
                    ValueKind.gib(false).expected());
        }
        if (!diskOn && diskGiB > 0) {
            throw new ConfigException(diskSize.variable(), diskSize.written(),
                    "local_disk is not set, so the disk tier has no directory", "0, or local_disk set as well");
        }
        Setting gpu = settings.get(GPU);
        Setting gpuCache = settings.get(GPU_CACHE_SIZE);
        if ("off".equals(gpu.value()) && (Double) gpuCache.value() > 0) {
            throw new ConfigException(gpuCache.variable(), gpuCache.written(),
                    "gpu=off (" + gpu.source() + ") leaves the GPU tier without a GPU runtime",
                    "0 while gpu=off, or gpu=auto, cuda or sim");
        }
        Setting url = settings.get(REMOTE_URL);
        Setting caFile = settings.get(REMOTE_TLS_CA_FILE);
        if (caFile.value() != null && !(url.value() instanceof String text && text.startsWith("rediss://"))) {
            throw new ConfigException(caFile.variable(), caFile.written(),
                    url.value() == null ? "remote_url is not set, so there is no TLS connection to verify"
                            : "remote_url '" + ValueKind.maskPassword((String) url.value()) + "' (" + url.source()
                                    + ") does not use TLS",
                    "unset, or remote_url set to a rediss:// URL");
        }
        if (!(Boolean) cpu.value() && !diskOn && url.value() == null) {
            throw new ConfigException(cpu.variable(), cpu.written(),
                    "no tier enabled (local_disk and remote_url are unset)",
                    "true, or local_disk or remote_url set");
        }
    }

    /**
     * The disk tier's size when {@code local_disk} is set and no source sets
     * {@code max_local_disk_size}: 32 GiB, or a tenth of the total size
     * of the file system that holds the directory (its nearest existing ancestor) when that is less,
     * rounded down to a multiple of 1 MiB. The total size, not the free space, so that the tier keeps
     * its size across restarts as it fills the disk.
     */
    private static double defaultDiskGiB(Setting disk) {
        String text = (String) disk.value();
        Path directory = ValueKind.localPathOf(text).toAbsolutePath();
        while (directory != null && !Files.exists(directory)) {
            directory = directory.getParent();
        }
        long totalBytes;
        try {
            if (directory == null) {
                throw new IOException("no ancestor directory exists");
            }
            totalBytes = Files.getFileStore(directory).getTotalSpace();
        } catch (IOException e) {
            throw new ConfigException(disk.variable(), disk.written(),
                    "the size of its file system cannot be read (" + e.getMessage() + ")",
                    "a directory on a file system whose size can be read, or max_local_disk_size set");
        }
        long mebibytes = Math.min(DEFAULT_DISK_MAX_GIB * 1024, totalBytes / 10 / (1L << 20));
        if (mebibytes == 0) {
            throw new ConfigException(disk.variable(), disk.written(),
                    "its file system (at " + directory + ") holds " + totalBytes + " bytes in all, too few for a default"
                            + " size (a tenth of it)", "a directory on a disk, or max_local_disk_size set");
        }
        return mebibytes / 1024.0;
    }

    /**
     * Reads the certificates of the CA file, if one is set, so that a wrong file stops Spillway at
     * start with the reason, not at the first TLS handshake.
     */
    private static List<X509Certificate> readCertificates(Setting file) {
        if (file.value() == null) {
            return List.of();
        }
        Path path = Path.of((String) file.value());
        String problem;
        if (!Files.exists(path)) {
            problem = "no such file";
        } else if (!Files.isRegularFile(path)) {
            problem = "not a regular file";
        } else if (!Files.isReadable(path)) {
            problem = "the file is not readable";
        } else {
            try (InputStream in = Files.newInputStream(path)) {
                // An X.509 factory yields X509Certificates only.
                List<X509Certificate> certificates = CertificateFactory.getInstance("X.509").generateCertificates(in)
                        .stream().map(X509Certificate.class::cast).toList();
                if (!certificates.isEmpty()) {
                    return certificates;
                }
                problem = "the file holds no certificate";
            } catch (IOException e) {
                problem = "the file cannot be read (" + e.getMessage() + ")";
            } catch (CertificateException e) {
                problem = "the file is not PEM X.509 certificates (" + e.getMessage() + ")";
            }
        }
        throw new ConfigException(file.variable(), file.written(), problem, REMOTE_TLS_CA_FILE.expected());
    }

    /**
     * One key's effective value and origin.
     *
     * @param variable the variable or {@code file:PATH:key} that set it, or the key's Spillway
     *                 variable for a default, so that errors say what to change
     * @param written  the value as written, for error messages
     */
    private record Setting(Object value, String source, String variable, String written) {
    }

    /** A set environment variable. */
    private record EnvValue(String variable, String text) {
    }
}
