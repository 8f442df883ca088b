package dev.spillway.connector;

import java.util.List;

/**
 * The plan of one scheduler step that the scheduler side hands to the worker side: what to load
 * before the layers are computed and what to save after.
 *
 * @param loads the loads, one per request that has KV to load in this step
 * @param saves the saves, one per request whose step completes chunks Spillway may not hold
 */
public record ConnectorMetadata(List<LoadSpec> loads, List<SaveSpec> saves) {

    /** A step with nothing to load or save. */
    public static final ConnectorMetadata EMPTY = new ConnectorMetadata(List.of(), List.of());

    /** Copies both lists. */
    public ConnectorMetadata {
        loads = List.copyOf(loads);
        saves = List.copyOf(saves);
    }
}
