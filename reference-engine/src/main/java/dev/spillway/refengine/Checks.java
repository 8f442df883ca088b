package dev.spillway.refengine;

/** Argument checks whose messages name the argument, its value and the valid range. */
final class Checks {

    private Checks() {
    }

    /**
     * Returns {@code value} when it lies in {@code [0, bound)}.
     *
     * @throws IndexOutOfBoundsException naming the argument, the value and the range otherwise
     */
    static int index(String name, int value, int bound) {
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
    static int positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " = " + value + " must be at least 1");
        }
        return value;
    }

    /**
     * Returns {@code value} when it is at least 0.
     *
     * @throws IllegalArgumentException naming the argument and the value otherwise
     */
    static int notNegative(String name, int value) {
        if (value < 0) {
            throw new IllegalArgumentException(name + " = " + value + " must not be negative");
        }
        return value;
    }
}
