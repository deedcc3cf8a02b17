//! Baselines: merging is associative and, for the exact parts, sharded equals one pass; the
//! JSON file round-trips and is checked on the way in; a loaded baseline replaces the learning
//! period; and scoring is deterministic.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::path::PathBuf;

use auditlens_core::{Analysis, Baseline, BaselineError, Limits, Severity};
use auditlens_sim::{LabelKind, SimConfig, Simulator};
use serde_json::Value;

fn simulate(config: SimConfig) -> (Vec<u8>, Vec<auditlens_sim::Label>) {
    let mut sim = Simulator::new(config);
    let mut log = Vec::new();
    while sim.next_line(&mut log) {}
    (log, sim.labels().to_vec())
}

fn analyze_with(log: &[u8], chunk: usize, baseline: Option<Baseline>) -> Analysis {
    let mut analysis = Analysis::new(Limits::default());
    if let Some(b) = baseline {
        analysis = analysis.with_baseline(b);
    }
    let file = analysis.add_file("simulated.log");
    for piece in log.chunks(chunk.max(1)) {
        analysis.push(file, piece);
    }
    analysis.finish();
    analysis
}

fn analyze(log: &[u8]) -> Analysis {
    analyze_with(log, 64 * 1024, None)
}

/// Splits a log into `n` parts of about equal size at line boundaries.
fn shards(log: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    for k in 1..=n {
        let target = log.len() * k / n;
        let end = if k == n {
            log.len()
        } else {
            log[target..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(log.len(), |p| target + p + 1)
        };
        out.push(&log[start..end]);
        start = end;
    }
    out
}

fn merged(parts: &[&Baseline]) -> Baseline {
    let mut out = parts[0].clone();
    for p in &parts[1..] {
        out.merge(p);
    }
    out
}

/// A small log: background traffic only, a few hundred kilobytes, one line per request (so a
/// cut between lines never splits a request's stages).
fn small_log() -> Vec<u8> {
    let mut config = SimConfig::demo();
    config.stages = false;
    config.attacks = false;
    config.benign_novelty = false;
    config.target_bytes = Some(600_000);
    simulate(config).0
}

#[test]
fn merge_is_associative_and_commutative() {
    let log = small_log();
    let parts: Vec<Baseline> = shards(&log, 3)
        .into_iter()
        .map(|s| analyze(s).baseline())
        .collect();
    let (a, b, c) = (&parts[0], &parts[1], &parts[2]);
    let left = merged(&[&merged(&[a, b]), c]);
    let right = merged(&[a, &merged(&[b, c])]);
    assert_eq!(
        left.to_json(),
        right.to_json(),
        "(a+b)+c differs from a+(b+c)"
    );
    let reversed = merged(&[c, b, a]);
    assert_eq!(
        left.to_json(),
        reversed.to_json(),
        "a+b+c differs from c+b+a"
    );
    assert!(left.requests() > 0);
    assert_eq!(left.requests(), a.requests() + b.requests() + c.requests());
}

/// The baseline file without the parts that depend on where shards were cut: the gap between
/// two shards' requests, a minute or ten-minute window split in two, rules that look at
/// several requests, and the class an identity had while its requests were read.
fn exact_parts(baseline: &Baseline) -> Value {
    let mut doc: Value = serde_json::from_str(&baseline.to_json()).unwrap();
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for key in ["gaps", "perMinute", "windows", "rules", "class", "classes"] {
                    map.remove(key);
                }
                for (_, child) in map.iter_mut() {
                    strip(child);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut doc);
    doc
}

#[test]
fn sharded_equals_one_pass_for_the_exact_parts() {
    let log = small_log();
    let whole = analyze(&log).baseline();
    let parts: Vec<Baseline> = shards(&log, 4)
        .into_iter()
        .map(|s| analyze(s).baseline())
        .collect();
    let refs: Vec<&Baseline> = parts.iter().collect();
    let sharded = merged(&refs);
    assert_eq!(sharded.requests(), whole.requests());
    assert_eq!(sharded.identities(), whole.identities());
    assert_eq!(exact_parts(&sharded), exact_parts(&whole));
}

#[test]
fn json_round_trips() {
    let baseline = analyze(&small_log()).baseline();
    let json = baseline.to_json();
    let back = Baseline::from_json(&json).unwrap();
    assert_eq!(back.to_json(), json);
    assert_eq!(back.requests(), baseline.requests());
    assert_eq!(back.span(), baseline.span());
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["format"], "auditlens-baseline");
    assert_eq!(doc["version"], 1);
}

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/scoring")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_wrong_version_is_a_clear_error() {
    let err = Baseline::from_json(&fixture("baseline-version-2.json")).unwrap_err();
    assert!(
        matches!(
            err,
            BaselineError::Version {
                found: 2,
                supported: 1
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("version 2") && message.contains("rebuild"),
        "{message}"
    );
}

#[test]
fn other_files_are_refused_with_what_is_wrong() {
    let err = Baseline::from_json(&fixture("not-a-baseline.json")).unwrap_err();
    assert!(matches!(err, BaselineError::Format { .. }), "{err:?}");
    let err = Baseline::from_json("[1, 2").unwrap_err();
    assert!(matches!(err, BaselineError::Json(_)), "{err:?}");
    let err = Baseline::from_json(&fixture("baseline-bad-hours.json")).unwrap_err();
    assert!(matches!(err, BaselineError::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("24"), "{err}");
    // Counts no log could reach are refused rather than left to overflow later.
    let err = Baseline::from_json(&fixture("baseline-huge-count.json")).unwrap_err();
    assert!(err.to_string().contains("hours"), "{err}");
}

/// Splits the demo log at the start of its last day (where the scenarios are).
fn split_at_last_day(log: &[u8]) -> (&[u8], &[u8]) {
    let needle = b"\"requestReceivedTimestamp\":\"2024-05-07";
    let at = log.windows(needle.len()).position(|w| w == needle).unwrap();
    let line_start = log[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    log.split_at(line_start)
}

#[test]
fn a_loaded_baseline_replaces_the_learning_period() {
    let (log, labels) = simulate(SimConfig::demo());
    let (before, last_day) = split_at_last_day(&log);
    let baseline = analyze(before).baseline();
    let json = baseline.to_json();
    let loaded = Baseline::from_json(&json).unwrap();
    let with = analyze_with(last_day, 64 * 1024, Some(loaded));
    let flagged = |a: &Analysis, scenario: &str| {
        let ids: Vec<&str> = labels
            .iter()
            .filter(|l| l.scenario == scenario)
            .map(|l| l.audit_id.as_str())
            .collect();
        a.findings()
            .iter()
            .any(|f| ids.contains(&f.request_key()) && f.severity >= Severity::Medium)
    };
    // 03:10 on the last day: in the learning period of the last day alone, scored against
    // the loaded baseline.
    assert!(flagged(&with, "exec-prod-at-night"));
    let mut scenarios: Vec<(&str, LabelKind)> = labels
        .iter()
        .map(|l| (l.scenario.as_str(), l.kind))
        .collect();
    scenarios.sort_by(|a, b| a.0.cmp(b.0));
    scenarios.dedup_by(|a, b| a.0 == b.0);
    for (scenario, kind) in scenarios {
        match kind {
            LabelKind::Attack => assert!(flagged(&with, scenario), "{scenario} not surfaced"),
            LabelKind::BenignNovelty => {
                assert!(!flagged(&with, scenario), "{scenario} flagged")
            }
        }
    }
    // The learned baseline carries the loaded one forward.
    let learned = with.baseline();
    assert_eq!(
        learned.requests(),
        baseline.requests() + with.requests().len() as u64
    );
    assert_eq!(learned.span().map(|s| s.0), baseline.span().map(|s| s.0));
}

#[test]
fn same_input_same_findings() {
    let (log, _) = simulate(SimConfig::demo());
    let first = analyze_with(&log, 64 * 1024, None);
    let second = analyze_with(&log, 4096, None);
    assert!(!first.findings().is_empty());
    assert_eq!(first.findings(), second.findings());
    assert_eq!(first.incidents(), second.incidents());
    assert_eq!(first.identity_profiles(), second.identity_profiles());
    assert_eq!(first.baseline().to_json(), second.baseline().to_json());
    let small = small_log();
    let whole = analyze_with(&small, usize::MAX, None);
    let bytes = analyze_with(&small, 7, None);
    assert_eq!(whole.findings(), bytes.findings());
    assert_eq!(whole.baseline().to_json(), bytes.baseline().to_json());
}
