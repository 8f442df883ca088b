package dev.spillway.eviction;

/** First in, first out: hits do not reorder, victims come from the oldest end. */
final class FifoPolicy extends ListPolicy {

    /** Creates an empty policy named {@code fifo}. */
    FifoPolicy() {
        super("fifo", false, false);
    }
}
