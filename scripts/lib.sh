# shellcheck shell=bash
# Helpers shared by the scripts in scripts/. Source this file; it defines functions and sets
# nothing else but a few variables and a PATH with ~/.cargo/bin on it.
#
# Two Rust toolchains can be on a machine:
#   - rustup's (~/.cargo/bin), used for every native build, for `cargo install`, and for
#     wasm32 too when `rustup target add wasm32-unknown-unknown` could download the wasm32 std;
#   - Debian's rustc-web (/usr/bin/rustc, /usr/bin/cargo, sysroot /usr), used for wasm32 where
#     rustup cannot download: scripts/setup.sh builds its wasm32 std from Debian's std sources.
# `use_wasm_toolchain` picks one for the current shell; AUDITLENS_WASM_TOOLCHAIN=rustup|debian
# forces the choice.
#
# Run directly, the file runs a command with the wasm32 toolchain (used by the Makefile):
#   bash scripts/lib.sh with_wasm_toolchain cargo clippy --target wasm32-unknown-unknown

# shellcheck disable=SC2034  # used by the scripts that source this file
AUDITLENS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WASM_TARGET=wasm32-unknown-unknown
# Where Debian's rustc looks for the wasm32 std, and the file recording which rustc built it.
DEBIAN_WASM_STD_DIR=/usr/lib/rustlib/$WASM_TARGET/lib
DEBIAN_WASM_STD_STAMP=/usr/lib/rustlib/$WASM_TARGET/built-for-rustc

# Binaryen's wasm-opt, from the npm registry (a Node.js build) into a folder of its own. Not
# Debian 12's binaryen 108: it writes wasm-bindgen's externref table back as an anyref table,
# and the bundle then fails in the browser at init ("WebAssembly.Table.set(): Argument 1 is
# invalid").
TOOLS_DIR="${AUDITLENS_TOOLS_DIR:-$HOME/.local/share/auditlens}"
# Generated benchmark logs, DuckDB's virtualenv and builds of other revisions (ignored by git).
BENCH_DIR="${AUDITLENS_BENCH_DIR:-$AUDITLENS_ROOT/bench-data}"
# The Python package's build and test tools, and Spark (scripts/setup-python.sh).
FLEET_VENV="$TOOLS_DIR/fleet-venv"
BINARYEN_VERSION=132.0.0
BINARYEN_DIR="$TOOLS_DIR/binaryen-$BINARYEN_VERSION"
WASM_OPT="$BINARYEN_DIR/node_modules/.bin/wasm-opt"

# rustup's cargo and the `cargo install`-ed tools (wasm-pack, wasm-bindgen) come first.
case ":$PATH:" in
  *":$HOME/.cargo/bin:"*) ;;
  *) export PATH="$HOME/.cargo/bin:$PATH" ;;
esac

log() { printf '%s: %s\n' "${LOG_PREFIX:-auditlens}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Installs those of the Debian packages "$@" that are missing (after `apt-get update`), with
# sudo when not root. Returns at once when all are present.
apt_install_missing() {
  local missing=() pkg sudo=()
  for pkg in "$@"; do
    if [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null)" != "ii " ]]; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  if [[ $EUID -ne 0 ]]; then sudo=(sudo); fi
  log "apt: installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Benchmarks. Each builds this checkout's CLI first (`cargo build --release --locked`).
AUDITLENS_BIN="$AUDITLENS_ROOT/target/release/auditlens"

# Prints the path of a generated log of SIZE (e.g. 1GB) in $BENCH_DIR, named NAME-SIZE.log
# (NAME defaults to "bench"), generating it first when missing.
bench_log() {
  local size="$1" name="${2:-bench}" path
  path="$BENCH_DIR/$name-$size.log"
  mkdir -p "$BENCH_DIR"
  if [[ ! -s "$path" ]]; then
    log "generating $path"
    "$AUDITLENS_BIN" simulate --preset bench --size "$size" -o "$path"
  fi
  printf '%s\n' "$path"
}

# Prints the path of the CLI built from git revision REV, in a worktree under $BENCH_DIR.
revision_bin() {
  local tree="$BENCH_DIR/build-$1"
  if [[ ! -d "$tree" ]]; then
    git -C "$AUDITLENS_ROOT" worktree add -q --detach "$tree" "$1"
  fi
  (cd "$tree" && cargo build --release -q -p auditlens-cli) >&2
  printf '%s\n' "$tree/target/release/auditlens"
}

# Runs a command with its output discarded; prints "seconds peak_kb" (GNU time).
measure() {
  local times
  times=$(mktemp)
  /usr/bin/time -o "$times" -f '%e %M' "$@" >/dev/null 2>/dev/null
  tail -n 1 "$times"
  rm -f "$times"
}

rustup_has_wasm_std() {
  command -v rustup >/dev/null 2>&1 &&
    rustup target list --installed 2>/dev/null | grep -qx "$WASM_TARGET"
}

# True when the wasm32 std in Debian's sysroot was built by the Debian rustc now installed.
debian_has_wasm_std() {
  [[ -x /usr/bin/rustc ]] &&
    compgen -G "$DEBIAN_WASM_STD_DIR/libstd-*.rlib" >/dev/null &&
    [[ "$(cat "$DEBIAN_WASM_STD_STAMP" 2>/dev/null)" == "$(/usr/bin/rustc -V)" ]]
}

# Prints rustup, debian or none: the toolchain that builds wasm32 here.
wasm_toolchain() {
  case "${AUDITLENS_WASM_TOOLCHAIN:-auto}" in
    rustup) rustup_has_wasm_std && echo rustup || echo none ;;
    debian) debian_has_wasm_std && echo debian || echo none ;;
    auto)
      if rustup_has_wasm_std; then echo rustup
      elif debian_has_wasm_std; then echo debian
      else echo none
      fi ;;
    *) die "AUDITLENS_WASM_TOOLCHAIN must be rustup, debian or auto, not '$AUDITLENS_WASM_TOOLCHAIN'" ;;
  esac
}

# Exports what a wasm32 build, wasm-pack, wasm-opt and wasm-bindgen-test need in the current shell.
use_wasm_toolchain() {
  local toolchain
  toolchain="$(wasm_toolchain)"
  case "$toolchain" in
    rustup) ;;
    debian)
      # Debian's cargo, rustc, rustdoc and clippy shadow rustup's, and nothing else does (not
      # all of /usr/bin, which would also shadow pyenv's python, say). Through the links each
      # still finds its sysroot, /usr, from its real path.
      local bin="$TOOLS_DIR/debian-rust-bin" tool
      mkdir -p "$bin"
      for tool in cargo rustc rustdoc cargo-clippy clippy-driver; do
        if [[ -x /usr/bin/$tool ]]; then ln -sfn "/usr/bin/$tool" "$bin/$tool"; fi
      done
      export PATH="$bin:$PATH" CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc ;;
    *) die "no Rust toolchain with the $WASM_TARGET std; run scripts/setup.sh" ;;
  esac
  # That wasm-opt comes first, for any wasm-pack command run without --no-opt too.
  export PATH="$BINARYEN_DIR/node_modules/.bin:$PATH"
  # `wasm-pack test --headless --chrome` drives Debian's Chromium instead of downloading one.
  if [[ -x /usr/bin/chromedriver ]]; then
    export CHROMEDRIVER=/usr/bin/chromedriver
  fi
  export AUDITLENS_WASM_TOOLCHAIN_IN_USE="$toolchain"
}

with_wasm_toolchain() {
  use_wasm_toolchain
  "$@"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  case "${1:-}" in
    with_wasm_toolchain) shift; with_wasm_toolchain "$@" ;;
    *) die "usage: bash scripts/lib.sh with_wasm_toolchain COMMAND [ARGS...]" ;;
  esac
fi
