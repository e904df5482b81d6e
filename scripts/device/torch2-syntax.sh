#!/usr/bin/env bash
# A quick torch-2 check without a GPU or a 2-hour build: every core and CLI translation unit of a
# configured build folder (its compile_commands.json: our defines, includes and the precompiled
# header's contents) compiled with `g++ -fsyntax-only` against another torch's headers — pip's CUDA
# torch — with its CUDA branches on (the NCCL group, device memory figures) and the toolkit's CUDA
# headers. Catches API changes and missing includes; linking and running need gpu-check.sh.
#
#   scripts/device/torch2-syntax.sh TORCH_INCLUDE [BUILD_DIR] [JOBS]
#     TORCH_INCLUDE  the wheel's torch/include, e.g. from
#                    `python3 -m pip download torch==2.11.0 --no-deps` and `unzip -q torch-*.whl 'torch/include/*'`
#     BUILD_DIR      a configured build folder of this checkout [build]
#     JOBS           parallel compilers [nproc]
#   RECALIGN_SYNTAX_FILTER  only files whose path contains this text (e.g. core/dist)
# Prints one line per failing file with its first errors, then the counts; exits 1 when any failed.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
inc="${1:?usage: torch2-syntax.sh TORCH_INCLUDE [BUILD_DIR] [JOBS]}"
build="${2:-$root/build}"
jobs="${3:-$(nproc)}"
cuda_inc="${CUDA_INCLUDE:-/usr/local/cuda/include}"
[ -f "$inc/torch/csrc/api/include/torch/version.h" ] || { echo "torch2-syntax: no torch headers under $inc"; exit 2; }
[ -f "$build/compile_commands.json" ] || { echo "torch2-syntax: $build/compile_commands.json not found (configure first)"; exit 2; }
std=17
grep -qs "C++20 or later" "$inc/c10/util/C++17.h" "$inc/c10/macros/Macros.h" && std=20
# torch 2.11 keeps the version in torch/headeronly/version.h, earlier ones in the C++ API's version.h.
version="$(cat "$inc/torch/headeronly/version.h" "$inc/torch/csrc/api/include/torch/version.h" 2>/dev/null \
    | awk '/define TORCH_VERSION_(MAJOR|MINOR|PATCH) / && !seen[$2]++ { v = v (v == "" ? "" : ".") $3 } END { print v }')"
echo "torch headers: $inc (torch ${version:-?}), C++$std, CUDA headers $cuda_inc"
log="$(mktemp -d)"
# One command per core / CLI file: Debian's torch include swapped for the wheel's, the PCH's
# compiled form for its header, Gloo off (pip's torch has no gloo headers), CUDA and NCCL on.
python3 - "$build/compile_commands.json" "$root" "$inc" "$cuda_inc" "$std" "${RECALIGN_SYNTAX_FILTER:-}" > "$log/commands" <<'EOF'
import json, shlex, sys
cc, root, inc, cuda, std, only = sys.argv[1:]
for c in json.load(open(cc)):
    f = c["file"]
    if not (f.startswith(root + "/core/") or f.startswith(root + "/app/cli/")) or only not in f:
        continue
    args = c.get("arguments") or shlex.split(c["command"])
    out, skip = [], False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a in ("-o", "-c"):
            skip = True
            continue
        if a.startswith("-std=") or a in ("-Winvalid-pch", "-DUSE_C10D_GLOO", "-DRECALIGN_HAVE_GLOO", "-DRECALIGN_HAVE_MIMALLOC"):
            continue
        if a.endswith("cmake_pch.hxx"):
            a = root + "/core/pch/core_pch.h"
        if a.startswith("/usr/include/torch"):
            a = inc + "/torch/csrc/api/include"
        out.append(a)
    out += ["-std=c++" + std, "-fsyntax-only", "-isystem", inc, "-isystem", cuda, "-DUSE_C10D_NCCL",
            "-DRECALIGN_HAVE_NCCL", "-DRECALIGN_HAVE_CUDA", f]
    print(c["directory"] + "\t" + f + "\t" + shlex.join(["g++"] + out))
EOF
total=$(wc -l < "$log/commands")
start=$(date +%s)
export log
# shellcheck disable=SC2016
cut -f1-3 "$log/commands" | tr '\t' '\037' | xargs -d '\n' -P "$jobs" -I{} bash -c '
    IFS=$'"'"'\037'"'"' read -r dir file cmd <<< "$1"
    name=$(echo "$file" | tr / _)
    if (cd "$dir" && eval "$cmd") > "$log/$name.err" 2>&1; then echo ok >> "$log/ok"
    else echo "FAIL $file"; grep -m3 "error" "$log/$name.err"; echo bad >> "$log/bad"; fi' _ {}
ok=$(cat "$log/ok" 2>/dev/null | wc -l)
bad=$(cat "$log/bad" 2>/dev/null | wc -l)
echo "torch2-syntax: $ok of $total translation units compile against $inc, $bad fail ($(( $(date +%s) - start )) s; logs in $log)"
[ "$bad" -eq 0 ]
