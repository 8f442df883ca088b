package dev.spillway.transfer;

/** Where KV bytes can be: one of the four tiers, or the engine's own paged cache on the device. */
public enum Location {
    /** G1: chunk slots in device memory. */
    DEVICE_TIER,
    /** G2: chunk slots in pinned host memory, the staging area of every transfer. */
    HOST_TIER,
    /** G3: the persistent local disk tier. */
    LOCAL_TIER,
    /** G4: the shared remote tier. */
    REMOTE_TIER,
    /** The inference engine's paged KV cache, in device memory, in vLLM's layout. */
    ENGINE
}
