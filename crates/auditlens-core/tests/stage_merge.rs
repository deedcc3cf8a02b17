//! Stages of one request merge into one: the most complete stage is kept, with the earliest
//! time any stage gives and every stage seen; of two copies of the same stage, the one the
//! producer did not cut short wins, whichever comes first. Each case is checked in both orders
//! of the file and in every chunking.

#![allow(clippy::disallowed_methods, clippy::unwrap_used)]

use auditlens_core::{Analysis, Event, Limits, Stage};

const ID: &str = "6a0c1f52-3d4e-4b8a-9c7d-2e1f0a9b8c7d";

/// A `stage` event of the request [`ID`] received at `second`, with a `code` when given.
fn stage(name: &str, second: u32, code: Option<u16>) -> String {
    let status = code.map_or(String::new(), |c| {
        format!(r#","responseStatus":{{"metadata":{{}},"code":{c}}}"#)
    });
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"{ID}","stage":"{name}","requestURI":"/api/v1/namespaces/shop/pods","verb":"create","user":{{"username":"alice"}},"sourceIPs":["10.0.0.5"],"objectRef":{{"resource":"pods","namespace":"shop","apiVersion":"v1"}},"requestReceivedTimestamp":"2026-01-01T00:00:{second:02}.000000Z","stageTimestamp":"2026-01-01T00:00:{second:02}.500000Z"{status},"requestObject":{{"kind":"Pod","spec":{{"containers":[{{"name":"web","image":"nginx"}}]}}}}}}"#
    )
}

/// `line` cut inside its request body and marked as EKS marks what it cut.
fn truncated(line: &str) -> String {
    let cut = line.find(r#""containers""#).unwrap();
    format!("{}[Truncated...]", &line[..cut])
}

/// The one request of `lines`, read in each chunking; every chunking must agree.
fn merged(lines: &[String]) -> Event {
    let bytes = lines.join("\n") + "\n";
    let mut results = Vec::new();
    for chunk in [1, 7, 4096, usize::MAX] {
        let mut analysis = Analysis::new(Limits::default());
        let file = analysis.add_file("a.log");
        for piece in bytes.as_bytes().chunks(chunk.min(bytes.len())) {
            analysis.push(file, piece);
        }
        analysis.finish();
        let summary = analysis.summary();
        assert_eq!(summary.files[0].accepted, lines.len() as u64, "{summary:?}");
        assert_eq!(analysis.requests().len(), 1, "chunk {chunk}");
        results.push(analysis.requests()[0].clone());
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]), "chunkings differ");
    results.remove(0)
}

fn micros(second: u32) -> i64 {
    // 2026-01-01T00:00:00Z in microseconds since the epoch.
    1_767_225_600_000_000 + i64::from(second) * 1_000_000
}

#[test]
fn the_most_complete_stage_is_kept_with_the_earliest_time_in_either_order() {
    let received = stage("RequestReceived", 2, None);
    let complete = stage("ResponseComplete", 7, Some(201));
    for order in [
        [received.clone(), complete.clone()],
        [complete.clone(), received.clone()],
    ] {
        let request = merged(&order);
        assert_eq!(request.stage, Stage::ResponseComplete);
        assert_eq!(request.code, 201, "the complete stage's response");
        assert_eq!(
            request.received,
            micros(2),
            "the earliest time of any stage"
        );
        assert_eq!(
            request.stages_seen,
            Stage::RequestReceived.bit() | Stage::ResponseComplete.bit()
        );
    }
}

#[test]
fn a_panic_ranks_above_a_started_response_in_either_order() {
    let started = stage("ResponseStarted", 4, None);
    let panic = stage("Panic", 5, Some(500));
    for order in [
        [started.clone(), panic.clone()],
        [panic.clone(), started.clone()],
    ] {
        let request = merged(&order);
        assert_eq!(request.stage, Stage::Panic);
        assert_eq!(request.code, 500);
        assert_eq!(request.received, micros(4));
        assert_eq!(request.stages_seen.count_ones(), 2);
    }
}

#[test]
fn the_untruncated_copy_of_a_stage_wins_whichever_comes_first() {
    let whole = stage("ResponseComplete", 3, Some(201));
    let cut = truncated(&stage("ResponseComplete", 3, Some(201)));
    // Cut first, whole second: the second replaces the first.
    let request = merged(&[cut.clone(), whole.clone()]);
    assert!(!request.truncated);
    assert_eq!(request.source.line, 2);
    // Whole first, cut second: the first stays.
    let request = merged(&[whole, cut.clone()]);
    assert!(!request.truncated);
    assert_eq!(request.source.line, 1);
    // Two cut copies: the first stays, still marked.
    let request = merged(&[cut.clone(), cut]);
    assert!(request.truncated);
    assert_eq!(request.source.line, 1);
    // A stage seen twice is still seen.
    assert_eq!(request.stages_seen, Stage::ResponseComplete.bit());
}

#[test]
fn a_truncated_later_stage_still_outranks_an_earlier_whole_one() {
    let received = stage("RequestReceived", 1, None);
    let complete = truncated(&stage("ResponseComplete", 2, Some(201)));
    let request = merged(&[received, complete]);
    assert_eq!(request.stage, Stage::ResponseComplete);
    assert!(request.truncated);
    assert_eq!(request.received, micros(1));
}
