#!/usr/bin/env bash
# Runs the cargo-fuzz (libFuzzer) targets in fuzz/, each for a while, from seed corpora made of
# the repository's fixtures. A crash stops the run and leaves its input in
# fuzz/artifacts/TARGET/; turn it into a regression test.
#
# Usage: bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#   default: 60 seconds for each of: read gzip events rules_config baseline audit_policy rbac
# The targets build with the stable toolchain and RUSTC_BOOTSTRAP=1, which lets it take the
# flags cargo-fuzz passes (sanitizers, coverage) as a nightly toolchain would: the machine's one
# toolchain is enough. FUZZ_TOOLCHAIN=nightly uses a nightly toolchain instead.
set -euo pipefail
LOG_PREFIX=fuzz
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AUDITLENS_ROOT"

SECONDS_PER_TARGET="${1:-60}"
shift || true
TARGETS=("$@")
if [[ ${#TARGETS[@]} -eq 0 ]]; then
  TARGETS=(read gzip events rules_config baseline audit_policy rbac)
fi

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  log "installing cargo-fuzz"
  cargo install --locked cargo-fuzz
fi
if [[ "${FUZZ_TOOLCHAIN:-}" == nightly ]]; then
  FUZZ=(cargo +nightly fuzz)
else
  FUZZ=(env RUSTC_BOOTSTRAP=1 cargo +stable fuzz)
fi

# Seeds: the fixtures each target reads, copied so that libFuzzer's additions stay out of the
# repository.
seed() {
  local target="$1" dir="target/fuzz-corpus/$1"
  mkdir -p "$dir"
  case "$target" in
    read)
      find tests/fixtures/ingest tests/fixtures/formats tests/fixtures/trimmed \
        crates/auditlens-core/tests/fixtures/rules -type f -size -64k \
        \( -name '*.json' -o -name '*.jsonl' -o -name '*.ndjson' -o -name '*.log' -o -name '*.csv' \) ;;
    gzip) find tests/fixtures -type f -name '*.gz' -size -64k ;;
    events) printf '\0\1\2\3\4\5\6\7\10' >"$dir/seed" ;;
    rules_config) find crates/auditlens-core/tests/fixtures/rules -name config.toml ;;
    baseline) find tests/fixtures crates/*/tests -type f -name '*baseline*.json' -size -256k ;;
    audit_policy) find tests/fixtures/policy -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) ;;
    rbac) find tests/fixtures/rbac -type f \( -name '*.yaml' -o -name '*.json' \) -size -256k ;;
  esac | while read -r file; do cp "$file" "$dir/$(echo "$file" | tr '/' '_')"; done
  echo "$dir"
}

log "building ${#TARGETS[@]} targets"
(cd fuzz && "${FUZZ[@]}" build -O)
for target in "${TARGETS[@]}"; do
  corpus="$(seed "$target")"
  log "$target: ${SECONDS_PER_TARGET} s from $(find "$corpus" -type f | wc -l) seeds"
  started=$SECONDS
  out="target/fuzz-$target.log"
  status=0
  (cd fuzz && "${FUZZ[@]}" run -O "$target" "../$corpus" -- \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=4096 -max_len=262144 \
    -print_final_stats=1) >"$out" 2>&1 || status=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|SUMMARY|panicked' "$out" >&2 || true
  [[ $status -eq 0 ]] || die "$target failed after $((SECONDS - started)) s: $out, fuzz/artifacts/$target/"
  log "$target: ran clean for $((SECONDS - started)) s"
done
