/**
 * The reference engine: a small decoder-only transformer driven the way vLLM drives a model, used
 * as Spillway's end-to-end test and benchmark engine. {@link dev.spillway.refengine.ReferenceEngine}
 * puts it together (model, paged cache, scheduler and, when attached, Spillway's connector). This
 * package also holds its memory side: the paged KV cache in vLLM's layout, the block allocator and
 * the per-request block tables, and the argument checks its packages share. The model is in
 * {@link dev.spillway.refengine.model}, the scheduler loop in {@link dev.spillway.refengine.scheduler},
 * the workloads in {@link dev.spillway.refengine.workload} and the cold-against-Spillway comparison
 * behind {@code spillway demo} in {@link dev.spillway.refengine.demo}.
 */
package dev.spillway.refengine;
