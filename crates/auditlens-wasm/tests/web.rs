//! The session API in a browser (headless Chromium via `wasm-pack test --headless --chrome`):
//! the wasm build must give exactly what the native build gave for the same fixtures
//! (`tests/expected/`, checked natively by `parity.rs`), whatever the chunk size.

#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

mod common;

use auditlens_wasm::Session;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn expected(name: &str) -> &'static str {
    match name {
        "audit2rbac" => include_str!("expected/audit2rbac.json"),
        "falco" => include_str!("expected/falco.json"),
        "gzip-and-bad-lines" => include_str!("expected/gzip-and-bad-lines.json"),
        "rbac-cluster" => include_str!("expected/rbac-cluster.json"),
        other => panic!("no expected document for fixture {other}"),
    }
}

#[wasm_bindgen_test]
fn wasm_session_matches_the_native_documents() {
    for fixture in common::fixtures() {
        for chunk in [7, 4096, 1 << 20] {
            let actual = common::run(&fixture, chunk);
            let want = expected(fixture.name);
            assert!(
                actual == want,
                "{} in {chunk}-byte chunks differs from the native result: {}",
                fixture.name,
                common::first_difference(want, &actual)
            );
        }
    }
}

#[wasm_bindgen_test]
fn parts_read_by_other_workers_give_the_native_documents() {
    for fixture in common::fixtures() {
        let actual = common::run_in_parts(&fixture, 3);
        let want = expected(fixture.name);
        assert!(
            actual == want,
            "{} in 3 parts differs from the native result: {}",
            fixture.name,
            common::first_difference(want, &actual)
        );
    }
}

#[wasm_bindgen_test]
fn a_request_points_at_its_raw_record() {
    let fixture = &common::fixtures()[0];
    let bytes = &fixture.files[0].1;
    let mut session = Session::new();
    let id = session.add_file(fixture.files[0].0);
    session.push(id, bytes).unwrap();
    session.finish();
    let report: serde_json::Value = serde_json::from_str(&session.report()).unwrap();
    let requests = report["summary"]["requests"].as_u64().unwrap();
    assert!(
        requests > 100,
        "the fixture has hundreds of requests, got {requests}"
    );
    // Every line's event can be found back, and its byte range holds an event with its auditID.
    let mut checked = 0;
    for line in bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .step_by(50)
    {
        let event: serde_json::Value = serde_json::from_slice(line).unwrap();
        let audit_id = event["auditID"].as_str().unwrap();
        let row: serde_json::Value = serde_json::from_str(&session.request(audit_id)).unwrap();
        let (offset, len) = (
            row["offset"].as_u64().unwrap() as usize,
            row["len"].as_u64().unwrap() as usize,
        );
        let raw: serde_json::Value = serde_json::from_slice(&bytes[offset..offset + len]).unwrap();
        assert_eq!(raw["auditID"], audit_id);
        assert_eq!(row["fileIndex"], 0);
        checked += 1;
    }
    assert!(checked >= 10);
}

#[wasm_bindgen_test]
fn an_unknown_file_is_a_javascript_error() {
    let mut session = Session::new();
    let error = session.push(3, b"{}").unwrap_err();
    let error: js_sys::Error = error.dyn_into().unwrap();
    let message: String = error.message().into();
    assert!(message.contains("no file 3"), "{message}");
}

#[wasm_bindgen_test]
fn a_file_that_is_not_an_audit_log_gives_a_diagnostic_not_a_trap() {
    let mut session = Session::new();
    let id = session.add_file("notes.txt");
    session
        .push(id, b"hello\nthis is not JSON\n\x00\xff\xfe binary")
        .unwrap();
    session.finish();
    let summary: serde_json::Value = serde_json::from_str(&session.summary()).unwrap();
    assert_eq!(summary["requests"], 0);
    assert!(summary["diagnostics"].as_u64().unwrap() >= 2);
    let diagnostics: serde_json::Value =
        serde_json::from_str(&session.diagnostics(0, 100)).unwrap();
    assert!(diagnostics
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["file"] == "notes.txt"));
    let overview: serde_json::Value = serde_json::from_str(&session.overview()).unwrap();
    assert!(overview["timeline"].is_null());
}

#[wasm_bindgen_test]
fn a_raw_event_in_a_later_gzip_member_is_re_read() {
    use std::io::Write;
    let gzip = |bytes: &[u8]| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    };
    let fixture = &common::fixtures()[0];
    let plain = &fixture.files[0].1;
    let half = plain.len() / 2
        + plain[plain.len() / 2..]
            .iter()
            .position(|&b| b == b'\n')
            .unwrap()
        + 1;
    let mut file = gzip(&plain[..half]);
    file.extend(gzip(&plain[half..]));
    let mut session = Session::new();
    let id = session.add_file("two-members.log.gz");
    session.push(id, &file).unwrap();
    session.finish();
    let last_line = plain[half..]
        .split(|&b| b == b'\n')
        .find(|l| !l.is_empty())
        .unwrap();
    let audit_id = serde_json::from_slice::<serde_json::Value>(last_line).unwrap()["auditID"]
        .as_str()
        .unwrap()
        .to_string();
    let row: serde_json::Value = serde_json::from_str(&session.request(&audit_id)).unwrap();
    let (offset, len) = (
        row["offset"].as_f64().unwrap(),
        row["len"].as_u64().unwrap() as u32,
    );
    assert!(
        offset as usize >= half,
        "the event lies in the second member"
    );
    let mut range = auditlens_wasm::GzipRange::new(offset, len);
    let complete = file
        .chunks(1000)
        .fold(false, |_, piece| range.push(piece).unwrap());
    assert!(complete);
    let raw: serde_json::Value = serde_json::from_slice(&range.bytes()).unwrap();
    assert_eq!(raw["auditID"], audit_id.as_str());
}
