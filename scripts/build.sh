#!/usr/bin/env bash
# Configures and builds RecAlign Studio into build/ (Release). Extra arguments go to CMake.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${RECALIGN_BUILD_DIR:-$root/build}"
jobs="${RECALIGN_JOBS:-$(nproc)}"
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@"
elif [ $# -gt 0 ]; then
    cmake -S "$root" -B "$build" "$@"
fi
cmake --build "$build" -j "$jobs"
