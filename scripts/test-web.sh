#!/usr/bin/env bash
# Tests of the browser side: the wasm session natively and in headless Chromium (wasm-bindgen
# tests, which hold the wasm build to the native results), then the page end to end with
# Playwright against the built folder and the single file.
#
# Needs scripts/setup.sh to have run. Builds the web bundle first (scripts/build-web.sh) unless
# AUDITLENS_WEB_BUILT=1 says it is current.
#
# Environment:
#   AUDITLENS_WEB_BUILT=1   skip the build of web/dist
#   AUDITLENS_LARGE=1       also analyse a large generated log in the page (AUDITLENS_LARGE_MB,
#                           default 400) and report its time and memory
set -euo pipefail
LOG_PREFIX=test-web
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AUDITLENS_ROOT"

log "native half of the wasm parity check"
cargo test -p auditlens-wasm

if [[ "${AUDITLENS_WEB_BUILT:-}" != 1 ]]; then
  bash scripts/build-web.sh
fi
[[ -f web/dist/index.html && -f web/dist/auditlens.html ]] || die "web/dist is not built"
[[ -d web/node_modules/playwright-core ]] || die "web/node_modules missing; run scripts/setup.sh"

(
  use_wasm_toolchain
  [[ -x "${CHROMEDRIVER:-}" ]] || die "no chromedriver; run scripts/setup.sh"
  log "wasm-bindgen tests in headless Chromium"
  wasm-pack test --headless --chrome crates/auditlens-wasm
)

log "Playwright end to end"
(cd web && npm test)
