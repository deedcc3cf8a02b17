//! One positive and one negative fixture for every rule the Falco corpus does not exercise, each
//! checked against every rule of the catalog, not only its own.
//!
//! `tests/fixtures/rules/<rule id>/positive.ndjson` holds audit events where the rule must hit
//! exactly the requests whose auditID starts with `hit` (and no other request of the file); an
//! event written without an auditID, as exports trim them, goes by its object's name instead;
//! `negative.ndjson` holds near misses where it must not hit at all. No other rule may fire on
//! either file, but those that `other-rules.txt` declares for a request, each with the reason it
//! fires by design (every exec is also `k8s.pod.exec`; a refused request is also
//! `k8s.access.denied`). An optional `config.toml` beside them is the configuration both files
//! are analysed with (policy rules need their allowlist, off-by-default rules must be switched
//! on).
// Tests read their fixtures from disk and fail loudly.
#![allow(clippy::disallowed_methods, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use auditlens_core::report::Finding;
use auditlens_core::rules::{self, RuleConfig};
use auditlens_core::watch::{Watch, WatchOptions};
use auditlens_core::{Analysis, DiagnosticKind, Limits};

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
    // Trimmed events are said to lack fields, once per field; nothing else may be wrong.
    let problems: Vec<_> = analysis
        .diagnostics()
        .iter()
        .filter(|d| d.kind != DiagnosticKind::MissingFields)
        .collect();
    assert!(problems.is_empty(), "{}: {problems:?}", path.display());
    analysis
        .requests()
        .iter()
        .map(|r| {
            let interner = analysis.interner();
            let id = match r.audit_id.absent_key() {
                Some(_) => interner.resolve(r.name).to_string(),
                None => interner.audit_id_text(r.audit_id).into_owned(),
            };
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

/// The other rules `other-rules.txt` declares, by (file, auditID). Each line is
/// `FILE AUDITID RULE... # why`; a line without its reason is refused.
fn declared_others(dir: &Path) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut declared = BTreeMap::new();
    let Ok(text) = std::fs::read_to_string(dir.join("other-rules.txt")) else {
        return declared;
    };
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (fields, why) = line
            .split_once('#')
            .unwrap_or_else(|| panic!("{}:{}: no reason after #", dir.display(), n + 1));
        assert!(
            !why.trim().is_empty(),
            "{}:{}: empty reason",
            dir.display(),
            n + 1
        );
        let mut fields = fields.split_whitespace().map(String::from);
        let (file, audit_id) = (fields.next().unwrap(), fields.next().unwrap());
        let rules: BTreeSet<String> = fields.collect();
        for rule in &rules {
            assert!(
                rules::rule(rule).is_some(),
                "{}: unknown rule {rule}",
                dir.display()
            );
        }
        assert!(!rules.is_empty(), "{}:{}: no rule", dir.display(), n + 1);
        declared.insert((file, audit_id), rules);
    }
    declared
}

/// Checks one fixture file against every rule: each request fires exactly its own rule (when
/// `own` says so for its auditID) and the declared others. Returns the requests checked; adds
/// each request that fired otherwise to `problems`.
fn check_fixture(
    dir: &Path,
    file: &str,
    own: impl Fn(&str) -> bool,
    problems: &mut Vec<String>,
) -> usize {
    let id = dir.file_name().unwrap().to_str().unwrap();
    assert!(rules::rule(id).is_some(), "fixture for unknown rule {id}");
    let declared = declared_others(dir);
    let results = analyse(&dir.join(file), config_for(dir));
    assert!(!results.is_empty(), "{id}/{file}: no request");
    for (audit_id, hits) in &results {
        let mut expected: BTreeSet<&str> = declared
            .get(&(file.to_string(), audit_id.clone()))
            .map(|rules| rules.iter().map(String::as_str).collect())
            .unwrap_or_default();
        assert!(
            !expected.contains(id),
            "{id}/{file}: other-rules.txt declares the rule itself for {audit_id}"
        );
        if own(audit_id) {
            expected.insert(id);
        }
        let fired: BTreeSet<&str> = hits.iter().copied().collect();
        if fired != expected {
            problems.push(format!(
                "{id}/{file} {audit_id}: fired {fired:?}, expected {expected:?}"
            ));
        }
    }
    // Declarations name requests that exist.
    for (declared_file, audit_id) in declared.keys() {
        if declared_file == file {
            assert!(
                results.iter().any(|(a, _)| a == audit_id),
                "{id}/other-rules.txt names {audit_id}, not in {file}"
            );
        }
    }
    results.len()
}

/// Where a fixture folder has `messages.txt` (lines `AUDITID TEXT`), the rule's message on each
/// named request of `positive.ndjson` contains that text (or, for `AUDITID = TEXT`, is that
/// text): what a finding says is part of the rule, not only whether it fires.
#[test]
fn messages_say_what_the_marked_requests_did() {
    let mut checked = 0;
    for dir in fixture_dirs() {
        let Ok(text) = std::fs::read_to_string(dir.join("messages.txt")) else {
            continue;
        };
        let id = dir.file_name().unwrap().to_str().unwrap().to_string();
        let path = dir.join("positive.ndjson");
        let bytes = std::fs::read(&path).unwrap();
        let mut analysis = Analysis::new(Limits::default()).with_rules(config_for(&dir));
        let file = analysis.add_file("positive.ndjson");
        analysis.push(file, &bytes);
        analysis.finish();
        for line in text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let (audit_id, expected) = line.split_once(' ').unwrap();
            let request = analysis
                .interner()
                .get_audit_id(audit_id)
                .unwrap_or_else(|| panic!("{id}/messages.txt: no request {audit_id}"));
            let message = analysis
                .rule_hits(request)
                .iter()
                .find(|h| h.rule == id)
                .map(|h| h.message.clone())
                .unwrap_or_else(|| panic!("{id}: no hit on {audit_id}"));
            match expected.strip_prefix("= ") {
                Some(whole) => assert_eq!(message, whole, "{id} {audit_id}"),
                None => assert!(
                    message.contains(expected),
                    "{id} {audit_id}: {message:?} does not say {expected:?}"
                ),
            }
            checked += 1;
        }
    }
    assert!(checked >= 5, "{checked} messages checked");
}

fn fixture_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn positive_fixtures_fire_their_rule_on_the_marked_requests_and_no_undeclared_rule() {
    let (mut marked, mut problems) = (0, Vec::new());
    for dir in fixture_dirs() {
        let hit = |audit_id: &str| audit_id.starts_with("hit");
        check_fixture(&dir, "positive.ndjson", hit, &mut problems);
        let hits = analyse(&dir.join("positive.ndjson"), config_for(&dir))
            .iter()
            .filter(|(a, _)| a.starts_with("hit"))
            .count();
        assert!(
            hits > 0,
            "{}: the positive fixture marks no request",
            dir.display()
        );
        marked += hits;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(marked > 50, "{marked} marked requests");
}

#[test]
fn negative_fixtures_fire_neither_their_rule_nor_any_undeclared_one() {
    let (mut checked, mut problems) = (0, Vec::new());
    for dir in fixture_dirs() {
        checked += check_fixture(&dir, "negative.ndjson", |_| false, &mut problems);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked > 50, "{checked} requests");
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

/// What every rule says of every request of every fixture file, positive and negative: a
/// finding's words name what the request did, so a change to any message shows here (`cargo
/// insta review` after a deliberate one). `messages.txt` states the point of a message; this
/// holds every one of them.
#[test]
fn every_message_on_the_fixtures_is_as_reviewed() {
    let mut text = String::new();
    for dir in fixture_dirs() {
        let id = dir.file_name().unwrap().to_str().unwrap().to_string();
        for name in ["positive.ndjson", "negative.ndjson"] {
            let Ok(bytes) = std::fs::read(dir.join(name)) else {
                continue;
            };
            let mut analysis = Analysis::new(Limits::default()).with_rules(config_for(&dir));
            let file = analysis.add_file(name);
            analysis.push(file, &bytes);
            analysis.finish();
            let interner = analysis.interner();
            for request in analysis.requests() {
                let who = match request.audit_id.absent_key() {
                    Some(_) => interner.resolve(request.name).to_string(),
                    None => interner.audit_id_text(request.audit_id).into_owned(),
                };
                for hit in analysis.rule_hits(request.audit_id) {
                    text.push_str(&format!(
                        "{id}/{name} {who} {}: {}\n",
                        hit.rule, hit.message
                    ));
                }
            }
        }
    }
    insta::assert_snapshot!("fixture_messages", text);
}

/// A request by mallory at `time` that no sequence rule completes a pattern with.
fn filler(id: &str, time: &str) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/prod/pods/web-1/exec","verb":"get","user":{{"username":"mallory","groups":["system:authenticated"]}},"sourceIPs":["203.0.113.9"],"userAgent":"kubectl/v1.30.0","objectRef":{{"resource":"pods","namespace":"prod","name":"web-1","subresource":"exec","apiVersion":"v1"}},"responseStatus":{{"code":101}},"requestReceivedTimestamp":"{time}","stageTimestamp":"{time}","annotations":{{"authorization.k8s.io/decision":"allow"}}}}"#
    ) + "\n"
}

/// The sequence rules' own fixtures, one after another: bursts and probes that span up to five
/// minutes, with the watch's once-a-minute sweep of old windows and its string compaction
/// running between their steps.
#[test]
fn sequence_rules_fire_in_a_watch_across_sweeps_and_compactions() {
    let sequence_rules = [
        "k8s.secret.burst",
        "k8s.anonymous.enumeration",
        "k8s.sequence.rbac_then_workload",
        "k8s.discovery.multi_resource",
    ];
    let mut log = Vec::new();
    for (i, rule) in sequence_rules.iter().enumerate() {
        // Each file numbers its requests from hit-1; keep them apart.
        let text = std::fs::read_to_string(fixtures().join(rule).join("positive.ndjson")).unwrap();
        log.extend(
            text.replace("\"auditID\":\"", &format!("\"auditID\":\"{i}-"))
                .into_bytes(),
        );
    }
    // In time order, with a request between the steps of the RBAC-then-workload pattern so
    // that a sweep runs while its first step waits.
    log.extend(filler("filler", "2026-03-02T10:01:30.000000Z").into_bytes());
    let received = |line: &[u8]| -> Vec<u8> {
        let text = String::from_utf8_lossy(line);
        let at = text.find("\"requestReceivedTimestamp\":\"").unwrap();
        text[at..at + 60].as_bytes().to_vec()
    };
    let mut lines: Vec<&[u8]> = log.split_inclusive(|&b| b == b'\n').collect();
    lines.sort_by_key(|line| received(line));
    let log = lines.concat();
    let baseline = Analysis::new(Limits::default()).baseline();
    let hits = |findings: &[Finding]| -> BTreeSet<(String, String)> {
        findings
            .iter()
            .flat_map(|f| {
                f.reasons
                    .iter()
                    .filter(|r| {
                        sequence_rules
                            .iter()
                            .any(|s| r.message.starts_with(&format!("rule {s} ")))
                    })
                    .map(|r| (f.request_key().to_string(), r.message.clone()))
            })
            .collect()
    };
    let mut analysis = Analysis::new(Limits::default())
        .with_baseline(baseline.clone())
        .without_hindsight();
    let file = analysis.add_file("fixtures.log");
    analysis.push(file, &log);
    analysis.finish();
    let expected = hits(analysis.findings());
    assert!(expected.len() >= 8, "{expected:#?}");
    // The default spans judge each request within seconds of log time, so the sweep runs
    // between the steps of a pattern.
    let options = WatchOptions {
        compact_after: 20,
        ..WatchOptions::default()
    };
    let mut watch = Watch::new(
        Limits::default(),
        RuleConfig::default(),
        Some(baseline),
        options,
    );
    let file = watch.add_source("fixtures.log");
    let mut alerts = Vec::new();
    for line in log.split_inclusive(|&b| b == b'\n') {
        watch.push(file, line, 0);
        alerts.extend(watch.advance(0));
    }
    watch.end_source(file, 0);
    alerts.extend(watch.flush());
    assert!(
        watch.footprint().compactions >= 2,
        "{:?}",
        watch.footprint()
    );
    let found = hits(&alerts.into_iter().map(|a| a.finding).collect::<Vec<_>>());
    assert_eq!(found, expected);

    // Ten quiet minutes later every window is past completing a pattern, and gone.
    // The last requests, 401s from one client, keep two windows open: its probe, and its
    // reads of cluster objects. Every earlier one is more than five minutes old.
    assert_eq!(watch.footprint().sequence_windows, 2);
    let file = watch.add_source("later.log");
    let later = "2026-03-02T12:40:00.000000Z";
    watch.push(file, filler("later", later).as_bytes(), 0);
    watch.end_source(file, 0);
    watch.flush();
    assert_eq!(
        watch.footprint().sequence_windows,
        1,
        "the later request's own window"
    );
}
