package dev.spillway.storage.redis;

import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import javax.net.ssl.TrustManagerFactory;

import org.redisson.client.codec.ByteArrayCodec;
import org.redisson.config.BaseConfig;
import org.redisson.config.Config;
import org.redisson.config.ReadMode;

/**
 * A remote tier URL taken apart, and the Redisson configuration it stands for:
 * <pre>
 *   redis://[user:password@]host[:port][/db]               one server          useSingleServer
 *   rediss://[user:password@]host[:port][/db]              one server, TLS     useSingleServer
 *   redis-sentinel://[user:password@]host:port,host:port[/db][?master=NAME]    useSentinelServers
 *   redis-cluster://[user:password@]host:port,host:port                        useClusterServers
 * </pre>
 * The port defaults to 6379 (26379 for a sentinel), the database to 0 and the sentinel master
 * name to {@value #DEFAULT_MASTER}. A cluster has only database 0, so a database there is an error.
 * User and password (percent-encoded in the URL) authenticate to the data nodes.
 *
 * <p>A {@code rediss://} server's certificate is verified, host name included, against the JDK's
 * default trust store or, when the configuration names a CA file ({@code remote_tls_ca_file}),
 * against exactly those CAs. Standalone, TLS (with such a private CA, and refusing another CA or
 * none), Sentinel and Cluster URLs are all tested against real {@code redis-server} processes.
 *
 * @param scheme   {@code redis}, {@code rediss}, {@code redis-sentinel} or {@code redis-cluster}
 * @param hosts    {@code host:port} of each server, sentinel or cluster seed node, in URL order
 * @param username the ACL user, if any
 * @param password the password, if any
 * @param database the database number
 * @param master   the sentinel master name (only meaningful for {@code redis-sentinel})
 */
record RedisUrl(String scheme, List<String> hosts, Optional<String> username, Optional<String> password,
                int database, String master) {

    /** The sentinel master name when the URL names none. */
    static final String DEFAULT_MASTER = "mymaster";

    private static final int REDIS_PORT = 6379;
    private static final int SENTINEL_PORT = 26379;

    /**
     * Parses a remote tier URL.
     *
     * @throws IllegalArgumentException naming the URL and what was expected, when it is malformed
     */
    static RedisUrl parse(URI url) {
        String scheme = Optional.ofNullable(url.getScheme()).map(s -> s.toLowerCase(Locale.ROOT)).orElse("");
        if (!List.of("redis", "rediss", "redis-sentinel", "redis-cluster").contains(scheme)) {
            throw invalid(url, "scheme redis, rediss, redis-sentinel or redis-cluster");
        }
        // Multi-host authorities are not server-based to java.net.URI, so take the raw authority apart.
        String authority = url.getRawAuthority();
        if (authority == null || authority.isEmpty()) {
            throw invalid(url, "host:port after " + scheme + "://");
        }
        Optional<String> username = Optional.empty();
        Optional<String> password = Optional.empty();
        int at = authority.lastIndexOf('@');
        if (at >= 0) {
            String userInfo = authority.substring(0, at);
            authority = authority.substring(at + 1);
            int colon = userInfo.indexOf(':');
            String user = colon < 0 ? userInfo : userInfo.substring(0, colon);
            username = user.isEmpty() ? Optional.empty() : Optional.of(decode(user));
            password = colon < 0 ? Optional.empty() : Optional.of(decode(userInfo.substring(colon + 1)));
        }
        boolean single = scheme.equals("redis") || scheme.equals("rediss");
        int defaultPort = scheme.equals("redis-sentinel") ? SENTINEL_PORT : REDIS_PORT;
        List<String> hosts = new ArrayList<>();
        for (String host : authority.split(",", -1)) {
            hosts.add(hostAndPort(url, host, defaultPort));
        }
        if (single && hosts.size() > 1) {
            throw invalid(url, "one host:port for " + scheme + ":// (redis-sentinel:// or redis-cluster:// for several)");
        }
        int database = database(url);
        if (scheme.equals("redis-cluster") && database != 0) {
            throw invalid(url, "no database for redis-cluster:// (a cluster has database 0 only)");
        }
        return new RedisUrl(scheme, List.copyOf(hosts), username, password, database, master(url, scheme));
    }

    /**
     * Returns the Redisson configuration: the topology from the URL, byte-array values, and a
     * client that fails fast instead of retrying, so that a dead Redis turns into failed futures
     * (and then an open circuit) within about one timeout. Reads go to masters, not replicas, so
     * that an engine finds a block right after storing it (replication lag would make it a miss).
     *
     * @param timeoutMillis the connect and per-command response timeout
     * @param trustedCas    the CAs that a {@code rediss://} server's certificate must chain to, or
     *                      none for the JDK's default trust store
     */
    Config toConfig(int timeoutMillis, List<X509Certificate> trustedCas) {
        Config config = new Config()
                .setCodec(ByteArrayCodec.INSTANCE)
                // Redisson's defaults (16 worker and 32 I/O threads) are sized for a busy
                // application server; the backend only pipelines GET/SET batches.
                .setThreads(2)
                .setNettyThreads(4)
                // The put's block copies go to the socket by reference, not through Redisson's encoder.
                .setNettyHook(new BulkValueWriter.Hook())
                // Otherwise Redisson tries, for every command, to rebuild its codec for the calling
                // thread's class loader: a get's codec is new each call (it holds the destination),
                // so each get paid a reflective constructor lookup that throws, plus an LRU cache
                // insert. The codecs here decode bytes, never classes.
                .setUseThreadClassLoader(false);
        List<String> addresses = hosts.stream()
                .map(host -> (scheme.equals("rediss") ? "rediss://" : "redis://") + host)
                .toList();
        BaseConfig<?> servers = switch (scheme) {
            case "redis", "rediss" -> config.useSingleServer()
                    .setAddress(addresses.getFirst())
                    .setDatabase(database)
                    .setConnectionMinimumIdleSize(1)
                    .setConnectionPoolSize(8)
                    .setSubscriptionConnectionMinimumIdleSize(0)
                    .setSubscriptionConnectionPoolSize(1);
            case "redis-sentinel" -> config.useSentinelServers()
                    .setMasterName(master)
                    .setDatabase(database)
                    .setMasterConnectionMinimumIdleSize(1)
                    .setMasterConnectionPoolSize(8)
                    .setSlaveConnectionMinimumIdleSize(0)
                    .setSubscriptionConnectionMinimumIdleSize(0)
                    .setReadMode(ReadMode.MASTER)
                    .addSentinelAddress(addresses.toArray(String[]::new));
            case "redis-cluster" -> config.useClusterServers()
                    .setMasterConnectionMinimumIdleSize(1)
                    .setMasterConnectionPoolSize(8)
                    .setSlaveConnectionMinimumIdleSize(0)
                    .setSubscriptionConnectionMinimumIdleSize(0)
                    .setReadMode(ReadMode.MASTER)
                    .addNodeAddress(addresses.toArray(String[]::new));
            default -> throw new AssertionError(scheme);
        };
        servers.setConnectTimeout(timeoutMillis)
                .setTimeout(timeoutMillis)
                .setRetryAttempts(0);
        username.ifPresent(servers::setUsername);
        password.ifPresent(servers::setPassword);
        if (!trustedCas.isEmpty()) {
            // Redisson's verification mode stays STRICT, so the host name is checked as well.
            servers.setSslTrustManagerFactory(trusting(trustedCas));
        }
        return config;
    }

    /**
     * Returns trust managers that accept exactly the certificate chains ending at one of
     * {@code cas}, from an in-memory key store, so that no trust store file has to be written.
     *
     * @throws IllegalStateException when the JDK cannot build them (it always can for X.509 certificates)
     */
    static TrustManagerFactory trusting(List<X509Certificate> cas) {
        try {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            for (int i = 0; i < cas.size(); i++) {
                store.setCertificateEntry("ca-" + i, cas.get(i));
            }
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(store);
            return trust;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build a trust store of " + cas.size() + " CA certificate(s)", e);
        }
    }

    @Override
    public String toString() {
        // Never print the password: this ends up in logs and exception messages.
        String userInfo = username.isEmpty() && password.isEmpty() ? ""
                : username.orElse("") + (password.isPresent() ? ":***" : "") + "@";
        return scheme + "://" + userInfo + String.join(",", hosts) + (database == 0 ? "" : "/" + database);
    }

    private static String hostAndPort(URI url, String hostPort, int defaultPort) {
        int colon = hostPort.lastIndexOf(':');
        boolean hasPort = colon >= 0 && hostPort.indexOf(']', colon) < 0;
        String host = hasPort ? hostPort.substring(0, colon) : hostPort;
        if (host.isEmpty()) {
            throw invalid(url, "host:port, not '" + hostPort + "'");
        }
        if (!hasPort) {
            return host + ":" + defaultPort;
        }
        try {
            int port = Integer.parseInt(hostPort.substring(colon + 1));
            if (port < 1 || port > 65535) {
                throw invalid(url, "a port in 1..65535, not " + port);
            }
            return host + ":" + port;
        } catch (NumberFormatException e) {
            throw invalid(url, "a numeric port in '" + hostPort + "'");
        }
    }

    private static int database(URI url) {
        String path = url.getRawPath();
        if (path == null || path.isEmpty() || path.equals("/")) {
            return 0;
        }
        try {
            int database = Integer.parseInt(path.substring(1));
            if (database < 0) {
                throw invalid(url, "a database number >= 0 after '/'");
            }
            return database;
        } catch (NumberFormatException e) {
            throw invalid(url, "a database number after '/', not '" + path.substring(1) + "'");
        }
    }

    private static String master(URI url, String scheme) {
        String query = url.getRawQuery();
        if (query == null || query.isEmpty()) {
            return DEFAULT_MASTER;
        }
        if (!scheme.equals("redis-sentinel") || !query.startsWith("master=") || query.contains("&")
                || query.length() == "master=".length()) {
            throw invalid(url, "no query, or ?master=NAME on a redis-sentinel:// URL");
        }
        return decode(query.substring("master=".length()));
    }

    /** Percent-decodes a URL part; unlike form encoding, '+' stays a plus (passwords hold them). */
    private static String decode(String text) {
        return URLDecoder.decode(text.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static IllegalArgumentException invalid(URI url, String expected) {
        // The message names the URL without its user info, which may hold a password.
        String raw = url.toString();
        int at = raw.lastIndexOf('@');
        String shown = at < 0 ? raw : url.getScheme() + "://***@" + raw.substring(at + 1);
        return new IllegalArgumentException("remote URL '" + shown + "': expected " + expected);
    }
}
