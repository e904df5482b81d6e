#!/usr/bin/env bash
# Bootstraps if needed, builds, then opens RecAlign Studio on the embedded default experiment.
# `scripts/run.sh --headless` (or no display) runs the same experiment through the CLI.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${RECALIGN_BUILD_DIR:-$root/build}"
"$root/scripts/bootstrap.sh"
"$root/scripts/build.sh"

headless=0
for a in "$@"; do
    [ "$a" = "--headless" ] && headless=1
done
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ "${QT_QPA_PLATFORM:-}" != "offscreen" ]; then
    headless=1
fi

experiment="$root/experiments/quickstart.yaml"
if [ "$headless" = 1 ]; then
    if [ -f "$experiment" ] && "$build/bin/recalign" help 2>/dev/null | grep -q '^  run '; then
        exec "$build/bin/recalign" run "$experiment"
    fi
    exec "$build/bin/recalign" info
fi
exec "$build/bin/recalign-studio" "$experiment"
