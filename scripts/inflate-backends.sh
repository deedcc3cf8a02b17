#!/usr/bin/env bash
# Compares flate2's two pure-Rust inflate backends, miniz_oxide and zlib-rs, on a gzip audit
# log: natively, and compiled to wasm32 and run in Node.js's WebAssembly engine (V8, as in
# Chromium). A small crate is written under target/inflate-backends, built once per backend,
# and each build inflates the file five times (best time kept), through flate2's
# MultiGzDecoder fed 16 KiB at a time, as the core feeds it.
#
# Usage: bash scripts/inflate-backends.sh [FILE.gz]
#   default: a gzip (level 6) of a 300 MB generated log, made once under bench-data/
set -euo pipefail
LOG_PREFIX=inflate-backends
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AUDITLENS_ROOT"

input="${1:-}"
if [[ -z "$input" ]]; then
  mkdir -p "$BENCH_DIR"
  input="$BENCH_DIR/inflate-300MB.log.gz"
  if [[ ! -f "$input" ]]; then
    log "generating $input"
    cargo run -q --release -p auditlens-cli -- simulate --preset bench --size 300MB -o - |
      gzip -6 >"$input"
  fi
fi
flate2_version="$(awk '/^name = "flate2"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)"
work=target/inflate-backends
mkdir -p "$work/src"
cat >"$work/Cargo.toml" <<TOML
[package]
name = "inflate-backends"
version = "0.0.0"
edition = "2021"

[lib]
crate-type = ["cdylib", "rlib"]

[features]
zlib-rs = ["flate2/zlib-rs"]
miniz = ["flate2/rust_backend"]

[dependencies]
flate2 = { version = "=$flate2_version", default-features = false }

[profile.release]
debug = false

[workspace]
TOML
cat >"$work/src/lib.rs" <<'RUST'
use std::io::Write;

/// Inflates a (multi-member) gzip stream fed 16 KiB at a time; returns the bytes it made.
pub fn inflate(bytes: &[u8]) -> u64 {
    struct Count(u64);
    impl Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len() as u64;
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut decoder = flate2::write::MultiGzDecoder::new(Count(0));
    for step in bytes.chunks(16 * 1024) {
        decoder.write_all(step).expect("a valid gzip file");
    }
    decoder.try_finish().expect("a complete gzip file");
    decoder.get_ref().0
}

#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut buffer = vec![0u8; len];
    let pointer = buffer.as_mut_ptr();
    std::mem::forget(buffer);
    pointer
}

/// # Safety
/// `pointer` and `len` come from `alloc`.
#[no_mangle]
pub unsafe extern "C" fn run(pointer: *const u8, len: usize) -> u64 {
    inflate(std::slice::from_raw_parts(pointer, len))
}
RUST
mkdir -p "$work/src/bin"
cat >"$work/src/bin/native.rs" <<'RUST'
fn main() {
    let path = std::env::args().nth(1).expect("a gzip file");
    let bytes = std::fs::read(&path).expect("readable");
    let (mut best, mut out) = (f64::MAX, 0);
    for _ in 0..5 {
        let start = std::time::Instant::now();
        out = inflate_backends::inflate(&bytes);
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!("{:.0} MB/s ({} bytes in {best:.3} s)", out as f64 / 1e6 / best, out);
}
RUST
cat >"$work/run.mjs" <<'JS'
import fs from "node:fs";
const [wasmPath, file] = process.argv.slice(2);
const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasmPath), {});
const data = fs.readFileSync(file);
const { memory, alloc, run } = instance.exports;
const pointer = alloc(data.length);
new Uint8Array(memory.buffer, pointer, data.length).set(data);
let best = Infinity, out = 0n;
for (let i = 0; i < 5; i++) {
  const start = performance.now();
  out = run(pointer, data.length);
  best = Math.min(best, (performance.now() - start) / 1000);
}
console.log(`${(Number(out) / 1e6 / best).toFixed(0)} MB/s (${out} bytes in ${best.toFixed(3)} s)`);
JS
log "input: $input ($(stat -c %s "$input") bytes), flate2 $flate2_version"
for backend in miniz zlib-rs; do
  (cd "$work" && CARGO_TARGET_DIR="target-$backend" cargo build -q --release --features "$backend")
  (cd "$work" && use_wasm_toolchain && CARGO_TARGET_DIR="target-$backend" \
    cargo build -q --release --lib --features "$backend" --target "$WASM_TARGET")
done
for round in 1 2; do
  for backend in miniz zlib-rs; do
    printf 'round %s  %-8s native: %s\n' "$round" "$backend" \
      "$("$work/target-$backend/release/native" "$input")"
    printf 'round %s  %-8s wasm:   %s\n' "$round" "$backend" \
      "$(node "$work/run.mjs" "$work/target-$backend/$WASM_TARGET/release/inflate_backends.wasm" "$input")"
  done
done
