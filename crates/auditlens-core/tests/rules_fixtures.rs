//! One positive and one negative fixture for every rule the Falco corpus does not exercise.
//!
//! `tests/fixtures/rules/<rule id>/positive.ndjson` holds audit events where the rule must hit
//! exactly the requests whose auditID starts with `hit` (and no other request of the file);
//! `negative.ndjson` holds near misses where it must not hit at all. An optional
//! `config.toml` beside them is the configuration both files are analysed with (policy rules
//! need their allowlist, off-by-default rules must be switched on).
// Tests read their fixtures from disk and fail loudly.
#![allow(clippy::disallowed_methods, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use auditlens_core::rules::{self, RuleConfig};
use auditlens_core::{Analysis, Limits};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules")
}

/// Rule ids the Falco corpus labels name (those need no fixture of their own).
fn falco_covered() -> BTreeSet<String> {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/rules_falco.rs"),
    )
    .unwrap();
    let table = text
        .split("const FALCO_TO_OURS")
        .nth(1)
        .and_then(|t| t.split("];").next())
        .unwrap();
    table
        .split("Some(\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(String::from)
        .collect()
}

/// Analyses a fixture file; returns (auditID, rule ids hit) per request.
fn analyse(path: &Path, config: RuleConfig) -> Vec<(String, BTreeSet<&'static str>)> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut analysis = Analysis::new(Limits::default()).with_rules(config);
    let file = analysis.add_file(&path.display().to_string());
    analysis.push(file, &bytes);
    analysis.finish();
    assert!(
        analysis.diagnostics().is_empty(),
        "{}: {:?}",
        path.display(),
        analysis.diagnostics()
    );
    analysis
        .requests()
        .iter()
        .map(|r| {
            let id = analysis.interner().audit_id_text(r.audit_id).into_owned();
            let hits = analysis
                .rule_hits(r.audit_id)
                .iter()
                .map(|h| h.rule)
                .collect();
            (id, hits)
        })
        .collect()
}

fn config_for(dir: &Path) -> RuleConfig {
    match std::fs::read_to_string(dir.join("config.toml")) {
        Ok(text) => RuleConfig::parse(&text).unwrap(),
        Err(_) => RuleConfig::default(),
    }
}

#[test]
fn every_rule_outside_the_falco_corpus_has_both_fixtures() {
    let covered = falco_covered();
    assert!(covered.len() > 20, "could not read the Falco mapping");
    let mut missing = Vec::new();
    for meta in rules::catalog() {
        if covered.contains(meta.id) {
            continue;
        }
        let dir = fixtures().join(meta.id);
        for file in ["positive.ndjson", "negative.ndjson"] {
            if !dir.join(file).is_file() {
                missing.push(format!("{}/{file}", meta.id));
            }
        }
    }
    assert!(missing.is_empty(), "missing fixtures: {missing:#?}");
}

#[test]
fn positive_fixtures_hit_exactly_the_marked_requests() {
    let mut checked = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let dir = entry.unwrap().path();
        let id = dir.file_name().unwrap().to_str().unwrap().to_string();
        assert!(rules::rule(&id).is_some(), "fixture for unknown rule {id}");
        let results = analyse(&dir.join("positive.ndjson"), config_for(&dir));
        let marked = results.iter().filter(|(a, _)| a.starts_with("hit")).count();
        assert!(marked > 0, "{id}: the positive fixture marks no request");
        for (audit_id, hits) in &results {
            let expected = audit_id.starts_with("hit");
            assert_eq!(
                hits.contains(id.as_str()),
                expected,
                "{id}: request {audit_id} hit {hits:?}"
            );
        }
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn negative_fixtures_never_hit() {
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let dir = entry.unwrap().path();
        let id = dir.file_name().unwrap().to_str().unwrap().to_string();
        let results = analyse(&dir.join("negative.ndjson"), config_for(&dir));
        assert!(!results.is_empty(), "{id}: empty negative fixture");
        for (audit_id, hits) in &results {
            assert!(
                !hits.contains(id.as_str()),
                "{id}: negative request {audit_id} hit {hits:?}"
            );
        }
    }
}

#[test]
fn hits_name_the_matched_values() {
    let dir = fixtures().join("k8s.exec.reverse_shell");
    let bytes = std::fs::read(dir.join("positive.ndjson")).unwrap();
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file("positive.ndjson");
    analysis.push(file, &bytes);
    analysis.finish();
    let request = &analysis.requests()[0];
    let hit = analysis
        .rule_hits(request.audit_id)
        .iter()
        .find(|h| h.rule == "k8s.exec.reverse_shell")
        .unwrap();
    assert!(hit.message.contains("alice@example.com"), "{}", hit.message);
    assert!(hit.message.contains("shop/web-7d9f"), "{}", hit.message);
    assert!(
        hit.message.contains("/dev/tcp/45.33.32.156/4444"),
        "{}",
        hit.message
    );
    assert_eq!(hit.techniques, &["T1609", "T1059.004"]);
}
