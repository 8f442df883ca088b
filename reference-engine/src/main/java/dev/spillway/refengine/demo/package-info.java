/**
 * The multi-round QA comparison behind {@code spillway demo}: the same conversations cold and with
 * Spillway, compared round by round on TTFT, tokens served per tier and identical outputs.
 */
package dev.spillway.refengine.demo;
