#!/usr/bin/env bash
# Builds the core + CLI dependencies from the sources scripts/device/fetch-deps.sh packed into
# .devdeps/src/ (Debian 12's source packages), with THIS machine's compiler and C++ ABI, into a
# private prefix: zlib, yaml-cpp (static), sqlite3 (shared, from the amalgamation), nlohmann-json
# (headers) and sentencepiece with its bundled protobuf-lite as static archives — linked into
# librecalign_tokenizer.so with their symbols hidden (-DRECALIGN_SENTENCEPIECE_STATIC=ON), so
# neither protobuf nor libstdc++ is shared with torch and no RTLD_DEEPBIND is needed.
# Usage: scripts/device/build-deps.sh PREFIX [CXX11_ABI 0|1] [JOBS]
# Then configure with -DCMAKE_PREFIX_PATH=PREFIX -DRECALIGN_SENTENCEPIECE_STATIC=ON. A second run
# with the same sources and ABI does nothing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
prefix="$1"
abi="${2:-1}"
jobs="${3:-$(nproc)}"
src="${RECALIGN_DEPS_SRC:-$root/.devdeps/src}"
cmake_bin="${CMAKE:-cmake}"
ls "$src"/*.tar.xz >/dev/null 2>&1 || { echo "build-deps: no sources in $src: run scripts/device/fetch-deps.sh" >&2; exit 1; }
stamp="$(ls -l "$src"/*.tar.xz; echo "abi $abi"; ${CXX:-c++} --version | head -1)"
if [ -f "$prefix/.stamp" ] && [ "$stamp" = "$(cat "$prefix/.stamp")" ]; then
    echo "build-deps: $prefix is up to date"
    exit 0
fi
rm -rf "$prefix"
mkdir -p "$prefix"
work="$prefix/.build"
mkdir -p "$work"
flags="-O2 -fPIC -D_GLIBCXX_USE_CXX11_ABI=$abi"
common=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib
        -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="-O2 -fPIC"
        -DBUILD_SHARED_LIBS=OFF -DCMAKE_POLICY_VERSION_MINIMUM=3.5 -DBUILD_TESTING=OFF)
unpack() { tar -C "$work" -xJf "$(ls "$src"/"$1"-*.tar.xz | head -1)"; ls -d "$work/$1"-* | head -1; }
cmake_install() {  # NAME SOURCE_DIR ARGS...
    local name=$1 dir=$2
    shift 2
    local t0=$SECONDS
    "$cmake_bin" -S "$dir" -B "$work/$name-build" "${common[@]}" "$@" > "$work/$name.log" 2>&1 \
        && "$cmake_bin" --build "$work/$name-build" -j "$jobs" >> "$work/$name.log" 2>&1 \
        && "$cmake_bin" --install "$work/$name-build" >> "$work/$name.log" 2>&1 \
        || { tail -30 "$work/$name.log"; echo "build-deps: $name failed (log: $work/$name.log)" >&2; exit 1; }
    echo "build-deps: $name in $((SECONDS - t0)) s"
}

# zlib through its own configure (static, position-independent).
zl="$(unpack zlib)"
t0=$SECONDS
(cd "$zl" && CFLAGS="-O2 -fPIC" ./configure --prefix="$prefix" --libdir="$prefix/lib" --static > "$work/zlib.log" 2>&1 \
    && make -j "$jobs" libz.a >> "$work/zlib.log" 2>&1 && make install >> "$work/zlib.log" 2>&1) \
    || { tail -30 "$work/zlib.log"; echo "build-deps: zlib failed" >&2; exit 1; }
echo "build-deps: zlib in $((SECONDS - t0)) s"
cmake_install yaml-cpp "$(unpack yaml-cpp)" -DYAML_CPP_BUILD_TESTS=OFF -DYAML_CPP_BUILD_TOOLS=OFF \
    -DYAML_CPP_BUILD_CONTRIB=OFF -DYAML_BUILD_SHARED_LIBS=OFF
cmake_install nlohmann-json "$(unpack nlohmann-json3)" -DJSON_BuildTests=OFF -DJSON_Install=ON
cmake_install sentencepiece "$(unpack sentencepiece)" -DSPM_ENABLE_SHARED=OFF -DSPM_ENABLE_TCMALLOC=OFF \
    -DSPM_USE_BUILTIN_PROTOBUF=ON -DSPM_ENABLE_NFKC_COMPILE=OFF

# sqlite3: the amalgamation as a shared library (it needs libdl / libpthread / libm).
sq="$(unpack sqlite3)"
t0=$SECONDS
mkdir -p "$prefix/include"
${CC:-cc} -O2 -fPIC -shared -o "$prefix/lib/libsqlite3.so" "$sq/sqlite3.c" -DSQLITE_THREADSAFE=1 \
    -DSQLITE_ENABLE_COLUMN_METADATA -Wl,-soname,libsqlite3.so -lpthread -ldl -lm
cp "$sq/sqlite3.h" "$prefix/include/"
echo "build-deps: sqlite3 in $((SECONDS - t0)) s"

rm -rf "$work"
echo "$stamp" > "$prefix/.stamp"
echo "build-deps: done into $prefix"
ls "$prefix/lib"
