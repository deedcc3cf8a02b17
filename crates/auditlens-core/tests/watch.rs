//! Watching logs as they are written: each request judged as an analysis of the whole log
//! judges it without hindsight, whatever the chunking and the clock; stages merged or dropped
//! when late; out-of-order events reordered; a restart from a saved state neither repeats nor
//! skips a request; a bad line is a diagnostic and the watch goes on.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::collections::BTreeSet;

use auditlens_core::report::Finding;
use auditlens_core::rules::RuleConfig;
use auditlens_core::watch::{Alert, Watch, WatchOptions, WatchState};
use auditlens_core::{Analysis, Baseline, Limits, Severity};
use auditlens_sim::{SimConfig, Simulator};

const SECOND: i64 = 1_000_000;

/// The demo cluster's two days: the first (a baseline) and the second (with the attacks).
fn two_days() -> (Vec<u8>, Vec<u8>) {
    let config = SimConfig::demo();
    let midnight = (config.start_unix / 86_400 + 1) * 86_400;
    let mut sim = Simulator::new(config);
    let mut log = Vec::new();
    while sim.next_line(&mut log) {}
    let day = chrono_free_day_of_line;
    let mut first = Vec::new();
    let mut second = Vec::new();
    for line in log.split_inclusive(|&b| b == b'\n') {
        if day(line) < midnight {
            first.extend_from_slice(line);
        } else {
            second.extend_from_slice(line);
        }
    }
    (first, second)
}

/// The Unix time of a simulated line's `requestReceivedTimestamp`.
fn chrono_free_day_of_line(line: &[u8]) -> i64 {
    let value: serde_json::Value = serde_json::from_slice(line).unwrap();
    let text = value["requestReceivedTimestamp"].as_str().unwrap();
    auditlens_core::time::parse_rfc3339(text).unwrap() / SECOND
}

fn baseline_of(log: &[u8]) -> Baseline {
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file("day1.log");
    analysis.push(file, log);
    analysis.finish();
    analysis.baseline()
}

fn analysed(log: &[u8], baseline: Baseline, hindsight: bool) -> Vec<Finding> {
    let mut analysis = Analysis::new(Limits::default()).with_baseline(baseline);
    if !hindsight {
        analysis = analysis.without_hindsight();
    }
    let file = analysis.add_file("day2.log");
    analysis.push(file, log);
    analysis.finish();
    analysis.findings().to_vec()
}

/// Pushes `log` in `chunk`-byte pieces, advancing the log's clock only (`now` stays 0), and
/// flushes at the end.
fn watched(log: &[u8], chunk: usize, baseline: Baseline, options: WatchOptions) -> Vec<Alert> {
    let mut watch = Watch::new(
        Limits::default(),
        RuleConfig::default(),
        Some(baseline),
        options,
    );
    let file = watch.add_source("day2.log");
    let mut alerts = Vec::new();
    for piece in log.chunks(chunk) {
        watch.push(file, piece, 0);
        alerts.extend(watch.advance(0));
    }
    watch.end_source(file, 0);
    alerts.extend(watch.flush());
    alerts
}

/// Findings in one order, without incident numbers (a watch's incidents are still open).
fn comparable(mut findings: Vec<Finding>) -> Vec<Finding> {
    for f in &mut findings {
        f.incident = None;
    }
    findings.sort_by(|a, b| {
        (&a.timestamp, &a.file, a.line, a.request_key()).cmp(&(
            &b.timestamp,
            &b.file,
            b.line,
            b.request_key(),
        ))
    });
    findings
}

/// Long enough that every request's stages are merged before it is judged, and that a
/// request logged only when it completed (a watch held ten minutes, written after requests
/// received later) is still judged in time order, as in a whole log's analysis.
fn patient() -> WatchOptions {
    WatchOptions {
        wait: 3600 * SECOND,
        reorder: 3600 * SECOND,
        ..WatchOptions::default()
    }
}

#[test]
fn a_watch_judges_each_request_as_an_analysis_without_hindsight_does() {
    let (day1, day2) = two_days();
    let baseline = baseline_of(&day1);
    let expected = comparable(analysed(&day2, baseline.clone(), false));
    let alerts = watched(&day2, 4096, baseline.clone(), patient());
    let found = comparable(alerts.iter().map(|a| a.finding.clone()).collect());
    assert!(
        expected
            .iter()
            .filter(|f| f.severity >= Severity::High)
            .count()
            >= 3,
        "the attacks of the second day give high findings"
    );
    let differ = |a: &[Finding], b: &[Finding]| -> Vec<String> {
        let keys: BTreeSet<String> = b.iter().map(|f| format!("{f:?}")).collect();
        a.iter()
            .map(|f| format!("{f:?}"))
            .filter(|k| !keys.contains(k))
            .take(3)
            .collect()
    };
    assert!(
        found == expected,
        "{} found, {} expected; only found: {:#?}; only expected: {:#?}",
        found.len(),
        expected.len(),
        differ(&found, &expected),
        differ(&expected, &found)
    );
    // With hindsight, the whole-log analysis differs only in findings it revised: those its
    // window model or fleet check touched.
    let hindsight_codes = ["window-anomaly", "fleet-wide-change"];
    let revised = |f: &Finding| {
        f.reasons
            .iter()
            .any(|r| hindsight_codes.contains(&r.code.as_str()))
    };
    let full = comparable(analysed(&day2, baseline, true));
    let watched_keys: BTreeSet<&str> = found.iter().map(Finding::request_key).collect();
    for finding in full.iter().filter(|f| !revised(f)) {
        assert!(
            watched_keys.contains(finding.request_key()),
            "{} is in the whole-log analysis without any revision, so the watch finds it",
            finding.request_key()
        );
    }
}

#[test]
fn compacting_the_strings_changes_no_finding() {
    let (day1, day2) = two_days();
    let baseline = baseline_of(&day1);
    let mut options = patient();
    let plain = watched(&day2, 4096, baseline.clone(), options);
    options.compact_after = 500;
    let mut watch = Watch::new(
        Limits::default(),
        RuleConfig::default(),
        Some(baseline),
        options,
    );
    let file = watch.add_source("day2.log");
    let mut compacted = Vec::new();
    for piece in day2.chunks(4096) {
        watch.push(file, piece, 0);
        compacted.extend(watch.advance(0));
    }
    watch.end_source(file, 0);
    compacted.extend(watch.flush());
    let footprint = watch.footprint();
    assert!(footprint.compactions >= 2, "{footprint:?}");
    assert!(
        plain == compacted,
        "{} and {} alerts",
        plain.len(),
        compacted.len()
    );
}

#[test]
fn chunk_sizes_and_the_default_spans_do_not_change_rule_findings() {
    let (day1, day2) = two_days();
    let baseline = baseline_of(&day1);
    let whole = watched(&day2, day2.len(), baseline.clone(), patient());
    let small = watched(&day2, 7, baseline.clone(), patient());
    if whole != small {
        let n = whole.iter().zip(&small).take_while(|(a, b)| a == b).count();
        panic!(
            "7-byte chunks give the same alerts as one: {} and {}, first difference at {n}: {:#?} {:#?}",
            whole.len(),
            small.len(),
            whole.get(n),
            small.get(n)
        );
    }
    // With the default ten-second wait, requests held open for minutes (watches) are judged
    // before their last stage; what the rules flag stays the same.
    let default = watched(&day2, 4096, baseline, WatchOptions::default());
    let ruled = |alerts: &[Alert]| -> BTreeSet<(String, Vec<String>)> {
        alerts
            .iter()
            .filter(|a| !a.finding.rules.is_empty())
            .map(|a| (a.finding.request_key().to_string(), a.finding.rules.clone()))
            .collect()
    };
    assert_eq!(ruled(&default), ruled(&whole));
}

fn event(id: &str, stage: &str, time: &str, verb: &str, uri: &str) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"{stage}","requestURI":"{uri}","verb":"{verb}","user":{{"username":"mallory","groups":["system:authenticated"]}},"sourceIPs":["203.0.113.9"],"userAgent":"kubectl/v1.30.0","objectRef":{{"resource":"pods","namespace":"prod","name":"web-1","subresource":"exec","apiVersion":"v1"}},"responseStatus":{{"code":101}},"requestReceivedTimestamp":"{time}","stageTimestamp":"{time}","annotations":{{"authorization.k8s.io/decision":"allow"}}}}"#
    ) + "\n"
}

const EXEC: &str =
    "/api/v1/namespaces/prod/pods/web-1/exec?command=sh&container=web&stdin=true&tty=true";

#[test]
fn stages_merge_while_held_and_a_late_stage_is_dropped_not_judged_again() {
    let options = WatchOptions::default();
    let mut watch = Watch::new(Limits::default(), RuleConfig::default(), None, options);
    let file = watch.add_source("audit.log");
    let a = "aaaaaaaa-0000-4000-8000-000000000001";
    watch.push(
        file,
        event(
            a,
            "RequestReceived",
            "2026-03-02T03:10:00.000000Z",
            "create",
            EXEC,
        )
        .as_bytes(),
        0,
    );
    assert!(
        watch.advance(SECOND).is_empty(),
        "held: its last stage may still come"
    );
    watch.push(
        file,
        event(
            a,
            "ResponseStarted",
            "2026-03-02T03:10:00.100000Z",
            "create",
            EXEC,
        )
        .as_bytes(),
        SECOND,
    );
    assert_eq!(watch.held(), 1, "the second stage joined the first");
    assert!(watch.advance(5 * SECOND).is_empty());
    // No last stage within the wait: judged with what it has.
    let alerts = watch.advance(11 * SECOND);
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0].finding.rules.iter().any(|r| r.contains("exec")),
        "{:?}",
        alerts[0].finding.rules
    );
    assert_eq!(watch.held(), 0);
    // The session ends minutes later: its last stage is not a new request.
    watch.push(
        file,
        event(
            a,
            "ResponseComplete",
            "2026-03-02T03:25:00.000000Z",
            "create",
            EXEC,
        )
        .as_bytes(),
        900 * SECOND,
    );
    assert!(watch.advance(1000 * SECOND).is_empty());
    assert!(watch.flush().is_empty());
    let counts = watch.counts();
    assert_eq!(
        (counts.events, counts.judged, counts.late_stages),
        (3, 1, 1)
    );
}

#[test]
fn events_written_out_of_order_within_the_span_are_judged_in_time_order() {
    let mut watch = Watch::new(
        Limits::default(),
        RuleConfig::default(),
        None,
        WatchOptions::default(),
    );
    let file = watch.add_source("audit.log");
    let later = event(
        "aaaaaaaa-0000-4000-8000-000000000002",
        "ResponseComplete",
        "2026-03-02T03:10:01.000000Z",
        "create",
        EXEC,
    );
    let earlier = event(
        "aaaaaaaa-0000-4000-8000-000000000003",
        "ResponseComplete",
        "2026-03-02T03:10:00.500000Z",
        "create",
        EXEC,
    );
    watch.push(file, later.as_bytes(), 0);
    watch.push(file, earlier.as_bytes(), SECOND);
    let alerts = watch.advance(4 * SECOND);
    let times: Vec<&str> = alerts
        .iter()
        .map(|a| a.finding.timestamp.as_str())
        .collect();
    assert_eq!(
        times,
        ["2026-03-02T03:10:00.500000Z", "2026-03-02T03:10:01.000000Z"]
    );
    assert_eq!(
        alerts[0].group, alerts[1].group,
        "one actor's findings a second apart are one incident"
    );
}

#[test]
fn a_bad_line_is_a_diagnostic_with_its_line_and_the_watch_goes_on() {
    let mut watch = Watch::new(
        Limits::default(),
        RuleConfig::default(),
        None,
        WatchOptions::default(),
    );
    let file = watch.add_source("audit.log");
    let good = event(
        "aaaaaaaa-0000-4000-8000-000000000004",
        "ResponseComplete",
        "2026-03-02T03:10:00.000000Z",
        "create",
        EXEC,
    );
    let after = event(
        "aaaaaaaa-0000-4000-8000-000000000005",
        "ResponseComplete",
        "2026-03-02T03:10:02.000000Z",
        "create",
        EXEC,
    );
    watch.push(file, good.as_bytes(), 0);
    watch.push(file, b"{\"kind\":\"Event\",\"auditID\": tru\n", 0);
    watch.push(file, after.as_bytes(), 0);
    let alerts = watch.flush();
    assert_eq!(alerts.len(), 2, "both good requests are judged");
    let diagnostics = watch.take_diagnostics();
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(
        (diagnostics[0].file.as_str(), diagnostics[0].line),
        ("audit.log", 2)
    );
}

#[test]
fn a_restart_from_the_saved_state_neither_repeats_nor_skips_a_request() {
    let (day1, day2) = two_days();
    let baseline = baseline_of(&day1);
    let options = WatchOptions::default();
    let straight = watched(&day2, 4096, baseline.clone(), options);
    // Stop halfway, mid-line, with requests still held.
    let cut = day2.len() / 2 + 17;
    let mut first = Watch::new(
        Limits::default(),
        RuleConfig::default(),
        Some(baseline),
        options,
    );
    let file = first.add_source("day2.log");
    let mut alerts = Vec::new();
    for piece in day2[..cut].chunks(4096) {
        first.push(file, piece, 0);
        alerts.extend(first.advance(0));
    }
    assert!(first.held() > 0, "the cut leaves requests held");
    let judged_before = first.counts().judged;
    let saved: WatchState =
        serde_json::from_str(&serde_json::to_string(&first.state(0)).unwrap()).unwrap();
    drop(first);
    let position = &saved.positions[0];
    assert!(position.offset < cut as u64);
    assert_eq!(
        day2[position.offset as usize - 1],
        b'\n',
        "it resumes at a line's start"
    );
    let mut second = Watch::new(Limits::default(), RuleConfig::default(), None, options);
    second.restore(&saved).unwrap();
    let file = second.add_source_at("day2.log", position.offset, position.line);
    for piece in day2[position.offset as usize..].chunks(4096) {
        second.push(file, piece, 0);
        alerts.extend(second.advance(0));
    }
    second.end_source(file, 0);
    alerts.extend(second.flush());
    let straight_judged = {
        let mut w = Watch::new(
            Limits::default(),
            RuleConfig::default(),
            Some(baseline_of(&day1)),
            options,
        );
        let f = w.add_source("day2.log");
        w.push(f, &day2, 0);
        w.end_source(f, 0);
        w.flush();
        w.counts().judged
    };
    assert_eq!(
        judged_before + second.counts().judged,
        straight_judged,
        "every request judged once"
    );
    let keys: Vec<&str> = alerts.iter().map(|a| a.finding.request_key()).collect();
    let distinct: BTreeSet<&str> = keys.iter().copied().collect();
    assert_eq!(keys.len(), distinct.len(), "no finding repeated");
    let with_rules = |alerts: &[Alert]| -> BTreeSet<(String, Vec<String>, u64)> {
        alerts
            .iter()
            .filter(|a| !a.finding.rules.is_empty())
            .map(|a| {
                (
                    a.finding.request_key().to_string(),
                    a.finding.rules.clone(),
                    a.finding.line,
                )
            })
            .collect()
    };
    assert_eq!(
        with_rules(&alerts),
        with_rules(&straight),
        "no rule finding lost or moved"
    );
}
