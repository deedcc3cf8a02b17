#!/usr/bin/env bash
# Installs what the Python package (crates/auditlens-py) and its Spark job need to be built and
# tested, and only what is missing:
#   1. a Java runtime for Spark, from Debian (default-jre-headless);
#   2. a virtualenv, $TOOLS_DIR/fleet-venv, with the exact versions of maturin, pytest, pyspark
#      and pyarrow pinned in crates/auditlens-py/requirements.txt (from PyPI).
# Safe to rerun: with everything present it only checks. scripts/setup.sh runs it.
set -euo pipefail
LOG_PREFIX=setup-python
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AUDITLENS_ROOT"

apt_install_missing default-jre-headless python3-venv
java -version >/dev/null 2>&1 || die "no working java after installing default-jre-headless"

requirements=crates/auditlens-py/requirements.txt
# The requirements the venv was made with; a change of pins reinstalls.
stamp="$FLEET_VENV/installed-requirements.txt"
if [[ -x "$FLEET_VENV/bin/python" ]] && cmp -s "$requirements" "$stamp"; then
  log "$FLEET_VENV: present with $requirements"
  exit 0
fi
log "creating $FLEET_VENV with $requirements"
python3 -m venv "$FLEET_VENV"
"$FLEET_VENV/bin/pip" install -q --disable-pip-version-check -r "$requirements"
cp "$requirements" "$stamp"
log "  done"
