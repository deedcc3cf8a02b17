#!/usr/bin/env bash
# Installs what building, testing and serving auditlens needs, and only what is missing:
#   1. Debian packages: Debian's Rust (rustc-web, its std sources and clippy), rust-lld,
#      Chromium and ChromeDriver for browser tests, hyperfine, and Prometheus Alertmanager
#      (the `watch` tests post alerts to a real one they start);
#   2. the wasm32 std: `rustup target add`, or else built from Debian's std sources;
#   3. wasm-bindgen-cli at exactly the wasm-bindgen version in Cargo.lock;
#   4. wasm-pack;
#   5. binaryen's wasm-opt, from npm (see scripts/lib.sh for why not Debian's);
#   6. the web page's npm packages, when web/package.json exists;
#   7. Java and the Python tools for the Python package and its Spark job (scripts/setup-python.sh).
# Safe to rerun: with everything present it only checks, in a few seconds.
#
# Environment:
#   AUDITLENS_WASM_TOOLCHAIN=debian   skip `rustup target add`, use Debian's toolchain for wasm32
#   WASM_PACK_VERSION=x.y.z           the wasm-pack to install (default below)
set -euo pipefail
LOG_PREFIX=setup
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AUDITLENS_ROOT"

APT_PACKAGES=(rustc-web cargo-web rust-web-src rust-web-clippy lld-22
  chromium chromium-driver hyperfine prometheus-alertmanager)
WASM_PACK_VERSION="${WASM_PACK_VERSION:-0.15.1}"

SUDO=()
if [[ $EUID -ne 0 ]]; then SUDO=(sudo); fi

step_started=0
TEMP_DIRS=()
trap 'rm -rf "${TEMP_DIRS[@]}"' EXIT
step() { step_started=$SECONDS; log "$*"; }
step_done() { log "  done in $((SECONDS - step_started)) s"; }

install_apt_packages() {
  step "apt: ${#APT_PACKAGES[@]} packages, installing any missing"
  apt_install_missing "${APT_PACKAGES[@]}"
  step_done
}

# Builds std, panic_abort and test for wasm32 with Debian's rustc from /usr/lib/rustlib/src
# and installs the rlibs into Debian's sysroot.
build_debian_wasm_std() {
  step "wasm32 std: building it for $(/usr/bin/rustc -V) (Debian's std sources)"
  local work
  work="$(mktemp -d)"
  TEMP_DIRS+=("$work")
  mkdir -p "$work/src"
  printf '[package]\nname = "wasm_std_build"\nversion = "0.0.0"\nedition = "2021"\n\n[workspace]\n' \
    >"$work/Cargo.toml"
  : >"$work/src/lib.rs"
  (
    cd "$work"
    RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo build --quiet --release \
      --target "$WASM_TARGET" --target-dir "$work/target" -Zbuild-std=std,panic_abort,test
  )
  local rlibs=()
  mapfile -t rlibs < <(find "$work/target/$WASM_TARGET/release/deps" -name 'lib*.rlib' \
    ! -name 'libwasm_std_build-*')
  compgen -G "$work/target/$WASM_TARGET/release/deps/libstd-*.rlib" >/dev/null ||
    die "the std build produced no libstd rlib"
  "${SUDO[@]}" rm -rf "$DEBIAN_WASM_STD_DIR"
  "${SUDO[@]}" mkdir -p "$DEBIAN_WASM_STD_DIR"
  "${SUDO[@]}" cp "${rlibs[@]}" "$DEBIAN_WASM_STD_DIR/"
  /usr/bin/rustc -V | "${SUDO[@]}" tee "$DEBIAN_WASM_STD_STAMP" >/dev/null
  log "  installed ${#rlibs[@]} rlibs into $DEBIAN_WASM_STD_DIR"
  step_done
}

install_wasm_std() {
  local toolchain
  toolchain="$(wasm_toolchain)"
  if [[ "$toolchain" != none ]]; then
    log "wasm32 std: present ($toolchain toolchain)"
    return
  fi
  if [[ "${AUDITLENS_WASM_TOOLCHAIN:-auto}" != debian ]]; then
    step "wasm32 std: trying rustup target add $WASM_TARGET (20 s limit)"
    if timeout 20 rustup target add "$WASM_TARGET" && rustup_has_wasm_std; then
      step_done
      return
    fi
    [[ "${AUDITLENS_WASM_TOOLCHAIN:-auto}" == auto ]] ||
      die "rustup could not download the $WASM_TARGET std (AUDITLENS_WASM_TOOLCHAIN=rustup)"
    log "  rustup could not download it; building it for Debian's rustc instead"
  fi
  build_debian_wasm_std
}

# The wasm-bindgen version the workspace resolves to: wasm-bindgen-cli must match it exactly.
# It comes from Cargo.lock; while no lockfile can be made (a crate not written yet), from the
# exact pin `wasm-bindgen = "=x.y.z"` in the root Cargo.toml.
wasm_bindgen_version() {
  if [[ ! -f Cargo.lock ]]; then
    log "Cargo.lock missing: cargo generate-lockfile"
    cargo generate-lockfile --quiet 2>/dev/null ||
      log "  cargo cannot resolve the workspace yet; using the wasm-bindgen pin in Cargo.toml"
  fi
  python3 - <<'PY'
import os, sys, tomllib
if os.path.exists("Cargo.lock"):
    with open("Cargo.lock", "rb") as f:
        packages = tomllib.load(f).get("package", [])
    versions = sorted({p["version"] for p in packages if p["name"] == "wasm-bindgen"})
    if len(versions) > 1:
        sys.exit(f"setup: error: Cargo.lock has several wasm-bindgen versions {versions}; keep one")
    if versions:
        print(versions[0])
        sys.exit(0)
with open("Cargo.toml", "rb") as f:
    pin = tomllib.load(f).get("workspace", {}).get("dependencies", {}).get("wasm-bindgen", "")
pin = pin.get("version", "") if isinstance(pin, dict) else pin
if not pin.startswith("="):
    sys.exit("setup: error: no wasm-bindgen in Cargo.lock and no exact pin (\"=x.y.z\") in Cargo.toml")
print(pin[1:].strip())
PY
}

install_wasm_bindgen_cli() {
  local want have=""
  want="$(wasm_bindgen_version)"
  if command -v wasm-bindgen >/dev/null 2>&1; then
    have="$(wasm-bindgen --version | awk '{print $2}')"
  fi
  if [[ "$have" == "$want" ]]; then
    log "wasm-bindgen-cli: $want present"
    return
  fi
  step "wasm-bindgen-cli: installing $want${have:+ (found $have)}"
  cargo install --quiet --force wasm-bindgen-cli --version "$want"
  step_done
}

install_wasm_pack() {
  local have=""
  if command -v wasm-pack >/dev/null 2>&1; then
    have="$(wasm-pack --version | awk '{print $2}')"
  fi
  if [[ "$have" == "$WASM_PACK_VERSION" ]]; then
    log "wasm-pack: $have present"
    return
  fi
  step "wasm-pack: installing $WASM_PACK_VERSION${have:+ (found $have)}"
  cargo install --quiet --force wasm-pack --version "$WASM_PACK_VERSION"
  step_done
}

install_wasm_opt() {
  if [[ -x "$WASM_OPT" ]]; then
    log "wasm-opt: binaryen $BINARYEN_VERSION present"
    return
  fi
  step "wasm-opt: installing binaryen@$BINARYEN_VERSION from npm into $BINARYEN_DIR"
  npm install --prefix "$BINARYEN_DIR" --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION"
  "$WASM_OPT" --version >/dev/null
  step_done
}

install_node_packages() {
  if [[ ! -f web/package.json ]]; then
    log "npm: no web/package.json, nothing to install"
    return
  fi
  local lock=web/package-lock.json
  if [[ -d web/node_modules && ! web/package.json -nt web/node_modules &&
    ! (-f $lock && $lock -nt web/node_modules) ]]; then
    log "npm: web/node_modules up to date"
    return
  fi
  if [[ -f $lock ]]; then
    step "npm: npm ci in web/"
    (cd web && npm ci --no-audit --no-fund)
  else
    step "npm: npm install in web/ (no package-lock.json)"
    (cd web && npm install --no-audit --no-fund)
  fi
  mkdir -p web/node_modules && touch web/node_modules
  step_done
}

started=$SECONDS
install_apt_packages
install_wasm_std
install_wasm_bindgen_cli
install_wasm_pack
install_wasm_opt
install_node_packages
bash scripts/setup-python.sh
log "ready in $((SECONDS - started)) s; wasm32 builds use the $(wasm_toolchain) toolchain"
