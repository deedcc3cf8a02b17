#!/usr/bin/env bash
# Checks `analyze --format ocsf` and `--format ecs` (and `watch`'s, on the same inputs read
# from stdin) against the schemas themselves: the OCSF
# records against the OCSF project's released schema (tests/schemas/validate_ocsf.py, with the
# ocsf-json-schema and jsonschema packages from PyPI in a virtualenv this script makes), the ECS
# documents against Elastic's ECS field definitions (tests/schemas/validate_ecs.mjs, with the
# @elastic/ecs package from npm). The inputs: the demo log, Falco's rule test events (many
# rules), the AKS records, a real API server's v1beta1 log and the trimmed events.
#
#   bash scripts/validate-outputs.sh
set -euo pipefail
LOG_PREFIX=validate-outputs
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AUDITLENS_ROOT"

venv="$TOOLS_DIR/schema-venv"
if ! "$venv/bin/python" -c 'import jsonschema, ocsf_json_schema' 2>/dev/null; then
  log "creating $venv with tests/schemas/requirements.txt"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r tests/schemas/requirements.txt
fi
if [[ ! -d tests/schemas/node_modules/@elastic/ecs ]]; then
  log "npm ci in tests/schemas"
  (cd tests/schemas && npm ci --no-audit --no-fund)
fi

cargo build --release --locked -q -p auditlens-cli
bin="$AUDITLENS_ROOT/target/release/auditlens"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

inputs=(
  tests/fixtures/demo/demo-audit.log.gz
  tests/fixtures/third-party/falco/events.ndjson
  tests/fixtures/third-party/aks-sysdig/eventhub-records.ndjson
  tests/fixtures/third-party/audit2rbac/demo.v1beta1.ndjson
  tests/fixtures/trimmed/events.jsonl
)
for format in ocsf ecs; do
  for input in "${inputs[@]}"; do
    name="$(basename "$input")"
    "$bin" analyze --quiet --format "$format" "$input" >"$out/$name.$format.jsonl"
    gzip -dcf "$input" | "$bin" watch - --format "$format" --min-severity info --learn-for 0 \
      >"$out/$name.watch.$format.jsonl" 2>/dev/null
  done
done
log "OCSF"
"$venv/bin/python" tests/schemas/validate_ocsf.py "$out"/*.ocsf.jsonl
log "ECS"
node tests/schemas/validate_ecs.mjs "$out"/*.ecs.jsonl
