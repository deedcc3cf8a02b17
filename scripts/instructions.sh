#!/usr/bin/env bash
# Counts the instructions of a one-thread `auditlens analyze` on a fixed sample (callgrind), for
# this checkout and, if given, another git revision built beside it. Instruction counts do not
# drift with a shared machine's load as times do, so they compare two builds exactly; they do
# not see cache misses, which times do.
#
#   bash scripts/instructions.sh            # this checkout
#   bash scripts/instructions.sh eebe0f4    # this checkout against eebe0f4, with the ratio
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

other="${1:-}"

apt_install_missing valgrind

cargo build --release --locked -q -p auditlens-cli
bin="$AUDITLENS_BIN"
sample="$(bench_log 30MB sample)"

# Prints the instructions callgrind counted for one analysis of the sample by binary $1.
count() {
  local out
  out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$1" analyze --quiet --format json --threads 1 "$sample" >/dev/null 2>"$out.log"
  grep -o 'Collected : [0-9]*' "$out.log" | grep -o '[0-9]*$'
  rm -f "$out" "$out.log"
}

here=$(count "$bin")
printf '%-20s %15s instructions\n' "this checkout" "$here"
if [[ -n "$other" ]]; then
  there=$(count "$(revision_bin "$other")")
  printf '%-20s %15s instructions\n' "$other" "$there"
  python3 -c "import sys; print(f'this checkout / {sys.argv[3]}: {int(sys.argv[1]) / int(sys.argv[2]):.3f}')" \
    "$here" "$there" "$other"
fi
