package dev.spillway.replay;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Reads the Mooncake trace format: JSON lines, one request per line, in arrival order, each an
 * object with the integer fields {@code timestamp}, {@code input_length}, {@code output_length}
 * (all {@code >= 0}) and {@code hash_ids}, an array of block ids ({@code 0..ChunkKeys.MAX_BLOCK_ID}).
 * Other fields are ignored; lines holding only white space are skipped.
 *
 * <p>The file is read line by line and each request handed on before the next line is read, so
 * memory does not grow with the file's text. The first malformed line stops the read with a
 * {@link TraceFormatException} that names the line and the problem: text that is not one JSON
 * object, a missing field, a field of the wrong type or out of range, or a repeated field.
 */
public final class MooncakeTraceReader {

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final int MAX_SHOWN = 40;

    private MooncakeTraceReader() {
    }

    /**
     * Reads a trace file and turns it into the chunk keys of {@link TraceRequest#chunkKeys}, in
     * file order.
     *
     * @param file      a Mooncake JSON-lines trace (UTF-8)
     * @param chunkSize tokens per chunk, as {@link ChunkKeys#chunksPerBlock} accepts
     * @return the trace, named by the file's name
     * @throws TraceFormatException on the first malformed line
     * @throws IOException          when the file cannot be read
     */
    public static ChunkTrace read(Path file, int chunkSize) throws IOException {
        ChunkTrace.Builder trace = ChunkTrace.builder(file.getFileName().toString(), chunkSize);
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            forEach(in, file.toString(), request -> trace.addRequest(request.chunkKeys(chunkSize), request.inputLength()));
        }
        return trace.build();
    }

    /**
     * Parses each line of {@code in} and hands its request to {@code action}, in order.
     *
     * @param in     the trace text; not closed
     * @param source the trace's name for error messages, for example its path
     * @return the number of requests read
     * @throws TraceFormatException on the first malformed line, after the requests before it were handed on
     * @throws IOException          when {@code in} cannot be read
     */
    public static long forEach(BufferedReader in, String source, Consumer<? super TraceRequest> action) throws IOException {
        long lineNumber = 0;
        long requests = 0;
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            lineNumber++;
            if (line.isBlank()) {
                continue;
            }
            action.accept(parse(line, source, lineNumber));
            requests++;
        }
        return requests;
    }

    private static TraceRequest parse(String line, String source, long lineNumber) throws TraceFormatException {
        JsonNode root;
        try {
            root = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new TraceFormatException(source, lineNumber, "not valid JSON: " + e.getOriginalMessage());
        }
        if (!root.isObject()) {
            throw new TraceFormatException(source, lineNumber, "expected a JSON object, got " + shown(root));
        }
        long timestamp = nonNegative(root, "timestamp", Long.MAX_VALUE, source, lineNumber);
        int inputLength = (int) nonNegative(root, "input_length", Integer.MAX_VALUE, source, lineNumber);
        int outputLength = (int) nonNegative(root, "output_length", Integer.MAX_VALUE, source, lineNumber);
        JsonNode ids = field(root, "hash_ids", source, lineNumber);
        if (!ids.isArray()) {
            throw new TraceFormatException(source, lineNumber, "hash_ids: expected an array of block ids, got " + shown(ids));
        }
        long[] hashIds = new long[ids.size()];
        for (int i = 0; i < hashIds.length; i++) {
            hashIds[i] = integer(ids.get(i), "hash_ids[" + i + "]", ChunkKeys.MAX_BLOCK_ID, source, lineNumber);
        }
        return new TraceRequest(timestamp, inputLength, outputLength, hashIds);
    }

    private static JsonNode field(JsonNode root, String name, String source, long lineNumber) throws TraceFormatException {
        JsonNode value = root.get(name);
        if (value == null) {
            throw new TraceFormatException(source, lineNumber, "missing field \"" + name + "\"");
        }
        return value;
    }

    private static long nonNegative(JsonNode root, String name, long max, String source, long lineNumber)
            throws TraceFormatException {
        return integer(field(root, name, source, lineNumber), name, max, source, lineNumber);
    }

    private static long integer(JsonNode value, String name, long max, String source, long lineNumber)
            throws TraceFormatException {
        if (!value.isIntegralNumber() || !value.canConvertToLong() || value.longValue() < 0 || value.longValue() > max) {
            throw new TraceFormatException(source, lineNumber,
                    name + ": expected an integer in 0.." + max + ", got " + shown(value));
        }
        return value.longValue();
    }

    private static String shown(JsonNode value) {
        String text = value.toString();
        return text.length() <= MAX_SHOWN ? text : text.substring(0, MAX_SHOWN) + "...";
    }
}
