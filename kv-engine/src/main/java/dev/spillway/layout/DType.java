package dev.spillway.layout;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** Element types of a KV cache, with their size and the code the block format stores. */
public enum DType {
    /** IEEE half precision. */
    FP16(2, 1, "fp16", "float16", "half"),
    /** bfloat16. */
    BF16(2, 2, "bf16", "bfloat16"),
    /** 8-bit float, 4 exponent and 3 mantissa bits (vLLM's default fp8 KV cache). */
    FP8_E4M3(1, 3, "fp8_e4m3", "fp8"),
    /** 8-bit float, 5 exponent and 2 mantissa bits. */
    FP8_E5M2(1, 4, "fp8_e5m2"),
    /** IEEE single precision. */
    FP32(4, 5, "fp32", "float32", "float");

    private final int bytes;
    private final int code;
    private final String[] names;

    DType(int bytes, int code, String... names) {
        this.bytes = bytes;
        this.code = code;
        this.names = names;
    }

    /** Returns the size of one element in bytes. */
    public int bytes() {
        return bytes;
    }

    /** Returns the stable numeric code used in fingerprints and block headers. */
    public int code() {
        return code;
    }

    /**
     * Parses a dtype name as engines spell it ({@code fp16}, {@code bfloat16}, {@code fp8}, ...).
     *
     * @throws IllegalArgumentException naming the value and the accepted names
     */
    public static DType parse(String name) {
        String wanted = name.trim().toLowerCase(Locale.ROOT);
        for (DType type : values()) {
            if (Arrays.asList(type.names).contains(wanted)) {
                return type;
            }
        }
        throw new IllegalArgumentException("dtype='" + name + "': expected one of "
                + Arrays.stream(values()).flatMap(t -> Arrays.stream(t.names)).collect(Collectors.joining(", ")));
    }

    /**
     * Returns the dtype stored under {@code code}.
     *
     * @throws IllegalArgumentException when no dtype has that code
     */
    public static DType ofCode(int code) {
        for (DType type : values()) {
            if (type.code == code) {
                return type;
            }
        }
        throw new IllegalArgumentException("dtype code=" + code + ": expected 1..5");
    }
}
