/**
 * The reference engine's workloads, sequences of prompts from a seed that exercise a KV cache the
 * way LMCache's benchmarks do: {@link dev.spillway.refengine.workload.MultiRoundQa} (users holding
 * conversations over a shared system prompt, the engine's answers feeding the next round) and
 * {@link dev.spillway.refengine.workload.LongDocQa} (long documents asked about repeatedly,
 * interleaved so that an engine's own cache would not keep them).
 */
package dev.spillway.refengine.workload;
