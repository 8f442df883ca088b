#!/usr/bin/env bash
# Runs the benchmark suite: every JMH suite beside its raw baseline (one results.json), the trace
# replay's hit rate against capacity and the demo's TTFT per round, then BenchReport's summary and
# charts. A full run writes benchmarks/results/<date>/ and regenerates the generated section of
# benchmarks/README.md; --quick (few iterations, the smallest parameters, under ten minutes here)
# writes target/bench-quick/ and leaves the README alone.
# Usage: scripts/bench.sh [--quick] [--out DIR]
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$root"
. scripts/lib.sh

quick=false
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=true ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out="$2"; shift ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1': expected --quick or --out DIR" ;;
  esac
  shift
done
if [ -z "$out" ]; then
  if $quick; then out="$root/target/bench-quick"; else out="$root/benchmarks/results/$(date +%F)"; fi
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

select_jdk
ensure_packages mvn:maven redis-server:redis-server
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
start=$(date +%s)
step() { log "[$(( $(date +%s) - start ))s] $*"; }

step "building the benchmarks and the CLI (mvn -pl benchmarks,cli -am package -DskipTests)"
build_log="$out/build.log"
(mvn -B -q -ntp -pl benchmarks,cli -am package -DskipTests > "$build_log" 2>&1) \
  || { cat "$build_log" >&2; die "the build failed (log above, also in $build_log)"; }

suites="LookupBenchmark|RetrieveBenchmark|LayerwiseLoadBenchmark|DiskTierBenchmark|RemoteTierBenchmark|TtftBenchmark"
if $quick; then
  # One fork, one short warm-up, two short measurements, the smallest prompt sizes.
  jmh_options=(-f 1 -wi 1 -i 2 -w 1s -r 1s -p promptTokens=1024,4096 -p hitPercent=0,100 -p tier=G2)
  sweep=0.1,0.4
  demo_options=(--users 2 --rounds 3)
else
  jmh_options=()
  sweep=0.05,0.1,0.2,0.4
  demo_options=()
fi
step "running the JMH suites ($suites) -> $out/results.json; JMH's progress follows"
"$JAVA_HOME/bin/java" -jar benchmarks/target/benchmarks.jar "$suites" "${jmh_options[@]}" \
    -rf json -rff "$out/results.json" 2>&1 | tee "$out/jmh.log" \
  | grep --line-buffered -E '^# (Benchmark|Parameters):|^Iteration|^Result ' >&2 || true
[ -s "$out/results.json" ] || die "JMH wrote no results (see $out/jmh.log)"
# JMH exits 0 when a benchmark throws: its "<failure>" blocks in the log say which; the rest still runs.
failed=$(awk '/^# Benchmark: /{b=$3} /^# Parameters: /{p=$0} /^<failure>/{print b, p}' "$out/jmh.log" | sort -u)
[ -z "$failed" ] || log "benchmarks that failed (see $out/jmh.log):"$'\n'"$failed"

step "replaying the conversation trace through every policy at capacities $sweep -> $out/replay.json, hit-rate.png"
scripts/spillway replay --policy all --sweep "$sweep" --json --chart "$out/hit-rate.png" > "$out/replay.json"

step "running spillway demo ${demo_options[*]} -> $out/demo.json, demo-ttft.png"
scripts/spillway demo "${demo_options[@]}" --json --chart "$out/demo-ttft.png" > "$out/demo.json"

readme=()
$quick || readme=("$root/benchmarks/README.md")
step "writing the summary and charts${readme:+ and the generated section of benchmarks/README.md}"
"$JAVA_HOME/bin/java" -cp benchmarks/target/benchmarks.jar dev.spillway.bench.BenchReport \
    "$out/results.json" "$out" "${readme[@]}"

step "done: $out (results.json, summary.md, ttft.png, bandwidth.png, hit-rate.png, demo-ttft.png, replay.json, demo.json)"
[ -z "$failed" ] || die "some benchmarks failed; their results are missing from the report (listed above)"
