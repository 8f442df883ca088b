package dev.spillway.tier;

/**
 * When {@link TieredStore} writes a chunk held in host memory (G2) down to the lower tiers
 * ({@code write_policy}).
 */
public enum WritePolicy {

    /** Every chunk newly stored in host memory is queued for the lower tiers at once. */
    WRITE_THROUGH,

    /**
     * A chunk is written down only when host memory evicts it, so that chunks that are stored and
     * reused while hot never cost a disk or network write. The chunks still in host memory when
     * the store closes are written down then (a bounded wait), except to a tier they were promoted
     * from.
     */
    WRITE_BACK
}
