package dev.spillway.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MooncakeTraceReaderTest {

    private static final String GOOD =
            "{\"timestamp\": 27482, \"input_length\": 6955, \"output_length\": 52, \"hash_ids\": [46, 47, 48]}";

    private static List<TraceRequest> readAll(String text) throws IOException {
        List<TraceRequest> requests = new ArrayList<>();
        MooncakeTraceReader.forEach(new BufferedReader(new StringReader(text)), "t.jsonl", requests::add);
        return requests;
    }

    @Test
    void shouldReadEveryFieldOfEachLineInOrder() throws IOException {
        String text = GOOD + "\n{\"timestamp\": 0, \"input_length\": 0, \"output_length\": 0, \"hash_ids\": []}\n";

        List<TraceRequest> requests = readAll(text);

        assertThat(requests).hasSize(2);
        TraceRequest first = requests.getFirst();
        assertThat(first.timestamp()).isEqualTo(27482);
        assertThat(first.inputLength()).isEqualTo(6955);
        assertThat(first.outputLength()).isEqualTo(52);
        assertThat(first.hashIds()).containsExactly(46, 47, 48);
        assertThat(requests.get(1).hashIds()).isEmpty();
    }

    @Test
    void shouldIgnoreUnknownFieldsAndBlankLines() throws IOException {
        String text = "\n  \n{\"hash_ids\": [1], \"extra\": {\"a\": [1, 2]}, \"timestamp\": 5, \"input_length\": 9,"
                + " \"output_length\": 1}\n\n";

        List<TraceRequest> requests = readAll(text);

        assertThat(requests).singleElement().satisfies(r -> assertThat(r.hashIds()).containsExactly(1));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "not JSON                 | {\"timestamp\": 1,                                                                   | not valid JSON",
        "not an object            | [1, 2, 3]                                                                           | expected a JSON object, got [1,2,3]",
        "missing field            | {\"timestamp\": 1, \"input_length\": 2, \"output_length\": 3}                       | missing field \"hash_ids\"",
        "string for an integer    | {\"timestamp\": 1, \"input_length\": \"2\", \"output_length\": 3, \"hash_ids\": []}  | input_length: expected an integer in 0..2147483647, got \"2\"",
        "negative length          | {\"timestamp\": 1, \"input_length\": 2, \"output_length\": -3, \"hash_ids\": []}     | output_length: expected an integer in 0..2147483647, got -3",
        "fraction                 | {\"timestamp\": 1.5, \"input_length\": 2, \"output_length\": 3, \"hash_ids\": []}    | timestamp: expected an integer in 0..9223372036854775807, got 1.5",
        "length beyond int        | {\"timestamp\": 1, \"input_length\": 3000000000, \"output_length\": 3, \"hash_ids\": []} | input_length: expected an integer in 0..2147483647, got 3000000000",
        "hash_ids not an array    | {\"timestamp\": 1, \"input_length\": 2, \"output_length\": 3, \"hash_ids\": 7}       | hash_ids: expected an array of block ids, got 7",
        "block id not an integer  | {\"timestamp\": 1, \"input_length\": 2, \"output_length\": 3, \"hash_ids\": [4, \"x\"]} | hash_ids[1]: expected an integer in 0..18014398509481983, got \"x\"",
        "block id too large       | {\"timestamp\": 1, \"input_length\": 2, \"output_length\": 3, \"hash_ids\": [18014398509481984]} | hash_ids[0]: expected an integer in 0..18014398509481983, got 18014398509481984",
        "negative block id        | {\"timestamp\": 1, \"input_length\": 2, \"output_length\": 3, \"hash_ids\": [-1]}    | hash_ids[0]: expected an integer in 0..18014398509481983, got -1",
        "two values on one line   | {\"timestamp\": 1, \"input_length\": 2, \"output_length\": 3, \"hash_ids\": []} {}  | not valid JSON",
        "repeated field           | {\"timestamp\": 1, \"timestamp\": 2, \"input_length\": 2, \"output_length\": 3, \"hash_ids\": []} | not valid JSON: Duplicate field 'timestamp'",
    })
    void shouldStopAtMalformedLineNamingItsNumberAndProblem(String kind, String line, String problem) {
        List<TraceRequest> before = new ArrayList<>();
        String text = GOOD + "\n\n" + line + "\n" + GOOD + "\n";

        assertThatThrownBy(() -> MooncakeTraceReader.forEach(new BufferedReader(new StringReader(text)), "t.jsonl",
                before::add))
                .isInstanceOfSatisfying(TraceFormatException.class, e -> assertThat(e.lineNumber()).isEqualTo(3))
                .hasMessageStartingWith("t.jsonl line 3: ")
                .hasMessageContaining(problem);
        assertThat(before).as("the requests before the bad line were handed on").hasSize(1);
    }

    @Test
    void shouldReadFileIntoChunkKeysNamedByTheFile(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("small.jsonl"),
                "{\"timestamp\": 0, \"input_length\": 1300, \"output_length\": 1, \"hash_ids\": [7, 8, 9]}\n");

        ChunkTrace trace = MooncakeTraceReader.read(file, 256);

        assertThat(trace.name()).isEqualTo("small.jsonl");
        assertThat(trace.requests()).isEqualTo(1);
        assertThat(trace.requestKeys(0)).containsExactly(14, 15, 16, 17, 18);
        assertThat(trace.inputTokens()).isEqualTo(1300);
    }

    @Test
    void shouldNameFileAndLineOfMalformedLine(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("bad.jsonl"), GOOD + "\n" + GOOD.replace("52", "-52") + "\n");

        assertThatThrownBy(() -> MooncakeTraceReader.read(file, 256))
                .isInstanceOf(TraceFormatException.class)
                .hasMessage(file + " line 2: output_length: expected an integer in 0..2147483647, got -52");
    }
}
