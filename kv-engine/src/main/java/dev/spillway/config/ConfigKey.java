package dev.spillway.config;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The configuration keys, in the order every listing uses. This table is the one definition of a
 * key: loading, {@code spillway config} and the table in {@code docs/configuration.md} (checked by a
 * test) all read it.
 *
 * <p>The key is the constant's name in snake_case ({@code chunk_size}); its environment variable is
 * {@code SPILLWAY_} followed by the constant's name; keys that LMCache also has accept
 * {@code LMCACHE_} followed by the constant's name as an alias.
 */
public enum ConfigKey {
    /** Tokens per chunk. */
    CHUNK_SIZE(true, ValueKind.integer(1, 65536), 256, "integer (tokens)",
            "Tokens per chunk: prompts are cut into chunks of this many tokens, each stored and found as a unit."),
    /** Whether the pinned host memory tier is on. */
    LOCAL_CPU(true, ValueKind.bool(), true, "boolean",
            "Keep chunks in pinned host memory (the CPU tier)."),
    /** Capacity of the host memory tier. */
    MAX_LOCAL_CPU_SIZE(true, ValueKind.gib(false), 5.0, "decimal (GiB)",
            "Capacity of the CPU tier."),
    /** Directory of the local persistent tier. */
    LOCAL_DISK(true, ValueKind.localPath(), null, "path or file:// URL",
            "Directory of the persistent local tier; unset turns the tier off."),
    /** Capacity of the local persistent tier. */
    MAX_LOCAL_DISK_SIZE(true, ValueKind.gib(true), 0.0, "decimal (GiB)",
            "Capacity of the local disk tier; above 0 exactly when local_disk is set."),
    /** The shared remote tier. */
    REMOTE_URL(true, ValueKind.redisUrl(), null, "Redis URL",
            "Shared remote tier (Redis standalone, TLS, Sentinel or Cluster); unset turns it off."
                    + " `spillway config` masks the password."),
    /** The certificate authorities a {@code rediss://} remote tier is verified against. */
    REMOTE_TLS_CA_FILE(false, ValueKind.certificateFile(), null, "path",
            "PEM file of one or more CA certificates that a rediss:// server's certificate must chain to (its host"
                    + " name is still verified); unset trusts the JDK's default CAs. Only with a rediss:// remote_url."),
    /** How long a remote operation may take before it counts as a miss. */
    REMOTE_TIMEOUT_MS(false, ValueKind.positiveLong(), 1000L, "integer (milliseconds)",
            "Connect and operation timeout of the remote tier; a timed-out lookup is a miss, a timed-out store is"
                    + " dropped."),
    /** Expiry of blocks in the remote tier. */
    REMOTE_TTL_SECONDS(false, ValueKind.positiveLong(), null, "integer (seconds)",
            "Expiry of blocks stored in the remote tier; unset keeps them until Redis evicts them."),
    /** When chunks are written to the lower tiers. */
    WRITE_POLICY(false, ValueKind.choice("write-through", "write-back"), "write-through", "policy name",
            "write-through queues every stored chunk for the disk and remote tiers at once; write-back writes a"
                    + " chunk down only when the host tier evicts it, or when the engine closes."),
    /** Admission filter of the disk tier. */
    LOCAL_DISK_ADMIT_AFTER(false, ValueKind.integer(1, 1000), 1, "integer (stores)",
            "Write a chunk to the disk tier only once it has been stored this many times, to spare SSDs."),
    /** The eviction policy. */
    CACHE_POLICY(true, ValueKind.policy(), "lru", "policy name",
            "Which chunk a full tier evicts first."),
    /** Whether eviction spares the chunks that later chunks of a prefix extend. */
    PREFIX_AWARE_EVICTION(false, ValueKind.bool(), false, "boolean",
            "Evict the last chunks of a prefix chain before the chunks they extend, so that what stays is"
                    + " still reachable by a prefix lookup."),
    /** Whether the last, partial chunk of a prompt is stored. */
    SAVE_UNFULL_CHUNK(true, ValueKind.bool(), false, "boolean",
            "Also store the last chunk of a prompt when it has fewer than chunk_size tokens."),
    /** Whether KV moves layer by layer. */
    USE_LAYERWISE(true, ValueKind.bool(), true, "boolean",
            "Move KV layer by layer, so that the engine computes one layer while the next is copied."),
    /** How long a lookup's pin waits for its retrieve. */
    PIN_TIMEOUT_MS(false, ValueKind.positiveLong(), 30_000L, "integer (milliseconds)",
            "How long chunks pinned by a lookup stay pinned when the retrieve that should follow never comes."),
    /** The tenant boundary. */
    NAMESPACE(false, ValueKind.name(), "default", "name",
            "Tenant boundary: chunks stored under one namespace are never served to another."),
    /** Which GPU runtime carries the device tier and the transfers. */
    GPU(false, ValueKind.choice("auto", "cuda", "sim", "off"), "auto", "runtime name",
            "GPU runtime: auto uses CUDA when a device answers and the simulated runtime otherwise; cuda fails at"
                    + " start without a device; sim always simulates; off runs without a device tier."),
    /** Capacity of the device tier. */
    GPU_CACHE_SIZE(false, ValueKind.gib(true), 0.0, "decimal (GiB)",
            "Capacity of the GPU tier (G1), device memory above the CPU tier; 0 turns it off. Needs a GPU"
                    + " runtime: gpu must not be off."),
    /** Copy streams of the transfer engine. */
    COPY_STREAMS(false, ValueKind.integer(1, 16), 2, "integer (streams)",
            "Streams the transfer engine copies on, so that one layer loads while another is copied; also how"
                    + " many copies the GPU tier runs at once."),
    /** Link bandwidth the simulated runtime imposes on its copies. */
    SIM_LINK_GBPS(false, ValueKind.decimal(10_000), 0.0, "decimal (GB/s)",
            "Bandwidth the simulated GPU runtime's copies are held to, so that pipelining can be observed; 0"
                    + " copies at memory speed."),
    /** Port of the Prometheus endpoint. */
    METRICS_PORT(false, ValueKind.integer(0, 65535), null, "integer (TCP port)",
            "Port of the Prometheus endpoint (`/metrics`, text format; series in docs/metrics.md); 0 takes any"
                    + " free port, named in the engine's start log line; unset turns it off.");

    /** Prefix of every Spillway environment variable. */
    static final String SPILLWAY_PREFIX = "SPILLWAY_";

    /** Prefix of the LMCache environment variables accepted as aliases. */
    static final String LMCACHE_PREFIX = "LMCACHE_";

    private final boolean lmcacheAlias;
    private final ValueKind kind;
    private final Object defaultValue;
    private final String type;
    private final String meaning;

    ConfigKey(boolean lmcacheAlias, ValueKind kind, Object defaultValue, String type, String meaning) {
        this.lmcacheAlias = lmcacheAlias;
        this.kind = kind;
        this.defaultValue = defaultValue;
        this.type = type;
        this.meaning = meaning;
    }

    /** Returns the snake_case key used in files and listings, for example {@code chunk_size}. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Returns the Spillway environment variable, for example {@code SPILLWAY_CHUNK_SIZE}. */
    public String variable() {
        return SPILLWAY_PREFIX + name();
    }

    /** Returns the LMCache alias, for example {@code LMCACHE_CHUNK_SIZE}, for keys that LMCache has. */
    public Optional<String> lmcacheVariable() {
        return lmcacheAlias ? Optional.of(LMCACHE_PREFIX + name()) : Optional.empty();
    }

    /**
     * Returns the value used when no source sets the key, typed as in {@link ConfigEntry#value()};
     * {@code null} means the key is optional and unset by default.
     */
    public Object defaultValue() {
        return defaultValue;
    }

    /** Returns whether the key may be unset; an empty value or a YAML null then unsets it. */
    public boolean optional() {
        return defaultValue == null;
    }

    /** Returns the type and unit of the value, for documentation, for example {@code integer (tokens)}. */
    public String type() {
        return type;
    }

    /** Returns what the key does, as one or two sentences of documentation. */
    public String meaning() {
        return meaning;
    }

    /** Returns what a valid value looks like, as the phrase that follows "expected" in errors. */
    public String expected() {
        return kind.expected();
    }

    /** Returns the key whose {@link #key()} is {@code key}, if any. */
    public static Optional<ConfigKey> byKey(String key) {
        return Arrays.stream(values()).filter(k -> k.key().equals(key)).findFirst();
    }

    /** Returns every key, comma separated, for error messages. */
    static String keyList() {
        return Arrays.stream(values()).map(ConfigKey::key).collect(Collectors.joining(", "));
    }

    /** Returns how values of this key are read and checked. */
    ValueKind kind() {
        return kind;
    }
}
