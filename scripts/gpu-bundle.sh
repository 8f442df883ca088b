#!/usr/bin/env bash
# Makes a self-contained folder that runs scripts/gpu-check.sh on a GPU host that has the NVIDIA
# driver but no Java, no Maven and no network: a jlink-trimmed JDK 25 runtime (jre/), the jars
# (lib/: cuda-kernels with the kernels' fatbin, kv-engine and its libraries, JCuda and its natives,
# logback, the test jars of both modules, the JUnit console launcher), jvm.flags, logback.xml,
# BUILD-INFO and gpu-check.sh itself. Fails when the folder exceeds 60 MiB.
#
# Usage: scripts/gpu-bundle.sh [OUTPUT_DIR]       (default: target/gpu-bundle)
#
# Run it here, where the repository builds: JDK 25, Maven, nvcc (for the fatbin) and, the first time,
# Maven Central (for the console launcher). Then, on the GPU host, from the repository root:
#
#   bash target/gpu-bundle/gpu-check.sh [GpuCheck options, e.g. --sizes 4MiB,64MiB --json out.json]
#
# With the device tool, which copies the working tree but not ignored paths unless carried:
#   run(command="bash target/gpu-bundle/gpu-check.sh", carry=["target/gpu-bundle"])
#
# The nvcc that builds the fatbin sets the oldest driver that can load it (docs/spec/kernels.md);
# BUILD-INFO records its release, and gpu-check.sh prints it beside the host's driver.
set -euo pipefail

root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

limit_bytes=$((60 * 1024 * 1024))
out=$(readlink -m "${1:-$root/target/gpu-bundle}")
built="$root/cuda-kernels/target/gpu-check"

# A JDK module that the libraries reference but nothing the bundle runs needs: java.desktop (15 MiB)
# is there for SnakeYAML's JavaBean mapping, while Spillway reads its YAML file into plain maps.
excluded_modules=(java.desktop)

select_jdk
ensure_packages mvn:maven
command -v nvcc >/dev/null 2>&1 \
  || die "nvcc not found: without it the build packages no kernels' fatbin, and the bundle could never use CUDA"
if [ -e "$out" ] && [ ! -f "$out/BUILD-INFO" ]; then
  die "$out exists and is not a GPU bundle; give another folder or remove it"
fi

log "building kv-engine and cuda-kernels with the gpu-check class path (mvn -Pgpu-check package, tests skipped)"
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
# The copy goals only add and overwrite: start from nothing, so that no stale jar joins the class path.
rm -rf "$root/cuda-kernels/target/gpu-check"
# Maven's output is shown only when the build fails: this Maven prints colour codes even with -B.
if ! build_log=$(cd "$root" && mvn -B -ntp -q -Pgpu-check -pl cuda-kernels -am package -DskipTests 2>&1); then
  printf '%s\n' "$build_log" >&2
  die "the build failed (mvn -Pgpu-check -pl cuda-kernels -am package in $root)"
fi

jars=("$root"/cuda-kernels/target/cuda-kernels-*.jar)
[ ${#jars[@]} -eq 2 ] || die "expected cuda-kernels' jar and tests jar in cuda-kernels/target, found: ${jars[*]}"
main_jar=$(printf '%s\n' "${jars[@]}" | grep -v -- '-tests\.jar$')
"$JAVA_HOME/bin/jar" --list --file "$main_jar" | grep -qx 'dev/spillway/cuda/kv_kernels.fatbin' \
  || die "$main_jar carries no kernels' fatbin although nvcc is on the PATH"

log "assembling $out"
rm -rf "$out"
mkdir -p "$out/lib"
cp "${jars[@]}" "$out/lib/"
cp "$built"/logback.xml "$out/"
for jar in "$built"/lib/*.jar; do
  case "$(basename "$jar")" in
    jcuda-natives-*.jar) ;;
    *) cp "$jar" "$out/lib/" ;;
  esac
done

# JCuda's natives jar also carries the NVRTC and PTX compiler bindings (24 MiB unpacked), which only
# jcuda.nvrtc and jcuda.nvptxcompiler load; Spillway uses the runtime and driver APIs alone.
natives=("$built"/lib/jcuda-natives-*.jar)
[ ${#natives[@]} -eq 1 ] || die "expected one jcuda-natives jar in $built/lib, found: ${natives[*]}"
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
(cd "$unpacked" && "$JAVA_HOME/bin/jar" --extract --file "${natives[0]}")
rm -f "$unpacked"/lib/libJNvrtc-* "$unpacked"/lib/libJNvPTXCompiler-*
ls "$unpacked"/lib/libJCudaRuntime-*.so "$unpacked"/lib/libJCudaDriver-*.so >/dev/null \
  || die "${natives[0]} has no JCuda runtime or driver library"
"$JAVA_HOME/bin/jar" --create --file "$out/lib/$(basename "${natives[0]}")" \
  --manifest "$unpacked/META-INF/MANIFEST.MF" -C "$unpacked" lib -C "$unpacked" META-INF/maven
log "JCuda natives: kept $(cd "$unpacked/lib" && echo *)"

# The modules every jar needs: jdeps reads the class files of the ordinary jars; a jar with its own
# module descriptor (jqwik) names its JDK modules itself, and jdeps refuses it as an input because
# the modules it requires (JUnit's) are not modules here.
plain_jars=()
declared=()
for jar in "$out"/lib/*.jar; do
  description=$("$JAVA_HOME/bin/jar" --describe-module --file "$jar")
  if printf '%s\n' "$description" | head -n 1 | grep -q '^No module descriptor found'; then
    plain_jars+=("$jar")
  else
    # Lines read "requires MODULE [MODIFIERS]"; a static requirement is optional at run time.
    while read -r word module modifiers; do
      [ "$word" = requires ] || continue
      [[ " $modifiers " == *" static "* ]] && continue
      case "$module" in java.*|jdk.*) declared+=("$module") ;; esac
    done <<<"$description"
  fi
done
scanned=$("$JAVA_HOME/bin/jdeps" --print-module-deps --ignore-missing-deps --multi-release 25 \
  --class-path "$out/lib/*" "${plain_jars[@]}")
# jdk.zipfs too, which no class names: JUnit's class path scanner opens each jar as a file system
# through the "jar" provider, a service that jdeps cannot see.
modules=$(printf '%s\n' ${scanned//,/ } "${declared[@]}" jdk.unsupported jdk.zipfs | sort -u \
  | grep -vxF -f <(printf '%s\n' "${excluded_modules[@]}") | paste -sd, -)
log "jlink: JDK modules $modules (left out: ${excluded_modules[*]})"
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --output "$out/jre" \
  --strip-debug --no-header-files --no-man-pages --compress=zip-6

# libjvm.so keeps a 5 MiB symbol table that only names the JVM's own frames in a crash report;
# its dynamic symbols, all that loading and JNI need, stay.
if command -v strip >/dev/null 2>&1; then
  before=$(stat -c %s "$out/jre/lib/server/libjvm.so")
  strip --strip-unneeded "$out/jre/lib/server/libjvm.so"
  after=$(stat -c %s "$out/jre/lib/server/libjvm.so")
  log "stripped libjvm.so's symbol table: $((before / 1048576)) -> $((after / 1048576)) MiB"
else
  log "strip not found; libjvm.so keeps its symbol table"
fi

# The flags the tests run with (the parent pom's spillway.jvm.flags), less those naming a module
# this runtime leaves out, which would only make the JVM warn at every start.
present=$("$out/jre/bin/java" --list-modules | sed 's/@.*//')
read -r -d '' -a flags < "$built/jvm.flags" || true
kept=()
for ((i = 0; i < ${#flags[@]}; i++)); do
  flag=${flags[i]}
  if [[ "$flag" == --add-opens || "$flag" == --add-exports ]] && ((i + 1 < ${#flags[@]})); then
    target=${flags[i + 1]}
    i=$((i + 1))
    if ! grep -qxF "${target%%/*}" <<<"$present"; then
      log "jvm.flags: dropped $flag $target (module not in the trimmed runtime)"
      continue
    fi
    kept+=("$flag" "$target")
  else
    kept+=("$flag")
  fi
done
printf '%s\n' "${kept[*]}" > "$out/jvm.flags"

cp "$root/scripts/gpu-check.sh" "$root/scripts/lib.sh" "$out/"
{
  echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$( \
    [ -z "$(git -C "$root" status --porcelain 2>/dev/null)" ] || echo ' (with uncommitted changes)')"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  release=$(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
  echo "fatbin: nvcc $release (the host driver must support CUDA $release)"
  echo "runtime: $("$out/jre/bin/java" -version 2>&1 | sed -n 2p), modules $modules"
} > "$out/BUILD-INFO"

# A module that the runtime lacks shows only when the code needing it runs, so the bundle runs both
# of its programs here: the launcher finds the gpu tests, and GpuCheck measures the simulated GPU.
log "checking the bundle: its runtime finds the gpu tests and runs GpuCheck on the simulated GPU"
read -r -d '' -a kept_flags < "$out/jvm.flags" || true
bundle_java=("$out/jre/bin/java" "${kept_flags[@]}" -Djava.io.tmpdir="$unpacked"
             -Dlogback.configurationFile="$out/logback.xml" -cp "$out/lib/*")
discovered=$("${bundle_java[@]}" org.junit.platform.console.ConsoleLauncher discover --disable-banner \
  --disable-ansi-colors --details-theme=ascii --select-package=dev.spillway --include-tag=gpu \
  --include-engine=junit-jupiter --include-engine=jqwik 2>&1) || true
found=$(sed -n 's/^\[ *\([0-9][0-9]*\) tests found *\]$/\1/p' <<<"$discovered")
if [ "${found:-0}" -eq 0 ] || grep -q 'Error scanning' <<<"$discovered"; then
  printf '%s\n' "$discovered" >&2
  die "the bundled launcher found no gpu tests, or failed to scan a jar (a JDK module missing?)"
fi
if ! smoke=$("${bundle_java[@]}" dev.spillway.cuda.GpuCheck --sim --sizes 128KiB --warmups 0 --repeats 1 2>&1); then
  printf '%s\n' "$smoke" >&2
  die "the bundled runtime failed to run GpuCheck --sim (a JDK module missing?)"
fi
log "the bundled launcher finds $found gpu tests; GpuCheck --sim runs"

size=$(du -sb "$out" | cut -f1)
mib=$(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1048576 }')
log "bundle: $out, $mib MiB (jre $(du -sm "$out/jre" | cut -f1) MiB, lib $(du -sm "$out/lib" | cut -f1) MiB;" \
  "limit 60 MiB)"
[ "$size" -le "$limit_bytes" ] || die "the bundle is $mib MiB, over the 60 MiB limit"
log "run it on the GPU host from the repository root: bash ${out#"$root"/}/gpu-check.sh"
