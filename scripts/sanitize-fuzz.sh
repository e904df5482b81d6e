#!/usr/bin/env bash
# Builds the fuzz test (tests/core/tst_fuzz.cpp: safetensors, experiment, dataset importers, output
# parser) with AddressSanitizer and UndefinedBehaviorSanitizer in its own build folder and runs it.
# Only tst_fuzz and the torch-free libraries it links are compiled (a few minutes on 2 cores).
#   scripts/sanitize-fuzz.sh [BUILD_DIR]     (default: build-sanitize beside build/)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-sanitize}"
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRECALIGN_USE_PCH=OFF \
        -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" \
        -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" > "$build.configure.log" 2>&1 \
        || { cat "$build.configure.log" >&2; exit 1; }
fi
cmake --build "$build" -j "${RECALIGN_JOBS:-$(nproc)}" --target tst_fuzz
# detect_leaks: Qt's and glibc's process-lifetime allocations are not the readers' leaks.
ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    QT_QPA_PLATFORM=offscreen "$build/bin/tst_fuzz"
