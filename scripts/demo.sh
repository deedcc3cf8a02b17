#!/usr/bin/env bash
# The main job on the built-in demo log: set up what is missing, build everything, run
# `auditlens analyze` on the demo log, build the static site, and serve it read-only on
# 127.0.0.1 (GET and HEAD only), printing the URL. Ctrl-C stops the server.
#
#   bash scripts/demo.sh            # serves on port 8080, or the next free one
#   PORT=9000 bash scripts/demo.sh
#   NO_SERVE=1 bash scripts/demo.sh # everything but the server
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

bash scripts/setup.sh

log "building the auditlens command (release)"
cargo build --release --locked -p auditlens-cli

demo=tests/fixtures/demo/demo-audit.log.gz
log "auditlens analyze $demo"
./target/release/auditlens analyze "$demo"

log "building the static site"
bash scripts/build-web.sh

[[ -n "${NO_SERVE:-}" ]] && exit 0
site=web/dist
port="${PORT:-8080}"
while python3 - "$port" <<'PY' 2>/dev/null; do
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.close()
sys.exit(1)
PY
  port=$((port + 1))
done
log "serving $site read-only"
echo
echo "  auditlens is at http://127.0.0.1:$port/  (the Demo button loads the demo log)"
echo "  single-file build, for offline use: $site/auditlens.html"
echo
# http.server answers GET and HEAD only: nothing can be written through it.
exec python3 -m http.server "$port" --bind 127.0.0.1 --directory "$site"
