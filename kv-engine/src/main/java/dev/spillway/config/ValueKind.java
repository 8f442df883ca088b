package dev.spillway.config;

import dev.spillway.eviction.PolicyKind;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How the values of one kind of key are read and checked. Values come as strings from the
 * environment and as strings or typed scalars (256, 5.0, true) from YAML; both go through the same
 * parser, so a key means the same whichever source sets it.
 */
final class ValueKind {

    /** Sizes are capped at 1 PiB so that their byte counts stay far from {@code long} overflow. */
    static final double MAX_GIB = 1 << 20;

    private static final double BYTES_PER_GIB = 1L << 30;

    private static final Map<String, Boolean> BOOLEANS = Map.of(
            "true", true, "false", false, "1", true, "0", false,
            "yes", true, "no", false, "on", true, "off", false);

    /** Plain decimal notation only: {@link Double#parseDouble} would also take NaN, hex and "1d". */
    private static final Pattern DECIMAL = Pattern.compile("[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?");

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,128}");

    private static final Pattern URL_SCHEME = Pattern.compile("[A-Za-z][A-Za-z0-9+.-]*://.*", Pattern.DOTALL);

    /** A password with '@' or '/' must be percent-encoded, as in every URL. */
    private static final Pattern REDIS_URL =
            Pattern.compile("(redis|rediss|redis-sentinel|redis-cluster)://(?:[^@/]*@)?([^@/?]+)(/\\d+)?(\\?master=[A-Za-z0-9._-]+)?");

    private static final Pattern HOST_PORT =
            Pattern.compile("(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):(\\d{1,5})");

    private static final Pattern USERINFO = Pattern.compile("://([^@/]*)@");

    private final String expected;
    private final Function<Object, Object> parser;

    private ValueKind(String expected, Function<Object, Object> parser) {
        this.expected = expected;
        this.parser = parser;
    }

    /** Returns what a valid value looks like, as a phrase that follows "expected". */
    String expected() {
        return expected;
    }

    /**
     * Converts a raw value to its typed form.
     *
     * @throws IllegalArgumentException when the value is not of this kind (the message is not shown;
     *                                  the caller reports {@link #expected()})
     */
    Object parse(Object raw) {
        return parser.apply(raw);
    }

    /** Whole numbers from {@code min} to {@code max}, as {@link Integer}. */
    static ValueKind integer(int min, int max) {
        return new ValueKind("an integer between " + min + " and " + max, raw -> {
            long value = toLong(raw);
            require(value >= min && value <= max);
            return (int) value;
        });
    }

    /** Whole numbers above 0, as {@link Long}. */
    static ValueKind positiveLong() {
        return new ValueKind("an integer greater than 0", raw -> {
            long value = toLong(raw);
            require(value > 0);
            return value;
        });
    }

    /** Sizes in GiB up to {@link #MAX_GIB}, decimals allowed, as {@link Double}; 0 only if {@code zeroAllowed}. */
    static ValueKind gib(boolean zeroAllowed) {
        String range = (zeroAllowed ? "from 0 to " : "greater than 0 and at most ") + (long) MAX_GIB;
        return new ValueKind("a size in GiB " + range, raw -> {
            double value = toDouble(raw);
            require((zeroAllowed ? value >= 0 : value > 0) && value <= MAX_GIB);
            return value + 0.0; // so that "-0" reads back as 0.0, not -0.0
        });
    }

    /** Decimals from 0 to {@code max}, as {@link Double}. */
    static ValueKind decimal(double max) {
        return new ValueKind("a number from 0 to " + (long) max, raw -> {
            double value = toDouble(raw);
            require(value >= 0 && value <= max);
            return value + 0.0;
        });
    }

    /** One of a few lower-case words, in any case, as the lower-case word. */
    static ValueKind choice(String... words) {
        return new ValueKind("one of " + String.join(", ", words), raw -> {
            String word = toText(raw).toLowerCase(Locale.ROOT);
            require(Arrays.asList(words).contains(word));
            return word;
        });
    }

    /** Booleans in LMCache's spellings too, as {@link Boolean}. */
    static ValueKind bool() {
        return new ValueKind("a boolean: true/false, 1/0, yes/no or on/off (any case)", ValueKind::toBoolean);
    }

    /** Eviction policy names in any case, as the policy's {@link PolicyKind#configName()}. */
    static ValueKind policy() {
        return new ValueKind("one of " + PolicyKind.names(), raw -> PolicyKind.parse(toText(raw)).configName());
    }

    /** Names safe to put into keys of shared stores: no separators, no spaces. */
    static ValueKind name() {
        return new ValueKind("a name of 1 to 128 letters, digits, '.', '_' or '-'", raw -> {
            String text = toText(raw);
            require(NAME.matcher(text).matches());
            return text;
        });
    }

    /** Local directories, as a path or a {@code file:///} URL, kept as written. */
    static ValueKind localPath() {
        return new ValueKind("a directory path or a file:///absolute/path URL", raw -> {
            String text = toText(raw);
            require(!URL_SCHEME.matcher(text).matches() || text.startsWith("file:///"));
            localPathOf(text);
            return text;
        });
    }

    /** Returns the directory a {@link #localPath} value names: the path itself, or a {@code file:///} URL's path. */
    static Path localPathOf(String text) {
        return Path.of(text.startsWith("file://") ? text.substring("file://".length()) : text);
    }

    /**
     * Paths of PEM certificate files, absolute or relative to the working directory, kept as
     * written; whether the file exists and holds certificates is checked by the loader, which can
     * say which of the two is wrong.
     */
    static ValueKind certificateFile() {
        return new ValueKind("a path to a readable PEM file of one or more X.509 CA certificates", raw -> {
            String text = toText(raw);
            require(!URL_SCHEME.matcher(text).matches());
            Path.of(text);
            return text;
        });
    }

    /** Redis URLs of the four deployments Spillway supports, kept as written. */
    static ValueKind redisUrl() {
        return new ValueKind("a URL redis://host:port or rediss://host:port (optionally [user]:password@ before"
                + " the host and /db after it), redis-sentinel://host:port,host:port[/db][?master=NAME]"
                + " or redis-cluster://host:port,host:port", raw -> {
            String text = toText(raw);
            Matcher url = REDIS_URL.matcher(text);
            require(url.matches());
            String scheme = url.group(1);
            String[] hosts = url.group(2).split(",", -1);
            boolean manyHosts = scheme.equals("redis-sentinel") || scheme.equals("redis-cluster");
            require(manyHosts || hosts.length == 1);
            require(url.group(3) == null || !scheme.equals("redis-cluster"));
            require(url.group(4) == null || scheme.equals("redis-sentinel"));
            for (String host : hosts) {
                Matcher hostPort = HOST_PORT.matcher(host);
                require(hostPort.matches());
                int port = Integer.parseInt(hostPort.group(3));
                require(port >= 1 && port <= 65535);
            }
            return text;
        });
    }

    /** Returns the byte count of a size in GiB, rounded to the nearest byte. */
    static long bytes(double gib) {
        return Math.round(gib * BYTES_PER_GIB);
    }

    /**
     * Masks the password in every {@code scheme://user:password@} of a text, so that values can be
     * printed and logged; a userinfo without a colon is masked whole, since Redis takes it as the
     * password.
     */
    static String maskPassword(String text) {
        return USERINFO.matcher(text).replaceAll(match -> {
            String userinfo = match.group(1);
            int colon = userinfo.indexOf(':');
            String masked = colon < 0 ? "****" : userinfo.substring(0, colon + 1) + "****";
            return Matcher.quoteReplacement("://" + masked + "@");
        });
    }

    private static void require(boolean condition) {
        if (!condition) {
            throw new IllegalArgumentException();
        }
    }

    private static long toLong(Object raw) {
        return switch (raw) {
            case Integer value -> value;
            case Long value -> value;
            case BigInteger value -> value.longValueExact();
            case String text -> Long.parseLong(text.strip());
            default -> throw new IllegalArgumentException();
        };
    }

    private static double toDouble(Object raw) {
        double value = switch (raw) {
            case Integer number -> number;
            case Long number -> number;
            case Double number -> number;
            case BigInteger number -> number.doubleValue();
            case String text when DECIMAL.matcher(text.strip()).matches() -> Double.parseDouble(text.strip());
            default -> throw new IllegalArgumentException();
        };
        require(Double.isFinite(value));
        return value;
    }

    private static Boolean toBoolean(Object raw) {
        return switch (raw) {
            case Boolean value -> value;
            case Integer value when value == 0 || value == 1 -> value == 1;
            case String text when BOOLEANS.containsKey(text.strip().toLowerCase(Locale.ROOT)) ->
                    BOOLEANS.get(text.strip().toLowerCase(Locale.ROOT));
            default -> throw new IllegalArgumentException();
        };
    }

    /** YAML turns a bare {@code 42} into a number; a string key takes it as its text. */
    private static String toText(Object raw) {
        return switch (raw) {
            case String text -> text.strip();
            case Integer number -> number.toString();
            case Long number -> number.toString();
            case BigInteger number -> number.toString();
            default -> throw new IllegalArgumentException();
        };
    }
}
