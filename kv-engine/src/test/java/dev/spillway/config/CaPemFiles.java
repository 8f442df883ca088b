package dev.spillway.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;

/**
 * PEM files of real CA certificates for the tests of {@code remote_tls_ca_file}: the first ones of
 * the JDK's own trust store, so that no certificate is committed and no tool runs.
 */
final class CaPemFiles {

    private static final Path SHARED = write(sharedDirectory().resolve("ca.pem"), 1);

    private CaPemFiles() {
    }

    /** Returns a PEM file of one CA certificate that lives until the JVM exits. */
    static Path shared() {
        return SHARED;
    }

    /** Writes the first {@code count} CA certificates of the JDK's trust store to {@code file} as PEM. */
    static Path write(Path file, int count) {
        StringBuilder pem = new StringBuilder();
        Base64.Encoder encoder = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII));
        try {
            for (X509Certificate certificate : jdkCas().subList(0, count)) {
                pem.append("-----BEGIN CERTIFICATE-----\n")
                        .append(encoder.encodeToString(certificate.getEncoded()))
                        .append("\n-----END CERTIFICATE-----\n");
            }
            return Files.writeString(file, pem);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot encode a JDK CA certificate", e);
        }
    }

    /** Returns the JDK's trusted CA certificates in alias order. */
    static List<X509Certificate> jdkCas() {
        Path cacerts = Path.of(System.getProperty("java.home"), "lib", "security", "cacerts");
        try {
            KeyStore store = KeyStore.getInstance(cacerts.toFile(), (char[]) null);
            List<X509Certificate> certificates = new ArrayList<>();
            for (String alias : Collections.list(store.aliases()).stream().sorted().toList()) {
                certificates.add((X509Certificate) store.getCertificate(alias));
            }
            return certificates;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot read the JDK's trust store " + cacerts, e);
        }
    }

    private static Path sharedDirectory() {
        try {
            Path directory = Files.createTempDirectory("spillway-ca-");
            // Deleted in reverse order of registration: the file, then its directory.
            directory.toFile().deleteOnExit();
            directory.resolve("ca.pem").toFile().deleteOnExit();
            return directory;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
