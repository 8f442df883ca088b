package dev.spillway.config;

import java.util.Objects;

/**
 * A configuration that Spillway refuses to start with. The message always names the variable (or
 * file and key), the value found there and what was expected, in the form
 * {@code SPILLWAY_CHUNK_SIZE='abc': expected an integer between 1 and 65536}, so that it can be shown
 * to a user as it is.
 */
public final class ConfigException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String variable;
    private final String value;
    private final String expected;

    /**
     * Reports a value that does not have the expected form.
     *
     * @param variable the environment variable ({@code SPILLWAY_CHUNK_SIZE}) or file key
     *                 ({@code file:/etc/spillway.yaml:chunk_size}) that holds the value
     * @param value    the value as the user wrote it; a password in a URL is masked here
     * @param expected what would have been accepted, as a phrase ({@code an integer between 1 and 65536})
     */
    public ConfigException(String variable, String value, String expected) {
        this(variable, value, null, expected);
    }

    /**
     * Reports a value with the problem found, for failures that the expectation alone does not
     * explain (an unknown variable, a file that cannot be read).
     *
     * @param problem what is wrong, as a phrase ({@code unknown variable}), or {@code null} for none
     */
    public ConfigException(String variable, String value, String problem, String expected) {
        String shown = ValueKind.maskPassword(Objects.requireNonNull(value, "value"));
        this.variable = Objects.requireNonNull(variable, "variable");
        this.value = shown;
        this.expected = Objects.requireNonNull(expected, "expected");
        super(variable + "='" + shown + "': " + (problem == null ? "" : problem + "; ") + "expected " + expected);
    }

    /** Returns the environment variable or {@code file:PATH:key} that holds the rejected value. */
    public String variable() {
        return variable;
    }

    /** Returns the rejected value as written, with any password masked. */
    public String value() {
        return value;
    }

    /** Returns what would have been accepted, as a phrase. */
    public String expected() {
        return expected;
    }
}
