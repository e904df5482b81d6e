#!/usr/bin/env bash
# Bootstraps if needed, builds, and runs the test suite (GUI tests offscreen). Tests labelled
# `slow` are skipped unless RECALIGN_SLOW=1. Extra arguments go to ctest (e.g. -R tst_data).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${RECALIGN_BUILD_DIR:-$root/build}"
"$root/scripts/bootstrap.sh"
start=$(date +%s)
"$root/scripts/build.sh"
echo "build: $(( $(date +%s) - start )) s"
export QT_QPA_PLATFORM=offscreen
cd "$build"
label_args=(-LE slow)
[ "${RECALIGN_SLOW:-0}" = 1 ] && label_args=()
start=$(date +%s)
set +e
ctest --output-on-failure --timeout 900 "${label_args[@]}" "$@" 2>&1 | tee "$build/ctest.log"
rc=${PIPESTATUS[0]}
set -e
echo "tests: $(( $(date +%s) - start )) s"
grep -E "tests passed|tests failed" "$build/ctest.log" | tail -1
exit "$rc"
