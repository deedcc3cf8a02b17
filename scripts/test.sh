#!/usr/bin/env bash
# Every test: set up what is missing, then formatting and lints (native and wasm32), the Rust
# test suites, the Python package and its Spark job against the CLI, each fuzz target briefly,
# the demo log's freshness, and the browser tests (wasm-bindgen tests in headless Chromium, then
# Playwright against the served site and the single file over file://).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

bash scripts/setup.sh

log "cargo fmt --check"
cargo fmt --all --check

log "clippy (native)"
cargo clippy --locked --workspace --all-targets -- -D warnings

log "clippy (wasm32)"
with_wasm_toolchain cargo clippy --locked -p auditlens-wasm -p auditlens-core \
  --target wasm32-unknown-unknown -- -D warnings

log "Rust tests"
cargo test --locked --workspace --exclude auditlens-wasm

log "Python package and Spark job (pytest against the CLI)"
bash scripts/test-python.sh

log "fuzz targets, briefly (longer runs: scripts/fuzz.sh SECONDS)"
bash scripts/fuzz.sh 8

log "OCSF and ECS outputs against the schemas"
bash scripts/validate-outputs.sh

log "the demo log is what the simulator makes"
cargo run --locked --quiet --release -p auditlens-cli -- simulate --preset demo \
  | cmp - <(gzip -dc tests/fixtures/demo/demo-audit.log.gz) \
  || die "tests/fixtures/demo/demo-audit.log.gz is stale: run scripts/make-demo.sh"

log "browser tests"
bash scripts/test-web.sh

log "all tests passed"
