#!/usr/bin/env bash
# Updates translations/recalign_*.ts from the tr() strings in widgets/ and app/ (lupdate) and
# lists the entries that still lack a finished translation. The build compiles the .ts files
# with lrelease into the resources (widgets/CMakeLists.txt).
#   scripts/update-translations.sh          update the .ts files in place, report unfinished
#   scripts/update-translations.sh --check  work on temporary copies; exit 1 if any entry is
#                                           unfinished (CTest `translations_complete`)
# LUPDATE=/path/to/lupdate overrides the tool (default: Qt 6's, /usr/lib/qt6/bin/lupdate, then
# lupdate on PATH; Debian's /usr/bin/lupdate is qtchooser and may pick Qt 5).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
lupdate="${LUPDATE:-}"
if [ -z "$lupdate" ]; then
    if [ -x /usr/lib/qt6/bin/lupdate ]; then
        lupdate=/usr/lib/qt6/bin/lupdate
    else
        lupdate="$(command -v lupdate6 || command -v lupdate || true)"
    fi
fi
[ -n "$lupdate" ] || { echo "update-translations: lupdate not found" >&2; exit 1; }
check=0
[ "${1:-}" = "--check" ] && check=1

shopt -s nullglob
files=("$root"/translations/*.ts)
if [ ${#files[@]} -eq 0 ]; then
    echo "update-translations: no translations/*.ts" >&2
    exit 1
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
status=0
for ts in "${files[@]}"; do
    target="$ts"
    if [ $check -eq 1 ]; then
        target="$tmp/$(basename "$ts")"
        cp "$ts" "$target"
    fi
    "$lupdate" -silent -locations none -no-obsolete -I "$root" "$root/widgets" "$root/app" -ts "$target"
    # Unfinished entries: print "context: source" for each.
    unfinished="$(awk '
        /<name>/ { ctx = $0; gsub(/.*<name>|<\/name>.*/, "", ctx) }
        /<source>/ { src = $0; gsub(/.*<source>|<\/source>.*/, "", src) }
        /type="unfinished"/ { print "  " ctx ": " src }' "$target")"
    count=0
    [ -n "$unfinished" ] && count="$(printf '%s\n' "$unfinished" | wc -l)"
    total="$(grep -c '<message' "$target" || true)"
    echo "$(basename "$ts"): $total messages, $count unfinished"
    if [ "$count" -gt 0 ]; then
        printf '%s\n' "$unfinished"
        status=1
    fi
done
if [ $check -eq 1 ]; then
    exit $status
fi
exit 0
