/**
 * The reference engine's scheduler: admits requests, allocates their blocks (through the engine's
 * own prefix cache, off by default), and runs each step's forward pass calling the KV connector in
 * vLLM's order; a load error rolls a request back to its first failed block, so the engine
 * recomputes it.
 */
package dev.spillway.refengine.scheduler;
