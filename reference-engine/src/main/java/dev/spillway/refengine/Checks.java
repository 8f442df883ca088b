package dev.spillway.refengine;

/**
 * Argument checks whose messages name the argument, its value and the valid range, shared by the
 * reference engine's packages so that every bad input reads the same way.
 */
public final class Checks {

    private Checks() {
    }

    /**
     * Returns {@code value} when it lies in {@code [0, bound)}.
     *
     * @throws IndexOutOfBoundsException naming the argument, the value and the range otherwise
     */
    public static int index(String name, int value, int bound) {
        if (value < 0 || value >= bound) {
            throw new IndexOutOfBoundsException(name + " = " + value + " is outside the valid range [0, " + bound + ")");
        }
        return value;
    }

    /**
     * Returns {@code value} when it is at least 1.
     *
     * @throws IllegalArgumentException naming the argument and the value otherwise
     */
    public static int positive(String name, int value) {
        return atLeast(name, value, 1);
    }

    /**
     * Returns {@code value} when it is at least {@code min}.
     *
     * @throws IllegalArgumentException naming the argument, the value and the minimum otherwise
     */
    public static int atLeast(String name, int value, int min) {
        if (value < min) {
            throw new IllegalArgumentException(name + " = " + value + " must be at least " + min);
        }
        return value;
    }

    /**
     * Returns {@code value} when it is at least 0.
     *
     * @throws IllegalArgumentException naming the argument and the value otherwise
     */
    public static int notNegative(String name, int value) {
        if (value < 0) {
            throw new IllegalArgumentException(name + " = " + value + " must not be negative");
        }
        return value;
    }
}
