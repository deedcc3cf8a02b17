#!/usr/bin/env bash
# Measures how the Spark job (python -m auditlens.spark) scales from one executor core to two
# on this machine: the same input, learned and scored with --master local[1] and then local[2]
# in one run, wall time of each and their ratio. The input is a simulated log (SIZE, default
# 512MB) cut at line boundaries into PARTS files (default 8) of one cluster folder; the first
# half are learned, the second half scored. READ is the job's --read: spark (binaryFiles, the
# default) or stream (each task opens its file). Prints a Markdown row for docs/scale.md.
#
#   bash scripts/fleet-scaling.sh [SIZE] [PARTS] [READ]
set -euo pipefail
LOG_PREFIX=fleet-scaling
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AUDITLENS_ROOT"

size="${1:-512MB}"
parts="${2:-8}"
read_mode="${3:-spark}"
bash scripts/setup-python.sh
cargo build --release --locked -q -p auditlens-cli
wheels="$(mktemp -d)"
work="$(mktemp -d)"
trap 'rm -rf "$wheels" "$work"' EXIT
"$FLEET_VENV/bin/maturin" build --release --locked --quiet \
  -m crates/auditlens-py/Cargo.toml -o "$wheels" 2>/dev/null
"$FLEET_VENV/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps \
  "$wheels"/auditlens-*.whl

log "cutting $size of simulated log into $parts files"
source_log="$(bench_log "$size")"
mkdir -p "$work/learn/bench" "$work/score/bench"
split -n "l/$parts" -d -a 2 --additional-suffix=.log "$source_log" "$work/part"
half=$((parts / 2))
i=0
for part in "$work"/part*.log; do
  if ((i < half)); then mv "$part" "$work/learn/bench/"; else mv "$part" "$work/score/bench/"; fi
  i=$((i + 1))
done

# The machine may be shared: the load before and after says whether both cores were free.
load_before="$(cut -d' ' -f1 /proc/loadavg)"
declare -A seconds
for master in 'local[1]' 'local[2]'; do
  log "python -m auditlens.spark --master $master"
  start=$(date +%s.%N)
  PYSPARK_PYTHON="$FLEET_VENV/bin/python" "$FLEET_VENV/bin/python" -m auditlens.spark \
    --learn "$work/learn" --score "$work/score" --out "$work/out-${master//[^0-9]/}" \
    --master "$master" --read "$read_mode" 2>"$work/stderr-${master//[^0-9]/}" ||
    { tail -20 "$work/stderr-${master//[^0-9]/}"; die "the job failed on $master"; }
  seconds[$master]=$(python3 -c "import sys; print(f'{$(date +%s.%N) - $start:.1f}')")
  tr '\r' '\n' <"$work/stderr-${master//[^0-9]/}" | grep '^auditlens.spark:' >&2
done
one=${seconds['local[1]']}
two=${seconds['local[2]']}
load_after="$(cut -d' ' -f1 /proc/loadavg)"
printf '| input | files | --read | local[1] | local[2] | speed-up | load before, after |\n'
printf '|---|---|---|---|---|---|---|\n'
printf '| %s simulated (bench preset) | %d learned + %d scored | %s | %s s | %s s | %s | %s, %s |\n' \
  "$size" "$half" "$((parts - half))" "$read_mode" "$one" "$two" \
  "$(python3 -c "print(f'{$one / $two:.2f}')")" "$load_before" "$load_after"
