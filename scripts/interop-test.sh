#!/usr/bin/env bash
# The interop tests (CTest `interop_hf`): a project-local virtual environment over Debian's
# python3-torch (installed by scripts/bootstrap.sh) with transformers, peft and their
# dependencies at the versions in tests/interop/requirements.txt (RecLM-gen pins transformers
# 4.36.2 and peft 0.5.0), created on first use in the build folder; then test_interop.py.
#   scripts/interop-test.sh RECALIGN_EXECUTABLE [BUILD_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
recalign="$1"
build="${2:-$root/build}"
venv="$build/interop-venv"
reqs="$root/tests/interop/requirements.txt"
# Debian's python (pyenv or another python first on PATH would not see python3-torch).
python=/usr/bin/python3
if ! "$python" -c "import torch" 2>/dev/null; then
    echo "interop: /usr/bin/python3 has no torch; run scripts/bootstrap.sh (python3-torch)" >&2
    exit 1
fi
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$reqs" "$stamp"; then
    rm -rf "$venv"
    "$python" -m venv --system-site-packages "$venv"
    # peft and accelerate declare torch >= 1.13 / 1.10, which Debian's "1.13.0a0" does not
    # satisfy for pip (a pre-release): they are installed without dependency resolution, after
    # everything else they need.
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$reqs"
    "$venv/bin/pip" install -q --disable-pip-version-check --no-deps peft==0.5.0 accelerate==0.25.0
    cp "$reqs" "$stamp"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$venv/bin/python" "$root/tests/interop/test_interop.py" "$recalign" "$work"
