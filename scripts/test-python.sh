#!/usr/bin/env bash
# Builds the Python package (crates/auditlens-py) into an abi3 wheel with maturin, installs it
# into $TOOLS_DIR/fleet-venv and runs its pytest suite: the package against the CLI (built here
# too), and the Spark job on a local[2] session against the CLI. Extra arguments go to pytest.
#
#   bash scripts/test-python.sh [-k spark]
set -euo pipefail
LOG_PREFIX=test-python
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AUDITLENS_ROOT"

bash scripts/setup-python.sh

log "building the CLI (the reference the tests compare with)"
cargo build --release --locked -q -p auditlens-cli

wheels="$(mktemp -d)"
trap 'rm -rf "$wheels"' EXIT
log "building the wheel"
"$FLEET_VENV/bin/maturin" build --release --locked --quiet \
  -m crates/auditlens-py/Cargo.toml -o "$wheels"
"$FLEET_VENV/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps \
  "$wheels"/auditlens-*.whl

log "pytest"
# The suite runs from the installed package, not the source folder.
AUDITLENS_BIN="$AUDITLENS_BIN" PYSPARK_PYTHON="$FLEET_VENV/bin/python" \
  "$FLEET_VENV/bin/python" -m pytest -q -p no:cacheprovider crates/auditlens-py/tests "$@"
