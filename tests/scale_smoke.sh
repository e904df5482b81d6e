#!/usr/bin/env bash
# CTest `scale_smoke` (label slow): experiments/scale-smoke.yaml end to end on a generated
# TinyLlama-1.1B-geometry model in bf16 (random weights), in a temporary folder; then the run
# must be in the store as finished with its evaluation rows.
#   tests/scale_smoke.sh RECALIGN_EXECUTABLE SOURCE_DIR
set -euo pipefail
recalign="$1"
src="$2"
tok="$src/../shared/models/stories260K/tok512.model"
[ -f "$tok" ] || { echo "scale_smoke: no tokenizer at $tok (../shared beside the checkout)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$src/experiments/scale-smoke.yaml" "$work/"
"$recalign" random-model --shape tinyllama-1.1b --dtype bfloat16 --tokenizer "$tok" --out "$work/scale-smoke-model" \
    | tail -1
"$recalign" run "$work/scale-smoke.yaml" --workspace "$work/ws" | tail -3
"$recalign" runs --workspace "$work/ws" | tee "$work/runs.txt"
grep -q "finished" "$work/runs.txt"
"$recalign" export 1 --workspace "$work/ws" --format markdown --table i0 | tee "$work/i0.md"
grep -q "Ours_full" "$work/i0.md"
