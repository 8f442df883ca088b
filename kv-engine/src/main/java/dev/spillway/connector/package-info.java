/**
 * The KV connector in the shape of vLLM's {@code KVConnectorBase_V1}: a scheduler side that says
 * how much of a prompt Spillway can supply and plans each step's loads and saves, and a worker side
 * that carries them out against the engine's paged cache, layer by layer. See
 * {@code docs/connector.md}.
 */
package dev.spillway.connector;
