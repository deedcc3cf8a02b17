#!/usr/bin/env bash
# Builds the web bundle as wasm-pack.toml says: `wasm-pack build` of the wasm crate with a
# toolchain that has the wasm32 std, then wasm-opt with the arguments from wasm-pack.toml,
# then the page's own `npm run build` when web/package.json has a build script.
# Needs scripts/setup.sh to have run. Never downloads anything: wasm-pack runs with
# --mode no-install, so it uses the wasm-bindgen on PATH (the version in Cargo.lock).
#
# Environment:
#   AUDITLENS_WASM_CRATE     build this crate instead of the one in wasm-pack.toml
#   AUDITLENS_WASM_OUT_DIR   write the bundle here instead (the page is then not rebuilt)
#   AUDITLENS_WASM_TOOLCHAIN rustup|debian, see scripts/lib.sh
set -euo pipefail
LOG_PREFIX=build-web
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AUDITLENS_ROOT"

# wasm-pack.toml, checked, as lines: crate, target, out-dir, out-name, profile, features,
# one line per wasm-opt argument, then "end".
config_lines="$(python3 - wasm-pack.toml <<'PY'
import sys, tomllib
path = sys.argv[1]
with open(path, "rb") as f:
    c = tomllib.load(f)
def fail(msg):
    sys.exit(f"build-web: error: {path}: {msg}")
def text(key, allowed=None):
    v = c.get(key)
    if not isinstance(v, str) or not v:
        fail(f"'{key}' must be a non-empty string")
    if allowed and v not in allowed:
        fail(f"'{key}' is {v!r}; expected one of {', '.join(allowed)}")
    return v
unknown = set(c) - {"crate", "target", "out-dir", "out-name", "profile", "features", "wasm-opt"}
if unknown:
    fail(f"unknown keys {sorted(unknown)}")
features = c.get("features", [])
if not isinstance(features, list) or not all(isinstance(x, str) for x in features):
    fail("'features' must be a list of strings")
opt = c.get("wasm-opt", False)
if opt is False:
    opt = []
elif isinstance(opt, str):
    opt = [opt]
elif not (isinstance(opt, list) and opt and all(isinstance(x, str) for x in opt)):
    fail("'wasm-opt' must be false or a non-empty list of wasm-opt arguments")
print(text("crate"))
print(text("target", ["web", "bundler", "nodejs", "no-modules", "deno"]))
print(text("out-dir"))
print(text("out-name"))
print(text("profile"))
print(",".join(features))
for arg in opt:
    print(arg)
print("end")
PY
)"
mapfile -t config <<<"$config_lines"
unset 'config[-1]' # "end": keeps empty trailing lines from being lost
crate="${AUDITLENS_WASM_CRATE:-${config[0]}}"
target="${config[1]}"
out_dir="${AUDITLENS_WASM_OUT_DIR:-${config[2]}}"
out_name="${config[3]}"
profile="${config[4]}"
features="${config[5]}"
wasm_opt_args=("${config[@]:6}")

[[ -f "$crate/Cargo.toml" ]] || die "no Cargo.toml in $crate (the wasm crate, from wasm-pack.toml)"
[[ "$out_dir" == /* ]] || out_dir="$AUDITLENS_ROOT/$out_dir"

case "$profile" in
  release | dev | profiling) profile_args=("--$profile") ;;
  *) profile_args=(--profile "$profile") ;;
esac
cargo_args=()
if [[ -n "$features" ]]; then cargo_args=(--features "$features"); fi

use_wasm_toolchain
log "wasm-pack: $crate -> $out_dir/$out_name (target $target, profile $profile," \
  "$AUDITLENS_WASM_TOOLCHAIN_IN_USE toolchain)"
wasm-pack build "$crate" --mode no-install --no-opt --target "$target" \
  --out-dir "$out_dir" --out-name "$out_name" "${profile_args[@]}" "${cargo_args[@]}"

wasm="$out_dir/${out_name}_bg.wasm"
[[ -f "$wasm" ]] || die "wasm-pack did not write $wasm"
if ((${#wasm_opt_args[@]})); then
  before=$(stat -c %s "$wasm")
  # wasm-opt reads the wasm features to allow (bulk memory, reference types...) from the
  # module's target_features section, which rustc writes.
  [[ -x "$WASM_OPT" ]] || die "no $WASM_OPT; run scripts/setup.sh"
  "$WASM_OPT" "${wasm_opt_args[@]}" "$wasm" -o "$wasm.opt"
  mv "$wasm.opt" "$wasm"
  log "wasm-opt ${wasm_opt_args[*]} (binaryen $BINARYEN_VERSION): $before -> $(stat -c %s "$wasm") bytes"
else
  log "wasm-opt: off in wasm-pack.toml ($(stat -c %s "$wasm") bytes)"
fi

if [[ "$out_dir" != "$AUDITLENS_ROOT/${config[2]}" ]]; then
  log "bundle written outside ${config[2]}: not building the page"
elif [[ -f web/package.json ]] &&
  python3 -c 'import json,sys; sys.exit("build" not in json.load(open(sys.argv[1])).get("scripts", {}))' web/package.json; then
  log "npm run build in web/"
  (cd web && npm run build)
fi
log "done: $out_dir"
