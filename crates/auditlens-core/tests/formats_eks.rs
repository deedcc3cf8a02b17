//! EKS: every CloudWatch Logs shape of the same 40 audit events (one cut short by EKS) gives
//! the events the native log gives, in any chunking, with the format named.
//!
//! Fixtures: tests/fixtures/formats (see its README and generate.py).

#![allow(clippy::disallowed_methods, clippy::unwrap_used)]

mod formats_support;

use auditlens_core::DiagnosticKind;
use formats_support::*;

fn reference() -> auditlens_core::Analysis {
    analyze("eks-native.ndjson", &fixture("eks-native.ndjson"))
}

/// Reads a fixture (decompressed when it is gzip), checks it against the native reference,
/// its accounting and chunk invariance, and returns its analysis.
fn check(name: &str, lines_layout: bool) -> auditlens_core::Analysis {
    let raw = fixture(name);
    let analysis = analyze(name, &raw);
    let want = reference();
    assert_same_requests(name, &analysis, &want);
    let s = analysis.summary();
    assert_eq!(s.events, want.summary().events, "{name}");
    assert_eq!(s.rejected, 0, "{name}: {:?}", analysis.diagnostics());
    assert_accounted(&s, lines_layout);
    // The event EKS cut short is kept, flagged, and reported, as in the native log.
    let truncated = analysis.requests().iter().filter(|e| e.truncated).count();
    assert_eq!(truncated, 1, "{name}");
    let warnings: Vec<_> = analysis
        .diagnostics()
        .iter()
        .filter(|d| d.kind == DiagnosticKind::TruncatedEvent)
        .collect();
    assert_eq!(warnings.len(), 1, "{name}: {:?}", analysis.diagnostics());
    assert!(warnings[0].line > 0 && warnings[0].file == name);
    let plain = if raw.starts_with(&[0x1f, 0x8b]) {
        gunzip(&raw)
    } else {
        raw
    };
    assert_chunk_invariant(name, &plain);
    analysis
}

#[test]
fn logs_insights_json_export() {
    let analysis = check("eks-insights.json", false);
    let file = &analysis.summary().files[0];
    assert_eq!(
        file.detected,
        format!(
            "EKS CloudWatch Logs Insights JSON export, {} events",
            reference().summary().events
        )
    );
    assert_eq!(file.context["cluster"], ["demo-cluster"]);
    assert_eq!(file.context["log group"], ["/aws/eks/demo-cluster/cluster"]);
}

#[test]
fn logs_insights_csv_export_skips_its_header() {
    let analysis = check("eks-insights.csv", true);
    let file = &analysis.summary().files[0];
    assert_eq!(file.format, "EKS CloudWatch Logs Insights CSV export");
    assert_eq!(file.skipped, 1, "the header line");
    assert_eq!(file.records, file.events + 1);
}

#[test]
fn filter_log_events_output() {
    let analysis = check("eks-filter-log-events.json", false);
    assert_eq!(
        analysis.summary().files[0].format,
        "EKS CloudWatch Logs filter-log-events output"
    );
    // The same output on one line (`--output json | jq -c`) is one record holding them all.
    let value: serde_json::Value =
        serde_json::from_slice(&fixture("eks-filter-log-events.json")).unwrap();
    let one_line = format!("{}\n", serde_json::to_string(&value).unwrap());
    let compact = analyze("compact.json", one_line.as_bytes());
    assert_same_requests("compact.json", &compact, &reference());
    let s = compact.summary();
    assert_eq!((s.records, s.accepted), (1, 1));
    assert_chunk_invariant("compact.json", one_line.as_bytes());
}

#[test]
fn s3_export_lines_in_any_order() {
    let analysis = check("eks-s3-export.gz", true);
    assert_eq!(
        analysis.summary().files[0].format,
        "EKS CloudWatch Logs export to S3 (gzip)"
    );
    // The requests come out in time order although the lines are not.
    assert!(analysis
        .requests()
        .windows(2)
        .all(|w| w[0].received <= w[1].received));
}

#[test]
fn firehose_subscription_records_back_to_back() {
    let analysis = check("eks-firehose.gz", false);
    let file = &analysis.summary().files[0];
    assert_eq!(
        file.format,
        "EKS CloudWatch Logs subscription records, Firehose (gzip)"
    );
    assert_eq!(file.skipped, 1, "the control message's log event");
    assert_eq!(file.context["cluster"], ["demo-cluster"]);
}

#[test]
fn subscription_messages_one_a_line() {
    // Firehose can also put a newline after each record: then each line is one message.
    let plain = gunzip(&fixture("eks-firehose.gz"));
    let stream = serde_json::Deserializer::from_slice(&plain).into_iter::<serde_json::Value>();
    let mut lines = String::new();
    for message in stream {
        lines.push_str(&serde_json::to_string(&message.unwrap()).unwrap());
        lines.push('\n');
    }
    let analysis = analyze("firehose.jsonl", lines.as_bytes());
    assert_same_requests("firehose.jsonl", &analysis, &reference());
    let s = analysis.summary();
    assert_eq!(s.files[0].skipped, 1, "the control message");
    assert_eq!(s.accepted, s.records - 1);
    assert_accounted(&s, true);
    assert_chunk_invariant("firehose.jsonl", lines.as_bytes());
    // With no separator at all, and no gzip, the objects are still told apart.
    let joined: String = lines.lines().collect();
    let analysis = analyze("firehose.json", joined.as_bytes());
    assert_same_requests("firehose.json", &analysis, &reference());
    assert_chunk_invariant("firehose.json", joined.as_bytes());
}

#[test]
fn a_log_event_cut_before_its_audit_id_is_reported_not_dropped_silently() {
    let line =
        r#"{"events":[{"timestamp":1,"message":"{\"kind\":\"Event\",\"apiVe[Truncated...]"}]}"#;
    let analysis = analyze("cut.json", format!("{line}\n").as_bytes());
    let s = analysis.summary();
    assert_eq!((s.records, s.rejected, s.events), (1, 1, 0));
    let d = &analysis.diagnostics()[0];
    assert_eq!(d.kind, DiagnosticKind::TruncatedEvent);
    assert_eq!((d.line, d.offset), (1, 0));
    assert!(d.message.contains("item 0 of the `events` list"), "{d}");
}
