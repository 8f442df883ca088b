package dev.spillway.metrics;

import java.io.IOException;
import java.net.BindException;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * Serves one {@link SpillwayMetrics} registry over HTTP at {@code /metrics} in the Prometheus text
 * exposition format (the Prometheus Java client's server, on every interface). Each scrape reads
 * the counters, gauges and histograms as they are then; nothing is copied between scrapes.
 */
public final class MetricsServer implements AutoCloseable {

    private final HTTPServer server;

    private MetricsServer(HTTPServer server) {
        this.server = server;
    }

    /**
     * Starts serving {@code metrics} on {@code port}.
     *
     * @param port the TCP port; 0 takes any free port, which {@link #port()} then names
     * @throws IllegalStateException naming {@code metrics_port} and the port when the port is taken
     *                               or cannot be bound
     */
    public static MetricsServer start(SpillwayMetrics metrics, int port) {
        PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(new PrometheusCollector(metrics));
        try {
            return new MetricsServer(HTTPServer.builder().port(port).registry(registry).buildAndStart());
        } catch (BindException e) {
            throw new IllegalStateException("metrics_port=" + port + ": the port is in use (" + e.getMessage()
                    + "); expected a free TCP port, or unset metrics_port to turn the Prometheus endpoint off", e);
        } catch (IOException e) {
            throw new IllegalStateException("metrics_port=" + port + ": cannot serve /metrics: " + e.getMessage(), e);
        }
    }

    /** Returns the port the server listens on: the configured one, or the one taken for port 0. */
    public int port() {
        return server.getPort();
    }

    /** Stops listening and lets in-flight scrapes end; the port is free once this returns. */
    @Override
    public void close() {
        server.close();
    }
}
