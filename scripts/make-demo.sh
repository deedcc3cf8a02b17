#!/usr/bin/env bash
# Regenerates the built-in demo log and its scenario labels from the simulator. The test suite
# checks that the committed files are exactly what the simulator makes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=tests/fixtures/demo
mkdir -p "$out"
cargo run --locked --quiet --release -p auditlens-cli -- simulate --preset demo \
  --labels "$out/demo-labels.jsonl" | gzip -9n > "$out/demo-audit.log.gz"
ls -l "$out"
