#!/usr/bin/env bash
# Samples a command's resident memory while it runs: scripts/rss-trace.sh OUT.csv [--every S] -- CMD ARGS...
# Writes "seconds,rss_mib,peak_mib" every S seconds (default 5) from /proc/PID/status and prints a
# summary: peak, RSS at a quarter, half and the end of the run, and the growth over its second half
# (memory that grows without bound shows there). Used for the long-run allocator check (README, "Speed").
set -euo pipefail
if [[ $# -lt 3 ]]; then
    echo "usage: $0 OUT.csv [--every SECONDS] -- COMMAND [ARGS...]" >&2
    exit 2
fi
out=$1; shift
every=5
if [[ $1 == --every ]]; then every=$2; shift 2; fi
[[ $1 == -- ]] && shift
"$@" &
pid=$!
start=$(date +%s.%N)
echo "seconds,rss_mib,peak_mib" > "$out"
while kill -0 "$pid" 2>/dev/null; do
    if status=$(cat "/proc/$pid/status" 2>/dev/null); then
        rss=$(awk '/^VmRSS:/ {print $2}' <<<"$status")
        hwm=$(awk '/^VmHWM:/ {print $2}' <<<"$status")
        now=$(date +%s.%N)
        [[ -n $rss ]] && awk -v t="$now" -v s="$start" -v r="$rss" -v h="$hwm" \
            'BEGIN { printf "%.1f,%.1f,%.1f\n", t - s, r / 1024, h / 1024 }' >> "$out"
    fi
    sleep "$every"
done
rc=0
wait "$pid" || rc=$?
awk -F, 'NR > 1 { t[n] = $1; r[n] = $2; if ($3 > peak) peak = $3; n++ }
    END {
        if (n == 0) { print "rss-trace: no samples"; exit }
        q = int(n / 4); h = int(n / 2);
        printf "rss-trace: %d samples over %.0f s; peak %.0f MiB; RSS at 25%% %.0f, 50%% %.0f, end %.0f MiB; ",
               n, t[n - 1], peak, r[q], r[h], r[n - 1];
        max2 = 0; for (i = h; i < n; i++) if (r[i] > max2) max2 = r[i];
        printf "second half: %.0f -> %.0f MiB (max %.0f)\n", r[h], r[n - 1], max2 }' "$out"
exit "$rc"
