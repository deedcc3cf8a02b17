#!/usr/bin/env bash
# Times `auditlens analyze` of one generated log by this checkout and by another git revision
# (built in a worktree under bench-data/), in alternating runs, since a shared machine's speed
# drifts from minute to minute. Prints each build's median and fastest wall time, and the ratio
# of the medians.
#
#   bash scripts/ab.sh c7fae48            # this checkout against c7fae48, on the 1 GB log
#   bash scripts/ab.sh c7fae48 200MB      # on a smaller log
#   AUDITLENS_AB_RUNS=8 bash scripts/ab.sh c7fae48
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

other="${1:?usage: bash scripts/ab.sh REV [SIZE]}"
size="${2:-1GB}"
runs="${AUDITLENS_AB_RUNS:-6}"

apt_install_missing time
cargo build --release --locked -q -p auditlens-cli
here="$AUDITLENS_BIN"
there="$(revision_bin "$other")"
file="$(bench_log "$size")"
cat "$file" >/dev/null

log "timing $(basename "$file"), $runs runs each, alternating"
results=()
for ((i = 0; i < runs; i++)); do
  results+=("here $(measure "$here" analyze --quiet --format json "$file")")
  results+=("there $(measure "$there" analyze --quiet --format json "$file")")
done
printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
times = {"here": [], "there": []}
for line in sys.stdin:
    who, seconds, _ = line.split()
    times[who].append(float(seconds))
label = {"here": "this checkout", "there": sys.argv[1]}
for who in ("here", "there"):
    t = times[who]
    print(f"{label[who]:<20} median {statistics.median(t):.2f} s, fastest {min(t):.2f} s ({len(t)} runs)")
ratio = statistics.median(times["here"]) / statistics.median(times["there"])
print(f"this checkout / {sys.argv[1]} (medians): {ratio:.3f}")
' "$other"
