//! Log shippers (Fluentd / Fluent Bit, Vector, Loki) around the Falco events give the events
//! the native log gives; and what no format fits is named, with what was expected.

#![allow(clippy::disallowed_methods, clippy::unwrap_used)]

mod formats_support;

use auditlens_core::{DiagnosticKind, DiagnosticSeverity};
use formats_support::*;

fn reference() -> auditlens_core::Analysis {
    analyze("falco-native.ndjson", &fixture("falco-native.ndjson"))
}

#[test]
fn shipper_records_match_the_native_events() {
    let native = reference();
    let cases = [
        ("fluent-bit.jsonl", "Fluentd/Fluent Bit records"),
        ("vector.jsonl", "Vector records"),
        (
            "loki.jsonl",
            "Loki logcli JSON lines holding Fluentd/Fluent Bit records",
        ),
    ];
    for (name, format) in cases {
        let bytes = fixture(name);
        let analysis = analyze(name, &bytes);
        assert_same_requests(name, &analysis, &native);
        let s = analysis.summary();
        assert_eq!(
            s.files[0].detected,
            format!("{format}, {} events", native.summary().events)
        );
        assert_eq!(s.rejected, 0, "{name}: {:?}", analysis.diagnostics());
        assert_accounted(&s, true);
        // The event cut short inside its wrapper is kept and flagged, as natively.
        assert_eq!(
            analysis.requests().iter().filter(|e| e.truncated).count(),
            1,
            "{name}"
        );
        assert_chunk_invariant(name, &bytes);
    }
}

#[test]
fn wrappers_nest_only_so_deep() {
    let event = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a1","verb":"get","requestURI":"/healthz"}"#;
    let wrap = |inner: &str| serde_json::json!({ "log": inner }).to_string();
    let mut value = event.to_string();
    for _ in 0..3 {
        value = wrap(&value);
    }
    let analysis = analyze("deep.jsonl", format!("{value}\n").as_bytes());
    assert_eq!(analysis.summary().events, 1, "{:?}", analysis.diagnostics());
    value = wrap(&value);
    let analysis = analyze("deeper.jsonl", format!("{value}\n").as_bytes());
    let s = analysis.summary();
    assert_eq!((s.events, s.rejected), (0, 1));
    assert!(
        analysis.diagnostics()[0].message.contains("levels deep"),
        "{:?}",
        analysis.diagnostics()
    );
}

#[test]
fn a_wrapper_around_something_else_says_so() {
    let lines = concat!(
        r#"{"log":"I0506 10:00:00.000000 1 controller.go:42] started\n","stream":"stderr"}"#,
        "\n",
        r#"{"line":"{\"kind\":\"Pod\",\"apiVersion\":\"v1\"}","labels":{}}"#,
        "\n",
    );
    let analysis = analyze("mixed.jsonl", lines.as_bytes());
    let found: Vec<(u64, DiagnosticKind, &str)> = analysis
        .diagnostics()
        .iter()
        .filter(|d| d.severity == DiagnosticSeverity::Error)
        .map(|d| (d.line, d.kind, d.message.as_str()))
        .collect();
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0].0, 1);
    assert!(found[0]
        .2
        .starts_with("the `log` of this Fluentd/Fluent Bit record holds no audit event: not JSON"));
    assert_eq!(found[1].0, 2);
    assert!(
        found[1].2.contains("an object of kind \"Pod\""),
        "{}",
        found[1].2
    );
    assert!(
        found[2]
            .2
            .contains("look like Fluentd/Fluent Bit records and Loki logcli records"),
        "{}",
        found[2].2
    );
}

#[test]
fn a_file_matching_nothing_says_what_was_expected() {
    let analysis = analyze(
        "app.jsonl",
        b"{\"level\":\"info\",\"msg\":\"started\"}\nplain text\n",
    );
    let last = analysis.diagnostics().last().unwrap();
    assert_eq!(last.kind, DiagnosticKind::NotAuditEvent);
    for expected in [
        "no audit events found in app.jsonl (JSON lines)",
        "audit.k8s.io Events",
        "Logs Insights",
        "GKE Cloud Audit Logs",
        "AKS kube-audit",
        "Loki",
    ] {
        assert!(last.message.contains(expected), "{expected}: {last}");
    }
    let s = analysis.summary();
    assert_eq!(s.files[0].detected, "JSON lines, no audit events");
    // Each line keeps the reason the native parser gave.
    assert!(analysis.diagnostics()[0]
        .message
        .contains("without an auditID"));
    assert!(analysis.diagnostics()[1].message.starts_with("not JSON"));
}

#[test]
fn mixed_files_name_every_shape_they_hold() {
    let mut bytes = fixture("falco-native.ndjson");
    let fluent = fixture("fluent-bit.jsonl");
    bytes.extend(fluent.split(|&b| b == b'\n').take(2).flat_map(|l| {
        let mut l = l.to_vec();
        l.push(b'\n');
        l
    }));
    let analysis = analyze("mixed.ndjson", &bytes);
    let s = analysis.summary();
    let native_events = reference().summary().events;
    assert_eq!(
        s.files[0].detected,
        format!(
            "Kubernetes audit events, JSON lines, {native_events} events; also Fluentd/Fluent \
             Bit records, 2 events"
        )
    );
    assert_eq!(s.files[0].format, "JSON lines");
}

#[test]
fn batches_nest_only_so_deep() {
    let mut value =
        serde_json::json!({"kind":"Event","auditID":"a1","verb":"get","requestURI":"/"});
    for _ in 0..3 {
        value = serde_json::json!({ "records": [value] });
    }
    let analysis = analyze("nested.json", format!("{value}\n").as_bytes());
    assert_eq!(analysis.summary().events, 1, "{:?}", analysis.diagnostics());
    for _ in 0..40 {
        value = serde_json::json!({ "records": [value] });
    }
    let analysis = analyze("deeper.json", format!("{value}\n").as_bytes());
    let s = analysis.summary();
    assert_eq!(
        (s.events, s.rejected),
        (0, 1),
        "{:?}",
        analysis.diagnostics()
    );
    assert!(analysis.diagnostics()[0].message.contains("levels deep"));
}
