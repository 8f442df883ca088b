package dev.spillway.replay;

import java.io.IOException;

/** A trace line that is not a valid request; the message names the source, the line and the problem. */
public final class TraceFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    private final long lineNumber;

    /**
     * Creates the exception.
     *
     * @param source     the trace's name, for example its path
     * @param lineNumber the 1-based number of the bad line
     * @param problem    what is wrong with it and what was expected
     */
    public TraceFormatException(String source, long lineNumber, String problem) {
        super(source + " line " + lineNumber + ": " + problem);
        this.lineNumber = lineNumber;
    }

    /** Returns the 1-based number of the bad line. */
    public long lineNumber() {
        return lineNumber;
    }
}
