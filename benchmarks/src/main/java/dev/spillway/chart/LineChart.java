package dev.spillway.chart;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Shape;
import java.awt.Stroke;
import java.awt.geom.AffineTransform;
import java.awt.geom.Line2D;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import javax.imageio.ImageIO;

/**
 * A line chart written as a PNG file, drawn headless with {@code java.awt} into a
 * {@link BufferedImage}: a title, labelled axes with round tick values, one line with point
 * markers per named series, and a legend to the right of the plot.
 *
 * <p>Each series has its own x values, so series measured at different points share one chart
 * (hit rate against capacity, one line per policy; time to first token per round, cold against
 * cached). The axes span the data, the y axis from 0 when every value is positive, unless
 * {@link Builder#yRange} or {@link Builder#xTicks} fix them. Colours come from a fixed palette of
 * ten; later series reuse it with dashed lines, so every series stays distinguishable.
 *
 * <p>Design: {@link #render} lays out the margins from the fonts' metrics (the legend's width
 * from its longest name), maps data to pixels with one affine function per axis, and draws the
 * grid, the lines, the markers and the text in that order. Ticks are {@code 1, 2 or 5 x 10^k}
 * apart, about six per axis. Immutable; {@link #writePng} may be called from any thread.
 */
public final class LineChart {

    private static final Color[] PALETTE = {
        new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728), new Color(0x9467bd),
        new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f), new Color(0xbcbd22), new Color(0x17becf),
    };
    private static final Color GRID = new Color(0xe0e0e0);
    private static final int TARGET_TICKS = 6;
    private static final int PAD = 12;
    private static final int TICK = 5;
    private static final int MARKER = 7;
    private static final int LEGEND_LINE = 28;

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final List<Series> series;
    private final double[] xTicks;
    private final double[] yRange;

    private LineChart(Builder builder) {
        this.title = builder.title;
        this.xLabel = builder.xLabel;
        this.yLabel = builder.yLabel;
        this.series = List.copyOf(builder.series);
        this.xTicks = builder.xTicks;
        this.yRange = builder.yRange;
    }

    /** Starts a chart with no series, an empty title and empty axis labels. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Draws the chart and writes it as a PNG file, replacing one that exists; creates missing
     * parent directories.
     *
     * @param file   where to write
     * @param width  image width in pixels, {@code >= 320}
     * @param height image height in pixels, {@code >= 240}
     * @throws IllegalArgumentException when the size is smaller than that
     * @throws IOException              when the file cannot be written
     */
    public void writePng(Path file, int width, int height) throws IOException {
        BufferedImage image = render(width, height);
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        if (!ImageIO.write(image, "png", file.toFile())) {
            throw new IOException("no PNG writer in this JVM for " + file);
        }
    }

    /**
     * Draws the chart into a new image.
     *
     * @throws IllegalArgumentException when {@code width < 320} or {@code height < 240}
     */
    public BufferedImage render(int width, int height) {
        if (width < 320 || height < 240) {
            throw new IllegalArgumentException("chart size " + width + "x" + height + ": expected at least 320x240 pixels");
        }
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            draw(g, width, height);
        } finally {
            g.dispose();
        }
        return image;
    }

    private void draw(Graphics2D g, int width, int height) {
        Font text = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
        Font bold = text.deriveFont(Font.BOLD, 16f);
        g.setFont(text);
        FontMetrics metrics = g.getFontMetrics();
        Axis x = xTicks != null ? Axis.fixed(xTicks) : Axis.nice(values(true), false);
        Axis y = yRange != null ? Axis.nice(yRange, false) : Axis.nice(values(false), true);
        int yTickWidth = Arrays.stream(y.ticks).mapToInt(v -> metrics.stringWidth(y.label(v))).max().orElse(0);
        int legendWidth = series.isEmpty() ? 0
                : LEGEND_LINE + PAD + series.stream().mapToInt(s -> metrics.stringWidth(s.name)).max().orElse(0) + 2 * PAD;
        int lineHeight = metrics.getHeight();
        int left = PAD + lineHeight + PAD + yTickWidth + TICK + 4;
        int right = width - PAD - legendWidth;
        int top = PAD + (title.isEmpty() ? 0 : g.getFontMetrics(bold).getHeight() + PAD);
        int bottom = height - PAD - lineHeight - PAD - lineHeight - TICK;
        if (right - left < 80 || bottom - top < 80) {
            throw new IllegalArgumentException("chart size " + width + "x" + height + ": too small for its labels and legend");
        }
        Mapping map = new Mapping(x, y, left, right, top, bottom);

        g.setColor(GRID);
        for (double v : x.ticks) {
            g.draw(new Line2D.Double(map.px(v), top, map.px(v), bottom));
        }
        for (double v : y.ticks) {
            g.draw(new Line2D.Double(left, map.py(v), right, map.py(v)));
        }
        g.setColor(Color.BLACK);
        g.drawRect(left, top, right - left, bottom - top);
        for (double v : x.ticks) {
            int px = (int) Math.round(map.px(v));
            g.drawLine(px, bottom, px, bottom + TICK);
            String label = x.label(v);
            g.drawString(label, px - metrics.stringWidth(label) / 2, bottom + TICK + metrics.getAscent());
        }
        for (double v : y.ticks) {
            int py = (int) Math.round(map.py(v));
            g.drawLine(left - TICK, py, left, py);
            String label = y.label(v);
            g.drawString(label, left - TICK - 4 - metrics.stringWidth(label), py + metrics.getAscent() / 2 - 1);
        }
        g.drawString(xLabel, (left + right - metrics.stringWidth(xLabel)) / 2, height - PAD - metrics.getDescent());
        AffineTransform saved = g.getTransform();
        g.rotate(-Math.PI / 2);
        g.drawString(yLabel, -(top + bottom + metrics.stringWidth(yLabel)) / 2, PAD + metrics.getAscent());
        g.setTransform(saved);
        if (!title.isEmpty()) {
            g.setFont(bold);
            g.drawString(title, (width - g.getFontMetrics().stringWidth(title)) / 2, PAD + g.getFontMetrics().getAscent());
            g.setFont(text);
        }

        Stroke savedStroke = g.getStroke();
        Shape clip = g.getClip();
        g.clipRect(left, top, right - left + 1, bottom - top + 1);
        for (int i = 0; i < series.size(); i++) {
            drawSeries(g, series.get(i), i, map);
        }
        g.setClip(clip);
        int legendX = right + 2 * PAD;
        for (int i = 0; i < series.size(); i++) {
            int rowY = top + i * (lineHeight + 4) + lineHeight / 2;
            g.setColor(color(i));
            g.setStroke(stroke(i));
            g.draw(new Line2D.Double(legendX, rowY, legendX + LEGEND_LINE, rowY));
            g.setStroke(savedStroke);
            marker(g, legendX + LEGEND_LINE / 2.0, rowY);
            g.setColor(Color.BLACK);
            g.drawString(series.get(i).name, legendX + LEGEND_LINE + PAD, rowY + metrics.getAscent() / 2 - 1);
        }
        g.setStroke(savedStroke);
    }

    private static void drawSeries(Graphics2D g, Series s, int index, Mapping map) {
        Stroke saved = g.getStroke();
        g.setColor(color(index));
        g.setStroke(stroke(index));
        Path2D.Double line = new Path2D.Double();
        for (int p = 0; p < s.x.length; p++) {
            if (p == 0) {
                line.moveTo(map.px(s.x[p]), map.py(s.y[p]));
            } else {
                line.lineTo(map.px(s.x[p]), map.py(s.y[p]));
            }
        }
        g.draw(line);
        g.setStroke(saved);
        for (int p = 0; p < s.x.length; p++) {
            marker(g, map.px(s.x[p]), map.py(s.y[p]));
        }
    }

    private static void marker(Graphics2D g, double x, double y) {
        g.fillOval((int) Math.round(x - MARKER / 2.0), (int) Math.round(y - MARKER / 2.0), MARKER, MARKER);
    }

    private static Color color(int index) {
        return PALETTE[index % PALETTE.length];
    }

    /** Solid for the first round of the palette, then dashed, then dotted, and so on. */
    private static Stroke stroke(int index) {
        int round = index / PALETTE.length;
        if (round == 0) {
            return new BasicStroke(2f);
        }
        float dash = round % 2 == 1 ? 8f : 2f;
        return new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, new float[] {dash, 4f}, 0f);
    }

    /** All x (or y) values of all series. */
    private double[] values(boolean xs) {
        return series.stream().flatMapToDouble(s -> Arrays.stream(xs ? s.x : s.y)).toArray();
    }

    /** One named line: points in the order given. */
    private record Series(String name, double[] x, double[] y) {
    }

    /** Maps data to pixels. */
    private record Mapping(Axis x, Axis y, int left, int right, int top, int bottom) {

        double px(double v) {
            return left + (v - x.min) / (x.max - x.min) * (right - left);
        }

        double py(double v) {
            return bottom - (v - y.min) / (y.max - y.min) * (bottom - top);
        }
    }

    /** An axis's range, its ticks and how many decimals their labels need. */
    private record Axis(double min, double max, double[] ticks, int decimals) {

        /** Round ticks covering {@code values}; from 0 when asked and every value is positive. */
        static Axis nice(double[] values, boolean fromZero) {
            double lo = Arrays.stream(values).min().orElse(0);
            double hi = Arrays.stream(values).max().orElse(1);
            if (fromZero && lo > 0) {
                lo = 0;
            }
            if (hi - lo <= 0) {
                double half = lo == 0 ? 1 : Math.abs(lo) / 2;
                lo -= half;
                hi += half;
            }
            double step = niceStep((hi - lo) / TARGET_TICKS);
            double min = Math.floor(lo / step) * step;
            double max = Math.ceil(hi / step) * step;
            int count = (int) Math.round((max - min) / step) + 1;
            double[] ticks = new double[count];
            for (int i = 0; i < count; i++) {
                ticks[i] = min + i * step;
            }
            return new Axis(min, max, ticks, Math.max(0, -(int) Math.floor(Math.log10(step) + 1e-9)));
        }

        /** Exactly these ticks; the axis spans them. */
        static Axis fixed(double[] ticks) {
            double min = Arrays.stream(ticks).min().orElseThrow();
            double max = Arrays.stream(ticks).max().orElseThrow();
            int decimals = Arrays.stream(ticks).mapToInt(v -> Math.max(0, BigDecimal.valueOf(v).stripTrailingZeros().scale()))
                    .max().orElse(0);
            return new Axis(min, max, ticks.clone(), decimals);
        }

        /** The smallest of 1, 2 or 5 times a power of ten that is at least {@code raw}. */
        private static double niceStep(double raw) {
            double power = Math.pow(10, Math.floor(Math.log10(raw)));
            double fraction = raw / power;
            double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
            return nice * power;
        }

        String label(double v) {
            return BigDecimal.valueOf(v).setScale(decimals, RoundingMode.HALF_UP).stripTrailingZeros().toPlainString();
        }
    }

    /** Collects a chart's parts. Not thread-safe. */
    public static final class Builder {

        private String title = "";
        private String xLabel = "";
        private String yLabel = "";
        private final List<Series> series = new ArrayList<>();
        private double[] xTicks;
        private double[] yRange;

        private Builder() {
        }

        /** Sets the title drawn above the plot. */
        public Builder title(String title) {
            this.title = Objects.requireNonNull(title, "title");
            return this;
        }

        /** Sets the label under the x axis. */
        public Builder xLabel(String label) {
            this.xLabel = Objects.requireNonNull(label, "xLabel");
            return this;
        }

        /** Sets the label beside the y axis. */
        public Builder yLabel(String label) {
            this.yLabel = Objects.requireNonNull(label, "yLabel");
            return this;
        }

        /**
         * Adds a series, drawn in the order added and listed so in the legend.
         *
         * @param name its legend entry
         * @param x    its x values, finite; copied
         * @param y    its y values, finite, as many as {@code x}; copied
         * @throws IllegalArgumentException naming the series when the lengths differ, it has no
         *                                  point or a value is not finite
         */
        public Builder series(String name, double[] x, double[] y) {
            Objects.requireNonNull(name, "name");
            if (x.length != y.length || x.length == 0) {
                throw new IllegalArgumentException("series '" + name + "': " + x.length + " x values and " + y.length
                        + " y values, expected the same non-zero number");
            }
            if (!Arrays.stream(x).allMatch(Double::isFinite) || !Arrays.stream(y).allMatch(Double::isFinite)) {
                throw new IllegalArgumentException("series '" + name + "': expected finite values, got x="
                        + Arrays.toString(x) + " y=" + Arrays.toString(y));
            }
            series.add(new Series(name, x.clone(), y.clone()));
            return this;
        }

        /**
         * Draws exactly these x ticks, labelled with their values, and spans the x axis from the
         * smallest to the largest, instead of choosing round ticks.
         *
         * @throws IllegalArgumentException when fewer than two distinct finite values are given
         */
        public Builder xTicks(double... ticks) {
            if (!Arrays.stream(ticks).allMatch(Double::isFinite) || Arrays.stream(ticks).distinct().count() < 2) {
                throw new IllegalArgumentException("x ticks " + Arrays.toString(ticks) + ": expected at least two distinct finite values");
            }
            this.xTicks = ticks.clone();
            return this;
        }

        /**
         * Fixes the y axis to {@code [min, max]}, widened to round ticks, whatever the data; parts of
         * lines outside it are clipped.
         *
         * @throws IllegalArgumentException unless {@code min < max}, both finite
         */
        public Builder yRange(double min, double max) {
            if (!(Double.isFinite(min) && Double.isFinite(max) && min < max)) {
                throw new IllegalArgumentException("y range [" + min + ", " + max + "]: expected finite min < max");
            }
            this.yRange = new double[] {min, max};
            return this;
        }

        /**
         * Returns the chart.
         *
         * @throws IllegalStateException when no series was added
         */
        public LineChart build() {
            if (series.isEmpty()) {
                throw new IllegalStateException("a line chart needs at least one series");
            }
            return new LineChart(this);
        }
    }
}
