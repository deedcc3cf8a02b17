#!/usr/bin/env bash
# How fast `auditlens watch` judges a log, against `auditlens analyze` on one thread over the
# same file in the same run: events per second for each and the ratio.
#
#   bash scripts/bench-watch.sh            # a 1 GB simulated log (about a day of a 40-node
#                                          # cluster), 3 runs each
#   bash scripts/bench-watch.sh 300MB 5
#
# `watch` reads the log on stdin (it stops at its end) and judges each request as it comes,
# on one core: the reading thread and the judging thread are separate, but only one judges.
set -euo pipefail
LOG_PREFIX=bench-watch
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AUDITLENS_ROOT"

size="${1:-1GB}"
runs="${2:-3}"
command -v hyperfine >/dev/null || die "hyperfine is missing: run scripts/setup.sh"
cargo build --release --locked -q -p auditlens-cli
bin="$AUDITLENS_ROOT/target/release/auditlens"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

log "generating a $size log"
"$bin" simulate --preset bench --seed 7 --size "$size" -o "$work/bench.log"
events=$(wc -l <"$work/bench.log")
log "$events events; timing analyze (one thread) and watch, $runs runs each"
hyperfine --runs "$runs" --warmup 1 --style basic --export-json "$work/times.json" \
  -n analyze "$bin analyze --threads 1 --format jsonl $work/bench.log" \
  -n watch "$bin watch - --min-severity info <$work/bench.log" >&2
python3 - "$work/times.json" "$events" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
events = int(sys.argv[2])
for name in ("analyze", "watch"):
    r = results[name]
    print(f"{name:8} {r['mean']:7.2f} s ± {r['stddev']:.2f}   {events / r['mean']:>12,.0f} events/s")
ratio = results["watch"]["mean"] / results["analyze"]["mean"]
print(f"watch takes {ratio:.2f} times as long as analyze on one thread (same file, same run)")
PY
