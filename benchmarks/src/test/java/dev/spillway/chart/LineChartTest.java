package dev.spillway.chart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LineChartTest {

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    private static LineChart ttftChart() {
        return LineChart.builder()
                .title("TTFT per round, cold vs cached")
                .xLabel("round")
                .yLabel("TTFT (ms)")
                .series("cold", new double[] {1, 2, 3, 4}, new double[] {120, 240, 360, 480})
                .series("cached", new double[] {1, 2, 3, 4}, new double[] {120, 40, 45, 50})
                .build();
    }

    @Test
    void shouldWriteAValidPngOfTheRequestedSize(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("charts/ttft.png");

        ttftChart().writePng(file, 800, 500);

        byte[] bytes = Files.readAllBytes(file);
        assertThat(Arrays.copyOf(bytes, PNG_SIGNATURE.length)).isEqualTo(PNG_SIGNATURE);
        BufferedImage image = ImageIO.read(file.toFile());
        assertThat(image).isNotNull();
        assertThat(image.getWidth()).isEqualTo(800);
        assertThat(image.getHeight()).isEqualTo(500);
    }

    @Test
    void shouldDrawEachSeriesInItsOwnColour() {
        BufferedImage image = ttftChart().render(800, 500);

        assertThat(count(image, new Color(0x1f77b4))).as("first series' colour").isGreaterThan(100);
        assertThat(count(image, new Color(0xff7f0e))).as("second series' colour").isGreaterThan(100);
    }

    @Test
    void shouldAcceptSeriesWithDifferentXValuesAndFixedTicks() {
        LineChart chart = LineChart.builder()
                .series("a", new double[] {5, 10, 20, 40}, new double[] {0.2, 0.28, 0.35, 0.37})
                .series("b", new double[] {5, 40}, new double[] {0.38, 0.38})
                .xTicks(5, 10, 20, 40)
                .yRange(0, 0.5)
                .build();

        assertThat(chart.render(640, 400).getWidth()).isEqualTo(640);
    }

    private static long count(BufferedImage image, Color color) {
        long n = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                if ((image.getRGB(x, y) & 0xffffff) == color.getRGB() - 0xff000000) {
                    n++;
                }
            }
        }
        return n;
    }

    @Test
    void shouldRejectBadSeriesAndSizes() {
        LineChart.Builder builder = LineChart.builder();

        assertThatThrownBy(() -> builder.series("bad", new double[] {1, 2}, new double[] {1}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("series 'bad'");
        assertThatThrownBy(() -> builder.series("nan", new double[] {1}, new double[] {Double.NaN}))
                .hasMessageContaining("finite");
        assertThatThrownBy(builder::build).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> builder.xTicks(1, 1)).hasMessageContaining("two distinct");
        assertThatThrownBy(() -> ttftChart().render(100, 100)).hasMessageContaining("100x100");
    }
}
