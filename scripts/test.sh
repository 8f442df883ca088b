#!/usr/bin/env bash
# Builds every module and runs every test on JDK 25, installing what the build needs first.
# Usage: scripts/test.sh [extra mvn arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

select_jdk
ensure_packages mvn:maven g++:g++ redis-server:redis-server openssl:openssl
log "JDK: $JAVA_HOME ($("$JAVA_HOME/bin/java" -version 2>&1 | head -n 1))"
# Maven's own libraries call sun.misc.Unsafe; JDK 25 would print a warning for each run.
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
log "running mvn -B verify over all modules"
exec mvn -B -ntp verify "$@"
