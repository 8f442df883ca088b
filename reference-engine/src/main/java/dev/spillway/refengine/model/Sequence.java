package dev.spillway.refengine.model;

import java.util.Arrays;
import java.util.Objects;

/**
 * One sequence's share of a forward pass: which of its positions to compute now and where its
 * K and V live in the paged cache.
 *
 * <pre>
 * positions   0 .. start-1                   start .. start+count-1       start+count .. tokens.length-1
 *             K/V already in the cache       computed by this forward     not yet (ignored)
 *             (computed earlier or loaded)   (K/V written to their slots)
 * slots       slot of every position in [0, start+count): blockId * blockSize + offset
 * </pre>
 *
 * <p>A prefill from scratch is {@code start = 0, count = tokens.length}; a chunked prefill moves
 * {@code start} forward chunk by chunk; a decode step is {@code count = 1} at the last position;
 * a prompt whose first {@code s} tokens were loaded by the connector starts at {@code start = s}.
 *
 * <p>Immutable: the arrays are copied in and out. Token ids and slots are checked against the
 * model and the cache when the sequence is passed to {@link Transformer#forward}.
 */
public final class Sequence {

    private final int[] tokens;
    private final int start;
    private final int count;
    private final int[] slots;

    /**
     * Creates a sequence.
     *
     * @param tokens all the sequence's tokens so far; only {@code [0, start + count)} are read
     * @param start  the first position to compute; positions before it must already have their K
     *               and V in the cache
     * @param count  how many positions to compute, at least 1
     * @param slots  the paged-cache slot of every position in {@code [0, start + count)}; entries
     *               beyond are ignored
     * @throws NullPointerException     when {@code tokens} or {@code slots} is null
     * @throws IllegalArgumentException when {@code start} is negative, {@code count} below 1,
     *                                  {@code start + count} beyond {@code tokens.length}, or
     *                                  {@code slots} shorter than {@code start + count}
     */
    public Sequence(int[] tokens, int start, int count, int[] slots) {
        Objects.requireNonNull(tokens, "tokens");
        Objects.requireNonNull(slots, "slots");
        if (start < 0) {
            throw new IllegalArgumentException("Sequence.start = " + start + " must not be negative");
        }
        if (count < 1) {
            throw new IllegalArgumentException("Sequence.count = " + count + " must be at least 1: a sequence in a "
                    + "forward pass computes at least one position");
        }
        long end = (long) start + count;
        if (end > tokens.length) {
            throw new IllegalArgumentException("Sequence start + count = " + start + " + " + count + " = " + end
                    + " exceeds tokens.length = " + tokens.length);
        }
        if (slots.length < end) {
            throw new IllegalArgumentException("Sequence.slots.length = " + slots.length + " is less than start + count = "
                    + end + ": every position up to the last computed one needs a cache slot");
        }
        this.tokens = tokens.clone();
        this.start = start;
        this.count = count;
        this.slots = slots.clone();
    }

    /**
     * Returns a sequence that computes all of {@code tokens} from position 0.
     *
     * @throws NullPointerException     when an argument is null
     * @throws IllegalArgumentException when {@code tokens} is empty or {@code slots} is shorter
     */
    public static Sequence prefill(int[] tokens, int[] slots) {
        return new Sequence(tokens, 0, Objects.requireNonNull(tokens, "tokens").length, slots);
    }

    /** Returns a copy of all the tokens given. */
    public int[] tokens() {
        return tokens.clone();
    }

    /** Returns the first position computed. */
    public int start() {
        return start;
    }

    /** Returns the number of positions computed. */
    public int count() {
        return count;
    }

    /** Returns {@code start + count}: the positions attention reads for the last computed one. */
    public int end() {
        return start + count;
    }

    /** Returns a copy of the slots given. */
    public int[] slots() {
        return slots.clone();
    }

    /** Returns the token at {@code position}, without copying (package-private for the forward pass). */
    int token(int position) {
        return tokens[position];
    }

    /** Returns the slot of {@code position}, without copying (package-private for the forward pass). */
    int slot(int position) {
        return slots[position];
    }

    /** Returns whether {@code other} has the same tokens, start, count and slots. */
    @Override
    public boolean equals(Object other) {
        return other instanceof Sequence s && start == s.start && count == s.count
                && Arrays.equals(tokens, s.tokens) && Arrays.equals(slots, s.slots);
    }

    /** Returns a hash of the tokens, start, count and slots, consistent with {@link #equals}. */
    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(tokens), start, count, Arrays.hashCode(slots));
    }

    /** Returns the lengths and the computed range, not the arrays. */
    @Override
    public String toString() {
        return "Sequence[tokens=" + tokens.length + ", start=" + start + ", count=" + count + ", slots=" + slots.length + "]";
    }
}
