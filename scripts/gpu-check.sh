#!/usr/bin/env bash
# Checks Spillway on a machine with an NVIDIA GPU: runs the gpu-tagged tests (the GpuRuntime
# contract and the G1 tier's contract on JCudaRuntime, CudaProbe's device listing) with the JUnit
# console launcher, then GpuCheck's bandwidth benchmark (H2D, D2H and D2D through the transfer
# engine and its kernels, beside plain cudaMemcpyAsync copies of the same bytes), and prints one
# summary.
#
# It runs in two places:
#   bash target/gpu-bundle/gpu-check.sh [ARGS]   inside a bundle from scripts/gpu-bundle.sh: the
#                                                bundled JDK and jars; no Java, Maven or network
#   scripts/gpu-check.sh [ARGS]                  in the repository: JDK 25 and Maven; builds first
# ARGS go to GpuCheck: --sizes 4MiB,64MiB,256MiB, --warmups N, --repeats N, --time-limit SECONDS,
# --json FILE, --sim (the simulated runtime; then the gpu tests still need CUDA, and skip without it).
#
# Exit status 0 when no gpu test failed and GpuCheck measured, or found no CUDA on a machine where
# nvidia-smi lists no GPU either (the tests then skip). Where nvidia-smi lists a GPU, a skipped gpu
# test or an unavailable CUDA is a failure too: it means the GPU is there but Spillway cannot use it.
set -euo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

if [ -d "$here/jre" ] && [ -d "$here/lib" ]; then
  mode=bundle
  java="$here/jre/bin/java"
  # A copy that lost the mode bits on its way to this host (some transfer tools drop them).
  if [ ! -x "$java" ]; then
    chmod u+x "$here"/jre/bin/* "$here"/jre/lib/jspawnhelper "$here"/jre/lib/jexec 2>/dev/null || true
  fi
  classpath="$here/lib/*"
  files="$here"
  log "bundle $here: $(tr '\n' ';' < "$here/BUILD-INFO" | sed 's/;$//; s/;/; /g')"
else
  mode=repository
  root=$(cd "$here/.." && pwd)
  select_jdk
  ensure_packages mvn:maven
  java="$JAVA_HOME/bin/java"
  log "building kv-engine and cuda-kernels with the gpu-check class path (mvn -Pgpu-check package, tests skipped)"
  export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
  # The copy goals only add and overwrite: start from nothing, so that no stale jar joins the class path.
  rm -rf "$root/cuda-kernels/target/gpu-check"
  # Maven's output is shown only when the build fails: this Maven prints colour codes even with -B.
  if ! build_log=$(cd "$root" && mvn -B -ntp -q -Pgpu-check -pl cuda-kernels -am package -DskipTests 2>&1); then
    printf '%s\n' "$build_log" >&2
    die "the build failed (mvn -Pgpu-check -pl cuda-kernels -am package in $root)"
  fi
  files="$root/cuda-kernels/target/gpu-check"
  classpath="$root/cuda-kernels/target/classes:$root/cuda-kernels/target/test-classes:$files/lib/*"
fi
"$java" -version >/dev/null 2>&1 || die "$java does not run on this host"

gpu_line="none listed (nvidia-smi not found)"
gpus=0
driver_cuda=""
if command -v nvidia-smi >/dev/null 2>&1; then
  if listing=$(nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader 2>&1); then
    gpus=$(grep -c . <<<"$listing" || true)
    # The header's "CUDA Version" is the newest CUDA release this driver runs.
    driver_cuda=$(nvidia-smi | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | head -n 1)
    gpu_line="$(paste -sd';' - <<<"$listing"), driver runs CUDA ${driver_cuda:-?}"
  else
    gpu_line="none listed (nvidia-smi: $(head -n 1 <<<"$listing"))"
  fi
fi
log "GPU: $gpu_line"

# The driver loads the kernels' fatbin only when it runs the CUDA release of the nvcc that built it
# (docs/spec/kernels.md); say so up front, since the failure itself reads as a module load error.
if [ "$mode" = bundle ]; then
  fatbin_cuda=$(sed -n 's/^fatbin: nvcc \([0-9.]*\).*/\1/p' "$here/BUILD-INFO")
else
  fatbin_cuda=$(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p')
fi
driver_note=""
if [ -n "$driver_cuda" ] && [ -n "$fatbin_cuda" ] \
    && [ "$(printf '%s\n' "$driver_cuda" "$fatbin_cuda" | sort -V | tail -n 1)" != "$driver_cuda" ]; then
  driver_note="the driver runs CUDA $driver_cuda, older than the fatbin's nvcc $fatbin_cuda: the kernels"
  driver_note+=" will not load; rebuild with an nvcc no newer than $driver_cuda"
  log "warning: $driver_note"
fi

# JCuda unpacks its native libraries into java.io.tmpdir: a private, writable folder per run.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/spillway-gpu-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
read -r -d '' -a jvm_flags < "$files/jvm.flags" || true
jvm=("$java" "${jvm_flags[@]}" -Djava.io.tmpdir="$tmp" -Dlogback.configurationFile="$files/logback.xml"
     -Dspillway.leakDetection=true -Xmx2g -cp "$classpath")

log "running the gpu-tagged tests ($mode class path, JUnit console launcher)"
set +e
"${jvm[@]}" org.junit.platform.console.ConsoleLauncher execute \
  --disable-banner --disable-ansi-colors --details=tree --details-theme=ascii \
  --select-package=dev.spillway --include-tag=gpu --include-engine=junit-jupiter --include-engine=jqwik \
  --fail-if-no-tests --config=junit.jupiter.extensions.autodetection.enabled=true \
  --config=jqwik.database="$tmp/jqwik-database" \
  | tee "$tmp/tests.txt"
tests_status=${PIPESTATUS[0]}
set -e

# The launcher's summary lines read "[        12 tests successful      ]".
# A launcher that died before its summary leaves none: every count is then 0, and its exit status fails.
count() {
  local n
  n=$(sed -n "s/^\[ *\([0-9][0-9]*\) $1 *\]\$/\1/p" "$tmp/tests.txt" | tail -n 1)
  echo "${n:-0}"
}
passed=$(count 'tests successful')
failed=$(($(count 'tests failed') + $(count 'containers failed')))
# An aborted test is one whose assumption failed: CUDA unavailable, for these tests.
skipped=$(($(count 'tests skipped') + $(count 'tests aborted')))

log "running GpuCheck"
set +e
"${jvm[@]}" dev.spillway.cuda.GpuCheck "$@" > "$tmp/bandwidth.txt"
check_status=$?
set -e

problems=()
[ "$tests_status" -eq 0 ] || problems+=("the test run failed (console launcher exit $tests_status)")
case "$check_status" in
  0) ;;
  3) [ "$gpus" -eq 0 ] || problems+=("nvidia-smi lists $gpus GPU(s) but CUDA is unavailable") ;;
  *) problems+=("GpuCheck failed (exit $check_status)") ;;
esac
if [ "$gpus" -gt 0 ] && [ "$skipped" -gt 0 ]; then
  problems+=("nvidia-smi lists a GPU but $skipped gpu test(s) skipped")
fi

echo
echo "== Spillway GPU check ($mode) =="
printf '%-10s %s\n' "GPU" "$gpu_line"
printf '%-10s %s passed, %s failed, %s skipped (gpu-tagged tests; launcher exit %s)\n' \
  "tests" "$passed" "$failed" "$skipped" "$tests_status"
if [ "$check_status" -eq 0 ]; then
  echo bandwidth
  cat "$tmp/bandwidth.txt"
else
  reason=$(head -n 1 "$tmp/bandwidth.txt")
  printf '%-10s not measured: %s\n' "bandwidth" "${reason:-see the messages of GpuCheck above}"
fi
[ -z "$driver_note" ] || printf '%-10s %s\n' "note" "$driver_note"
if [ ${#problems[@]} -eq 0 ]; then
  printf '%-10s %s\n' "result" "PASS"
else
  printf '%-10s FAIL: %s\n' "result" "$(printf '%s; ' "${problems[@]}" | sed 's/; $//')"
  exit 1
fi
