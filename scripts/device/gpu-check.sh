#!/usr/bin/env bash
# One-shot GPU check for a lent machine without apt, network or Qt (run from the repo root; what
# scripts/device/fetch-deps.sh put in .devdeps/ must travel with the tree). Builds the dependencies
# from Debian's sources into a private prefix (scripts/device/build-deps.sh), configures a core + CLI build without Qt against python's torch
# (through scripts/device/torch-shim; torch's own CMake package is only probed at the end, see
# RECALIGN_GPU_TORCH_CONFIG), builds `recalign` (-k 0: every compile error at once), then runs the
# checks, most important first, each under `timeout`, logging everything and each step's time to
# $OUT/gpu-check.log and rewriting $OUT/gpu-check.json (every step's verdict and seconds, and the
# figures of `bench scale`) after each step, so that a run cut short still reports. A failing
# step is logged and the script goes on; it exits 1 when any failed.
# A second run on the same machine reuses the prefix and the build folder (incremental).
#
# Environment (defaults in brackets):
#   OUT                        output folder [build-gpu/out]
#   RECALIGN_GPU_DEVICE        device the checks use [cuda]; cpu rehearses on a machine without GPU
#   RECALIGN_GPU_TORCH         python: torch of $RECALIGN_PYTHON | system: Debian's libtorch [python]
#   RECALIGN_PYTHON            [/opt/torch/.venv/bin/python3, else python3]
#   RECALIGN_GPU_TORCH_CONFIG  shim-first: build through scripts/device/torch-shim, then only probe
#                              torch's own CMake package | auto: torch's package, else the shim |
#                              official | shim [shim-first]
#   RECALIGN_GPU_CXX_STANDARD  17 | 20 [20 when the torch headers demand it, else 17]
#   RECALIGN_GPU_BUILD         build folder [build-gpu]
#   RECALIGN_GPU_BUDGET        seconds for everything; steps past it are skipped [480]
#   RECALIGN_GPU_BUILD_TIMEOUT seconds for building `recalign` [400]
#   RECALIGN_JOBS              build jobs [nproc]
#   RECALIGN_GPU_NO_PIE        ON: executables -no-pie (for DEEPBIND) | OFF: PIE [ON]
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${RECALIGN_GPU_BUILD:-$root/build-gpu}"
out="${OUT:-$build/out}"

# Everything (stdout and stderr) goes to the terminal and to the log.
if [ -z "${RECALIGN_GPU_CHECK_LOGGING:-}" ]; then
    mkdir -p "$out"
    export RECALIGN_GPU_CHECK_LOGGING=1
    bash "$0" "$@" 2>&1 | tee "$out/gpu-check.log"
    exit "${PIPESTATUS[0]}"
fi

cd "$root"
kit="$root/.devdeps"
device="${RECALIGN_GPU_DEVICE:-cuda}"
torch_mode="${RECALIGN_GPU_TORCH:-python}"
config_mode="${RECALIGN_GPU_TORCH_CONFIG:-shim-first}"
budget="${RECALIGN_GPU_BUDGET:-480}"
jobs="${RECALIGN_JOBS:-$(nproc)}"
python="${RECALIGN_PYTHON:-/opt/torch/.venv/bin/python3}"
[ -x "$python" ] || python="$(command -v python3 || echo python3)"
t_start=$EPOCHREALTIME
# Tools pip installed next to python (cmake, ninja) serve where the system has none.
export PATH="$PATH:$(dirname "$python")"
cmake_bin="$(command -v cmake || echo cmake)"
for c in "$(dirname "$python")/cmake" /usr/local/bin/cmake; do
    # The project needs CMake >= 3.25: prefer another one when the first is older.
    have="$("$cmake_bin" --version 2>/dev/null | awk 'NR == 1 { print $3 }')"
    if [ -x "$c" ] && [ "$(printf '%s\n3.25\n' "${have:-0}" | sort -V | head -1)" != 3.25 ]; then
        cmake_bin="$c"
    fi
done
summary=()
steps_json=()
failed=0

elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
remaining() { awk -v a="$t_start" -v b="$EPOCHREALTIME" -v t="$budget" 'BEGIN { printf "%d", t - (b - a) }'; }

# $OUT/gpu-check.json: the steps so far and the figures files the checks wrote ($out/scale-*.json).
write_json() {
    local f first=1
    {
        printf '{\n  "device": "%s",\n  "torch": "%s",\n  "steps": [' "$device" "${torch_version:-?}"
        local IFS=,
        printf '%s' "${steps_json[*]}"
        printf '],\n  "figures": {'
        for f in "$out"/scale-*.json; do
            [ -s "$f" ] || continue
            [ "$first" = 1 ] || printf ','
            first=0
            printf '\n    "%s": ' "$(basename "$f" .json)"
            cat "$f"
        done
        printf '}\n}\n'
    } > "$out/gpu-check.json.tmp" && mv "$out/gpu-check.json.tmp" "$out/gpu-check.json"
}

# step NAME LIMIT_S COMMAND...: runs COMMAND under timeout (capped by the budget left) and
# records "NAME verdict seconds" for the summary.
step() {
    local name=$1 limit=$2
    shift 2
    local left
    left=$(remaining)
    if [ "$left" -lt 20 ]; then
        echo "### [$name] skipped: the ${budget} s budget is spent"
        summary+=("$(printf '%-26s %-16s' "$name" "SKIPPED")")
        steps_json+=("$(printf '{"name": "%s", "verdict": "SKIPPED"}' "$name")")
        write_json
        failed=1
        return 1
    fi
    [ "$limit" -gt $((left - 10)) ] && limit=$((left - 10))
    echo
    local shown="$*"
    [ "${#shown}" -gt 300 ] && shown="${shown:0:300} ..."
    echo "### [$name] $(date -u +%H:%M:%S) (timeout ${limit} s): $shown"
    local t0=$EPOCHREALTIME rc
    timeout -k 5 "$limit" "$@"
    rc=$?
    local dt verdict=ok
    dt=$(elapsed "$t0")
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        verdict="TIMEOUT"
    elif [ "$rc" -ne 0 ]; then
        verdict="FAILED rc=$rc"
    fi
    echo "### [$name] $verdict in $dt s"
    summary+=("$(printf '%-26s %-16s %8s s' "$name" "$verdict" "$dt")")
    steps_json+=("$(printf '{"name": "%s", "verdict": "%s", "seconds": %s}' "$name" "$verdict" "$dt")")
    write_json
    [ "$rc" -eq 0 ] || failed=1
    return "$rc"
}

finish() {
    echo
    echo "=================== summary (device $device, torch $torch_mode, config ${route:-none}) ==================="
    local line
    for line in "${summary[@]}"; do
        echo "  $line"
    done
    echo "  total $(elapsed "$t_start") s; $([ "$failed" -eq 0 ] && echo "ALL OK" || echo "SOME STEPS FAILED")"
    rm -f "$root/tests/fixtures/pipeline/mini.gpu-check.yaml"
    exit "$failed"
}

# ---- 1. the machine ---------------------------------------------------------------------------
echo "gpu-check: $(date -u) in $root, output $out, device $device, budget $budget s, $jobs jobs"
step machine 60 bash -c '
    uname -a; head -2 /etc/os-release 2>/dev/null; ldd --version 2>&1 | head -1
    echo "cores: $(nproc)"; free -g 2>/dev/null | head -2; df -h . | tail -1
    command -v nvidia-smi >/dev/null && nvidia-smi || echo "nvidia-smi: not found"
    g++ --version | head -1; cmake --version | head -1; echo "cmake used: '"$cmake_bin"'"
    echo "ninja: $(ninja --version 2>/dev/null || echo not found)"
    echo "pkg-config: $(command -v pkg-config || echo not found); dpkg: $(command -v dpkg || echo not found)"
    echo "nvcc: $(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || echo not found)"
    echo "libstdc++: $(strings "$(g++ -print-file-name=libstdc++.so.6)" 2>/dev/null | grep -E "^GLIBCXX_3\.4\.[0-9]+$" | sort -V | tail -1)"
    git -C "'"$root"'" log -1 --oneline 2>/dev/null || true'

# ---- 2. torch -------------------------------------------------------------------------------
route=""
if [ "$torch_mode" = system ]; then
    torch_lib=/usr/lib/x86_64-linux-gnu
    torch_include=/usr/include
    torch_cmake=/usr/lib/x86_64-linux-gnu/cmake
    torch_abi=1
    torch_extra_libdirs=""
    step torch-python 30 bash -c "echo 'RECALIGN_GPU_TORCH=system: Debian libtorch in $torch_lib'"
else
    step torch-python 120 "$python" -c '
import torch, torch.utils
print("torch", torch.__version__, "| CUDA", torch.version.cuda, "| available", torch.cuda.is_available(),
      "| devices", torch.cuda.device_count(), "| cxx11 abi", torch._C._GLIBCXX_USE_CXX11_ABI)
if torch.cuda.is_available():
    print("device 0:", torch.cuda.get_device_name(0), torch.cuda.get_device_capability(0))
print("cmake_prefix_path", torch.utils.cmake_prefix_path)'
    # One line: torch folder, cmake prefix, abi.
    read -r torch_dir torch_cmake torch_abi < <("$python" -c '
import os, torch, torch.utils
print(os.path.dirname(torch.__file__), torch.utils.cmake_prefix_path, int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null)
    if [ -z "${torch_dir:-}" ]; then
        echo "gpu-check: cannot import torch with $python"
        failed=1
        finish
    fi
    torch_lib="$torch_dir/lib"
    torch_include="$torch_dir/include"
    # pip's CUDA libraries (nvidia-*): for the linker's -rpath-link and for LD_LIBRARY_PATH.
    site="$(dirname "$torch_dir")"
    torch_extra_libdirs="$(find "$site/nvidia" -maxdepth 3 -type d -name lib 2>/dev/null | sort | tr '\n' ':')"
    torch_extra_libdirs="${torch_extra_libdirs%:}"
fi
# torch 2.11 keeps the version in torch/headeronly/version.h, earlier ones in the C++ API's version.h.
torch_version="$(cat "$torch_include/torch/headeronly/version.h" "$torch_include/torch/csrc/api/include/torch/version.h" 2>/dev/null \
    | awk '/define TORCH_VERSION_(MAJOR|MINOR|PATCH) / && !seen[$2]++ { v = v (v == "" ? "" : ".") $3 } END { print v }')"
echo "torch headers: $torch_include (TORCH_VERSION ${torch_version:-?}), libraries: $torch_lib, abi $torch_abi"

cxx_std="${RECALIGN_GPU_CXX_STANDARD:-}"
if [ -z "$cxx_std" ]; then
    cxx_std=17
    for f in c10/util/C++17.h c10/macros/Macros.h ATen/ATen.h torch/csrc/api/include/torch/all.h; do
        if grep -qs "C++20 or later" "$torch_include/$f"; then
            cxx_std=20
        fi
    done
fi
echo "C++ standard: $cxx_std"

# ---- 3. dependencies, built from source here -----------------------------------------------------
# The sources fetch-deps.sh packed (Debian 12's source packages) built with this machine's compiler
# and torch's C++ ABI into a private prefix; sentencepiece as static archives hidden inside the
# tokenizer module (no RTLD_DEEPBIND). A second run on the same machine rebuilds nothing.
prefix="$build/deps"
if ! ls "$kit"/src/*.tar.xz >/dev/null 2>&1; then
    echo "gpu-check: $kit/src is empty: run scripts/device/fetch-deps.sh and carry .devdeps"
    failed=1
    finish
fi
step deps 240 env CMAKE="$cmake_bin" bash "$root/scripts/device/build-deps.sh" "$prefix" "$torch_abi" "$jobs" || finish

# ---- 4. configure and build `recalign` ---------------------------------------------------------
generator=(-G "Unix Makefiles")
keep_going=(-k)
if command -v ninja >/dev/null; then
    generator=(-G Ninja)
    keep_going=(-k 0)  # every compile error in one go
fi
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
    export PATH="/usr/local/cuda/bin:$PATH"
fi
# --allow-shlib-undefined / -rpath-link: torch's own dependencies (pip's CUDA libraries) are
# resolved at run time through torch's RUNPATH, not by our link.
link_flags="-Wl,--allow-shlib-undefined"
for d in ${torch_extra_libdirs//:/ }; do
    link_flags="$link_flags -Wl,-rpath-link,$d"
done
# CUDA and NCCL headers (core/dist's NCCL group includes c10/cuda and nccl.h): pip's nvidia
# packages' include folders, else the toolkit's.
cuda_includes="$(find "${site:-/nonexistent}/nvidia" -maxdepth 3 -type d -name include 2>/dev/null | sort | tr '\n' ';')"
[ -d /usr/local/cuda/include ] && cuda_includes="${cuda_includes}/usr/local/cuda/include"
cuda_includes="${cuda_includes%;}"
echo "CUDA include folders: ${cuda_includes:-none}"
common=("${generator[@]}" -S "$root" -DCMAKE_BUILD_TYPE=Release -DCMAKE_POLICY_VERSION_MINIMUM=3.5 -DRECALIGN_GUI=OFF -DRECALIGN_BUILD_TESTS=OFF
        -DRECALIGN_SENTENCEPIECE_STATIC=ON -DRECALIGN_GLOO=OFF -DRECALIGN_MIMALLOC=OFF
        -DCMAKE_DISABLE_FIND_PACKAGE_Qt6=TRUE -DCMAKE_CXX_STANDARD="$cxx_std" -DCMAKE_EXE_LINKER_FLAGS="$link_flags" -DRECALIGN_NO_PIE="${RECALIGN_GPU_NO_PIE:-ON}")
configure_official() {  # NAME DIR LIMIT: torch's own CMake package (torch.utils.cmake_prefix_path)
    local name=$1 dir=$2 limit=$3 hdr
    # It looks for cuDNN: point it at pip's nvidia-cudnn when the toolkit has none.
    hdr="$(find "${site:-/nonexistent}/nvidia" -maxdepth 3 -name cudnn.h 2>/dev/null | head -1)"
    if [ -n "$hdr" ]; then
        export CUDNN_INCLUDE_DIR="$(dirname "$hdr")"
        export CUDNN_LIBRARY="$(ls "$(dirname "$(dirname "$hdr")")"/lib/libcudnn.so* 2>/dev/null | head -1)"
        echo "cuDNN hints: $CUDNN_INCLUDE_DIR $CUDNN_LIBRARY"
    fi
    # Its whole output goes to $OUT/configure-official.log; the log shows the end.
    step "$name" "$limit" bash -c 'log=$1; shift; "$@" > "$log" 2>&1; rc=$?; tail -40 "$log"; exit $rc' _ \
        "$out/configure-official.log" "$cmake_bin" "${common[@]}" -B "$dir" -DCMAKE_PREFIX_PATH="$torch_cmake;$prefix"
}
configure_shim() {  # scripts/device/torch-shim: torch's libraries and headers, nothing else
    step configure-shim 120 "$cmake_bin" "${common[@]}" -B "$build/shim" \
        -DTorch_DIR="$root/scripts/device/torch-shim" -DCMAKE_PREFIX_PATH="$prefix" \
        -DRECALIGN_TORCH_LIBDIR="$torch_lib" \
        -DRECALIGN_TORCH_INCLUDE_DIRS="$torch_include;$torch_include/torch/csrc/api/include" \
        -DRECALIGN_TORCH_CXX11_ABI="$torch_abi" -DRECALIGN_TORCH_LINK_DIRS="${torch_extra_libdirs//:/;}" \
        -DRECALIGN_TORCH_CUDA_INCLUDE_DIRS="$cuda_includes"
}
build_recalign() {
    step "build-$route" "${RECALIGN_GPU_BUILD_TIMEOUT:-400}" bash -c "'$cmake_bin' --build '$bdir' --target recalign -j $jobs -- ${keep_going[*]} 2>&1 \
        | tee '$out/build-$route.log'; exit \${PIPESTATUS[0]}"
}
# The shim by default: it needs nothing of the CUDA toolkit, so a first try cannot fail on
# toolkit discovery; torch's own package is probed at the end (configure only).
case "$config_mode" in
    official) configure_official configure-official "$build/official" 180 && route=official && bdir="$build/official" ;;
    auto) if configure_official configure-official "$build/official" 120; then route=official; bdir="$build/official"
          elif configure_shim; then route=shim; bdir="$build/shim"; fi ;;
    *) configure_shim && route=shim && bdir="$build/shim" ;;
esac
[ -n "${bdir:-}" ] || finish
build_recalign || finish
bin="$bdir/bin/recalign"
# The executables carry RUNPATHs to the prefix and torch; this also covers their dependencies'
# dependencies (the dlopen'd tokenizer module's, pip's CUDA libraries).
libdirs="$prefix/lib"
export LD_LIBRARY_PATH="$libdirs:$torch_lib${torch_extra_libdirs:+:$torch_extra_libdirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
step link-check 30 bash -c "
    for f in '$bin' '$bdir/bin/librecalign_tokenizer.so'; do
        echo \"== \$f\"; readelf -d \"\$f\" | grep -E 'RUNPATH|RPATH' || true
        ldd \"\$f\" | grep -E 'not found|torch|c10|sqlite|yaml|libz|sentencepiece|protobuf|cudart'
    done
    ! ldd '$bin' '$bdir/bin/librecalign_tokenizer.so' | grep -q 'not found'"

# ---- 5. the checks, most important first -------------------------------------------------------
export RECALIGN_SHARED_DIR="$kit/shared"
stories="$kit/shared/models/stories260K"
ml="$kit/shared/data/ml-latest-small"
step info 60 bash -c "'$bin' info; [ '$device' = cpu ] || '$bin' info | grep -qE 'CUDA: +available'"
golden() {
    local n=$1
    step "generate-$device-$n" 90 bash -c "'$bin' generate --model '$stories/stories260K.bin' \
        --tokenizer '$stories/tok512.model' --temperature 0 --max-new-tokens $n --device $device \
        > '$out/generate-$device-$n.txt' && cmp '$out/generate-$device-$n.txt' '$stories/reference-greedy-$n.txt' \
        && echo 'MATCH: reference-greedy-$n.txt reproduced byte for byte on $device'"
}
golden 256
golden 512
step "bench-llm-$device" 120 "$bin" bench llm --device "$device" --repeats 3 --train-steps 3
step "bench-train-$device" 150 "$bin" bench train --device "$device"
# The pipeline fixture with `device: <device>`, next to the original so relative paths still hold.
yaml="$root/tests/fixtures/pipeline/mini.gpu-check.yaml"
sed "s/^device: .*/device: $device/" "$root/tests/fixtures/pipeline/mini.yaml" > "$yaml"
rm -rf "$build/ws-mini-$device"
step "run-mini-$device" 180 "$bin" run "$yaml" --workspace "$build/ws-mini-$device"
# The quickstart end to end on the device (its file says cpu), in a fresh workspace.
rm -rf "$build/ws-quickstart-$device"
step "quickstart-$device" 240 "$bin" run "$root/experiments/quickstart.yaml" --device "$device" \
    --workspace "$build/ws-quickstart-$device"
# Paper-scale geometries in bf16, random weights written here (not carried): SFT at 8 x 512 with and
# without checkpointing (MFU against the GPU's dense peak), generation at batch 1 / 32 / 128
# (batch 1 against the bandwidth bound), one PPO iteration of 8 prompts x 4 samples x 160 tokens.
scale() {  # NAME SHAPE LIMIT
    step "scale-$1" "$3" "$bin" bench scale --shape "$2" --dtype bfloat16 --device "$device" \
        --dir "$build/random-$2" --tokens 512 --batch 8 --new-tokens 160 --gen-batches 1,32,128 \
        --ppo-prompts 8 --ppo-samples 4 --ppo-micro-batch 4 --json "$out/scale-$1.json"
}
if [ "$device" = cpu ]; then
    echo "### [scale-*] skipped on the CPU (paper-scale geometries are for the GPU)"
else
    scale tinyllama tinyllama-1.1b 150
    scale llama2-7b llama-2-7b 300
    rm -rf "$build/random-tinyllama-1.1b" "$build/random-llama-2-7b"
fi
step "bench-sasrec-$device" 120 "$bin" bench sasrec --device "$device" --data "$ml" --epochs 20 --eval-every 10
step "generate-$device-bf16" 60 "$bin" generate --model "$stories/stories260K.bin" --tokenizer "$stories/tok512.model" \
    --temperature 0 --max-new-tokens 64 --device "$device" --dtype bfloat16
# The same machine's CPU, one thread, for comparison.
step bench-llm-cpu-1thread 90 env RECALIGN_THREADS=1 "$bin" bench llm --device cpu --repeats 3 --no-train
step bench-sasrec-cpu-1thread 90 "$bin" bench sasrec --device cpu --threads 1 --data "$ml" --epochs 10 --eval-every 10
if [ "$route" = shim ] && [ "$config_mode" != shim ]; then
    # For the record (does not count as a failure): would torch's own CMake package configure here?
    failed_before=$failed
    configure_official probe-official-config "$build/official" 90
    failed=$failed_before
fi
finish
