# Everyday tasks. On a new machine run `make setup` first; it is quick when all is there.
#   make help    this list
#   make setup   install toolchains and tools (scripts/setup.sh, idempotent)
#   make demo    run the demo (scripts/demo.sh)
#   make test    run every test, as CI does (scripts/test.sh)
#   make python  build the Python wheel and run its tests and the Spark job's (scripts/test-python.sh)
#   make bench   run the criterion benchmarks
#   make lint    rustfmt and clippy, native and wasm32, warnings are errors
#   make web     build the web bundle as wasm-pack.toml says (scripts/build-web.sh)

# Runs a command with a toolchain that has the wasm32 std (see scripts/lib.sh).
WASM_ENV := bash scripts/lib.sh with_wasm_toolchain

.PHONY: help setup demo test python bench lint web

help:
	@sed -n 's/^#   make /make /p' Makefile

setup:
	bash scripts/setup.sh

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

python:
	bash scripts/test-python.sh

bench:
	cargo bench --workspace --exclude auditlens-wasm

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(WASM_ENV) cargo clippy -p auditlens-wasm -p auditlens-core --target wasm32-unknown-unknown -- -D warnings

web:
	bash scripts/build-web.sh
