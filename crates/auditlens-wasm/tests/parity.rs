//! Native half of the wasm parity check: the session, compiled natively, must give exactly the
//! documents in `tests/expected/`, which the browser test (`web.rs`) holds the wasm build to.
//!
//! After a deliberate change to the core's output, rewrite them with
//! `AUDITLENS_BLESS=1 cargo test -p auditlens-wasm --test parity` and review the diff.

#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

fn expected_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/expected")
        .join(format!("{name}.json"))
}

#[test]
fn native_session_matches_the_expected_documents() {
    let bless = std::env::var_os("AUDITLENS_BLESS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for fixture in common::fixtures() {
        let actual = common::run(&fixture, 64 * 1024);
        let path = expected_path(fixture.name);
        if bless {
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if expected != actual {
            stale.push(format!(
                "{}: {}",
                path.display(),
                common::first_difference(&expected, &actual)
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "the session's output changed; if the change is intended, rerun with AUDITLENS_BLESS=1 \
         and review the diff of tests/expected/:\n{}",
        stale.join("\n")
    );
}

#[test]
fn chunk_size_does_not_change_the_result() {
    for fixture in common::fixtures() {
        let whole = common::run(&fixture, usize::MAX);
        for chunk in [1, 7, 4096] {
            assert_eq!(
                common::run(&fixture, chunk),
                whole,
                "{} in {chunk}-byte chunks",
                fixture.name
            );
        }
    }
}

#[test]
fn parts_read_by_other_workers_give_the_expected_documents() {
    for fixture in common::fixtures() {
        let expected = std::fs::read_to_string(expected_path(fixture.name)).unwrap();
        for parts in [2, 5] {
            let actual = common::run_in_parts(&fixture, parts);
            assert!(
                actual == expected,
                "{} in {parts} parts: {}",
                fixture.name,
                common::first_difference(&expected, &actual)
            );
        }
    }
}
