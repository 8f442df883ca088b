/**
 * The reference engine: a small decoder-only transformer driven the way vLLM drives a model, used
 * as Spillway's end-to-end test and benchmark engine. This package holds its memory side: the
 * paged KV cache in vLLM's layout, the block allocator and the per-request block tables, and the
 * argument checks its packages share. The model is in {@link dev.spillway.refengine.model}, the
 * workloads that drive it in {@link dev.spillway.refengine.workload}.
 */
package dev.spillway.refengine;
