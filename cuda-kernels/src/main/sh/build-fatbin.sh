#!/usr/bin/env bash
# Compiles the CUDA kernels into a fatbin when nvcc is on the PATH; Maven runs it in cuda-kernels'
# generate-resources phase with the output under target/classes, so the jar carries the fatbin as
# a classpath resource (dev.spillway.cuda.KernelBinary). Without nvcc it says so in one line and
# succeeds: a machine without the CUDA toolkit still builds and runs the CPU shim tests.
#
# Usage: build-fatbin.sh SOURCE.cu OUTPUT.fatbin
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 SOURCE.cu OUTPUT.fatbin" >&2
  exit 2
fi
source_file=$1
output=$2

if ! command -v nvcc >/dev/null 2>&1; then
  # A fatbin left by an earlier build that had nvcc may no longer match the source: the classpath
  # carries a fatbin only when this build made it.
  rm -f "$output"
  echo "nvcc not found; skipping the CUDA fatbin, the CPU shim tests still run"
  exit 0
fi

# The fatbin depends on this one source and on this script's flags only; nvcc is the slowest step
# of the module's build, so an up-to-date fatbin is kept.
if [ "$output" -nt "$source_file" ] && [ "$output" -nt "$0" ]; then
  exit 0
fi

mkdir -p "$(dirname "$output")"
# SASS for Ampere data center (sm_80), Ampere (sm_86), Ada (sm_89) and Hopper (sm_90), and PTX for
# compute_90, which the driver JIT-compiles on anything newer. Written to a temporary name first so
# that an interrupted build cannot leave a truncated fatbin that looks up to date.
nvcc --fatbin -O3 -Werror all-warnings --threads 0 \
  -gencode arch=compute_80,code=sm_80 \
  -gencode arch=compute_86,code=sm_86 \
  -gencode arch=compute_89,code=sm_89 \
  -gencode 'arch=compute_90,code=[sm_90,compute_90]' \
  -o "$output.tmp" "$source_file"
mv "$output.tmp" "$output"
