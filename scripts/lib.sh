# Shared by the scripts in this folder: select JDK 25 and say what is happening.
# Sourced, not run.

log() { printf '[spillway] %s\n' "$*" >&2; }
die() { printf '[spillway] error: %s\n' "$*" >&2; exit 2; }

# Prints the feature version of the JDK at $1 (25 for 25.0.1), or nothing.
jdk_feature_version() {
  local release="$1/release"
  [ -r "$release" ] || return 0
  sed -n 's/^JAVA_VERSION="\([0-9]*\).*"/\1/p' "$release"
}

# Exports JAVA_HOME as a JDK >= 25: JAVA_HOME itself when it qualifies, else the newest under
# /usr/lib/jvm, else exits with a message saying how to get one.
select_jdk() {
  local v
  if [ -n "${JAVA_HOME:-}" ]; then
    v=$(jdk_feature_version "$JAVA_HOME")
    if [ -n "$v" ] && [ "$v" -ge 25 ]; then export JAVA_HOME PATH="$JAVA_HOME/bin:$PATH"; return; fi
  fi
  local best="" best_v=0 dir
  for dir in /usr/lib/jvm/*; do
    [ -x "$dir/bin/javac" ] || continue
    v=$(jdk_feature_version "$dir")
    [ -n "$v" ] || continue
    if [ "$v" -ge 25 ] && [ "$v" -gt "$best_v" ]; then best="$dir"; best_v="$v"; fi
  done
  [ -n "$best" ] || die "no JDK 25 or newer found (JAVA_HOME='${JAVA_HOME:-}', /usr/lib/jvm has: $(ls /usr/lib/jvm 2>/dev/null | tr '\n' ' ')). Install Temurin 25 or set JAVA_HOME to a JDK >= 25."
  export JAVA_HOME="$best" PATH="$best/bin:$PATH"
}

# Installs Debian packages that are missing; $1.. are "command:package" pairs.
ensure_packages() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return
  log "installing ${missing[*]} with apt-get"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
}
