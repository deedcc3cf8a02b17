#!/usr/bin/env bash
# Streams a generated log of SIZE through `auditlens analyze -` (or another auditlens command
# that reads stdin) and samples the reader every INTERVAL seconds: bytes read so far (from
# /proc/PID/io), resident memory (VmRSS) and the throughput of the interval. Prints a table and
# a summary that compares the first and the last tenth of the run, both measured in this run.
#
#   bash scripts/soak.sh                      # 10GB through analyze -, a sample every 5 s
#   bash scripts/soak.sh 2GB                  # a smaller run
#   SOAK_INTERVAL=2 bash scripts/soak.sh 1GB -- analyze --format jsonl -
#
# The log is generated while it is read (`auditlens simulate --preset bench --size SIZE`), so
# no disk holds it; the generator takes about a fifth of the reader's time on its own core.
set -euo pipefail
LOG_PREFIX=soak
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AUDITLENS_ROOT"

size="${1:-10GB}"
shift || true
[[ "${1:-}" == "--" ]] && shift
command=("$@")
[[ ${#command[@]} -eq 0 ]] && command=(analyze -)
interval="${SOAK_INTERVAL:-5}"

cargo build --release --locked -q -p auditlens-cli
bin="$AUDITLENS_ROOT/target/release/auditlens"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

log "streaming $size of generated log into: auditlens ${command[*]}"
"$bin" simulate --preset bench --seed 7 --size "$size" \
  | "$bin" "${command[@]}" >"$out/stdout" 2>"$out/stderr" &
reader=$!
start=$(date +%s.%N)
printf '%8s %10s %10s %10s\n' seconds read_MB rss_MB MB/s
prev_bytes=0
prev_t=0
while kill -0 "$reader" 2>/dev/null; do
  sleep "$interval"
  bytes=$(awk '/^rchar:/ {print $2}' "/proc/$reader/io" 2>/dev/null) || break
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$reader/status" 2>/dev/null) || break
  [[ -z "$bytes" || -z "$rss" ]] && break
  now=$(date +%s.%N)
  awk -v t="$now" -v s="$start" -v b="$bytes" -v r="$rss" -v pb="$prev_bytes" -v pt="$prev_t" \
    'BEGIN { e = t - s; printf "%8.1f %10.0f %10.1f %10.1f\n", e, b / 1e6, r / 1024, (b - pb) / 1e6 / (e - pt) }' \
    | tee -a "$out/samples"
  prev_bytes=$bytes
  prev_t=$(awk -v t="$now" -v s="$start" 'BEGIN { print t - s }')
done
wait "$reader" || { log "the reader failed:"; tail -5 "$out/stderr" >&2; exit 1; }
end=$(date +%s.%N)
awk -v t="$end" -v s="$start" '
  { secs[NR] = $1; read[NR] = $2; rss[NR] = $3; rate[NR] = $4; if ($2 > last_read) { reading = NR; last_read = $2 } }
  END {
    # The last reading sample ends part-way through its interval: left out of the rates.
    n = reading - 1; if (n < 10) { print "too few samples for a summary; use a larger SIZE"; exit }
    tenth = int(n / 10); mid = int(n / 2)
    for (i = 1; i <= tenth; i++) first += rate[i]
    for (i = n - tenth + 1; i <= n; i++) last += rate[i]
    first /= tenth; last /= tenth
    peak = 0; for (i = 1; i <= NR; i++) if (rss[i] > peak) peak = rss[i]
    early = (rss[mid] - rss[tenth]) / (read[mid] - read[tenth]) * 1000
    late = (rss[n] - rss[mid]) / (read[n] - read[mid]) * 1000
    printf "\n%d samples over %.0f s, %d of them while reading; %.0f MB read, %.0f MB/s overall\n", NR, t - s, reading, read[reading], read[reading] / (t - s)
    printf "throughput while reading: first tenth of the samples %.0f MB/s, last tenth %.0f MB/s, ratio %.2f\n", first, last, last / first
    printf "resident memory while reading: %.0f MB at %.0f MB read, %.0f at %.0f, %.0f at %.0f; peak %.0f MB (after reading: ordering and scoring)\n", rss[tenth], read[tenth], rss[mid], read[mid], rss[n], read[n], peak
    printf "growth per GB read: %.0f MB in the first half, %.0f MB in the second (ratio %.2f)\n", early, late, late / early
  }' "$out/samples"
log "the reader's last lines:"
tail -3 "$out/stdout" >&2
