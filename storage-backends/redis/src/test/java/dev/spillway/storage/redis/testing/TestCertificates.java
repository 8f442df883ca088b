package dev.spillway.storage.redis.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.spillway.storage.redis.RedisServerProcess;

/**
 * Throwaway TLS material made by {@code openssl} at test time, so that no key is committed: a fresh
 * certificate authority (P-256, valid for two days) and a server certificate it signs. Each call
 * makes an unrelated CA, so two calls give a server and a CA that does not vouch for it.
 */
public final class TestCertificates {

    /** The names a loopback server answers to, as TLS clients check them. */
    public static final String LOOPBACK_NAMES = "IP:127.0.0.1,DNS:localhost";

    private static final long OPENSSL_TIMEOUT_SECONDS = 30;

    private TestCertificates() {
    }

    /** Makes a CA and a server certificate for {@link #LOOPBACK_NAMES} in {@code directory}. */
    public static RedisServerProcess.Tls generate(Path directory) throws IOException, InterruptedException {
        return generate(directory, LOOPBACK_NAMES);
    }

    /**
     * Makes a CA and a server certificate for {@code subjectAltNames} in {@code directory}, which is
     * created if needed.
     *
     * @param subjectAltNames the server's names in openssl's form, for example {@code DNS:cache.example}
     * @throws IllegalStateException when {@code openssl} is not on the PATH or fails (the message holds its output)
     */
    public static RedisServerProcess.Tls generate(Path directory, String subjectAltNames)
            throws IOException, InterruptedException {
        Files.createDirectories(directory);
        Path caKey = directory.resolve("ca.key");
        Path ca = directory.resolve("ca.pem");
        Path key = directory.resolve("server.key");
        Path request = directory.resolve("server.csr");
        Path certificate = directory.resolve("server.pem");
        Path extensions = Files.writeString(directory.resolve("server.ext"), "subjectAltName=" + subjectAltNames
                + "\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
        openssl(directory, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", caKey.toString(), "-out", ca.toString(), "-days", "2",
                "-subj", "/CN=Spillway test CA " + directory.getFileName(),
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        openssl(directory, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key.toString(), "-out", request.toString(), "-subj", "/CN=localhost");
        openssl(directory, "x509", "-req", "-in", request.toString(), "-CA", ca.toString(), "-CAkey", caKey.toString(),
                "-set_serial", "1", "-days", "2", "-extfile", extensions.toString(), "-out", certificate.toString());
        return new RedisServerProcess.Tls(certificate, key, ca);
    }

    private static void openssl(Path directory, String... arguments) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(RedisServerProcess.findOnPath("openssl").toString()));
        command.addAll(List.of(arguments));
        Path output = directory.resolve("openssl.log");
        Process openssl = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
        if (!openssl.waitFor(OPENSSL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            openssl.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            throw new IllegalStateException("openssl did not finish within " + OPENSSL_TIMEOUT_SECONDS + " s: "
                    + command + "\n" + Files.readString(output));
        }
        if (openssl.exitValue() != 0) {
            throw new IllegalStateException("openssl exited with status " + openssl.exitValue() + ": " + command
                    + "\n" + Files.readString(output));
        }
    }
}
