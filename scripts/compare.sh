#!/usr/bin/env bash
# Times `auditlens analyze` against what a person would use instead, on the same generated log,
# on this machine, in one run: jq counting events by username, and DuckDB's GROUP BY over the
# file with read_json (its Python package, in a virtualenv this script creates). Prints each
# tool's time, throughput, peak memory, and the ratios to auditlens. auditlens and DuckDB run
# three times each (AUDITLENS_COMPARE_RUNS), alternating, and their median time counts.
#
#   bash scripts/compare.sh          # a log of about 1 GB
#   bash scripts/compare.sh 200MB    # a smaller one
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

size="${1:-1GB}"
venv="$BENCH_DIR/venv"
mkdir -p "$BENCH_DIR"

apt_install_missing jq time
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
  log "creating $venv with duckdb"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q duckdb
fi

cargo build --release --locked -q -p auditlens-cli
bin="$AUDITLENS_BIN"
log="$(bench_log "$size")"
bytes=$(stat -c %s "$log")

duck_query="SELECT user.username, count(*) FROM read_json('$log', format='newline_delimited', columns={'user': 'STRUCT(username VARCHAR)'}) GROUP BY 1"

log "timing on $(basename "$log") ($bytes bytes); first a warm-up read"
cat "$log" >/dev/null
# auditlens and DuckDB take a few seconds each and a shared machine's speed drifts: each runs
# $runs times, alternating, and the median time (and largest peak) is kept. jq runs once.
runs="${AUDITLENS_COMPARE_RUNS:-3}"
a_runs=()
d_runs=()
for ((i = 0; i < runs; i++)); do
  a_runs+=("$(measure "$bin" analyze --quiet --format json "$log")")
  d_runs+=("$(measure "$venv/bin/python" -c "import duckdb,sys; duckdb.sql(sys.argv[1]).fetchall()" "$duck_query")")
done
# Prints "median_seconds largest_peak_kb" of "seconds peak_kb" lines.
summarize() {
  printf '%s\n' "$@" | python3 -c '
import statistics, sys
runs = [line.split() for line in sys.stdin if line.strip()]
print(statistics.median(float(s) for s, _ in runs), max(int(kb) for _, kb in runs))'
}
log "auditlens runs (s, KB): ${a_runs[*]}"
log "DuckDB runs (s, KB): ${d_runs[*]}"
read -r a_s a_kb < <(summarize "${a_runs[@]}")
read -r d_s d_kb < <(summarize "${d_runs[@]}")
read -r j_s j_kb < <(measure jq -n 'reduce inputs as $e ({}; .[$e.user.username] += 1)' "$log")

python3 - "$bytes" "$a_s" "$a_kb" "$d_s" "$d_kb" "$j_s" "$j_kb" <<'PY'
import sys
size = int(sys.argv[1])
rows = [("auditlens analyze (parse, rules, baselines, scoring)", *sys.argv[2:4]),
        ("duckdb read_json GROUP BY user.username", *sys.argv[4:6]),
        ("jq count by user.username", *sys.argv[6:8])]
base = float(rows[0][1])
print(f"\n{'tool':<54} {'seconds':>8} {'MB/s':>8} {'peak MB':>8} {'peak/input':>10} {'auditlens speedup':>17}")
for name, seconds, kb in rows:
    s, mb = float(seconds), int(kb) / 1024
    print(f"{name:<54} {s:>8.2f} {size / 1e6 / s:>8.1f} {mb:>8.0f} {mb * 1048576 / size:>10.2f} {s / base:>16.2f}x")
PY
