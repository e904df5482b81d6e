#!/usr/bin/env bash
# Installs RecAlign Studio's build and run dependencies from Debian 12's apt (idempotent:
# installs only what is missing; runs `apt-get update` at most once; root or sudo).
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config git ccache
    qt6-base-dev qt6-svg-dev libqcustomplot-dev qt6-tools-dev qt6-l10n-tools qt6-tools-dev-tools
    libtorch-dev libgloo-dev libsentencepiece-dev libsqlite3-dev libyaml-cpp-dev nlohmann-json3-dev zlib1g-dev
    xvfb xauth
    # Without OpenBLAS Debian's libtorch multiplies matrices on the reference BLAS
    # (measured: 6 GFLOP/s vs 186 GFLOP/s for a 1024^2 fp32 matmul).
    libopenblas0-pthread
    # mimalloc as the executables' malloc: glibc's returned and re-faulted training's large blocks
    # every step (the mini pipeline: 0.93 M page faults and sys 1.4 s with glibc, 0.03 M and 0.1 s).
    libmimalloc-dev
    # The interop tests (scripts/interop-test.sh): Debian's torch 1.13 under transformers and peft.
    python3-torch python3-venv
)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "bootstrap: all ${#PACKAGES[@]} packages present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "bootstrap: missing packages (${missing[*]}) and not root; no sudo available" >&2
        exit 1
    fi
fi

echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "bootstrap: done"
