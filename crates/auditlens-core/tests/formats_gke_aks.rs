//! GKE and AKS: Cloud Audit Logs entries and Azure diagnostic records and tables give the
//! events the native log of the same requests gives (for GKE, in the fields GKE carries).
//!
//! The AKS records are real (tests/fixtures/third-party/aks-sysdig); the other fixtures are built from
//! native events by tests/fixtures/formats/generate.py.

#![allow(clippy::disallowed_methods, clippy::unwrap_used)]

mod formats_support;

use auditlens_core::ingest::is_managed_control_plane;
use auditlens_core::{Analysis, DiagnosticKind, Event};
use formats_support::*;

/// The fields a GKE entry carries, resolved. GKE logs one source address, no groups, no
/// request URI or stage timestamp, and a gRPC status that says success for any 1xx-3xx code.
fn gke_view(analysis: &Analysis, e: &Event) -> String {
    let i = analysis.interner();
    let first_ip = i.resolve(e.source_ip(i));
    // gRPC has one code for success (101, 200, 201 alike); errors keep theirs.
    let code = match e.code {
        0..400 => "success".to_string(),
        other => other.to_string(),
    };
    // A namespace's own requests name it as their namespace in GKE's resource name.
    let namespace = if i.resolve(e.resource) == "namespaces" {
        "-"
    } else {
        i.resolve(e.namespace)
    };
    format!(
        "{} {:?} recv={} user={} {} {}/{} {}/{} ns={} name={} ip={} ua={} {} {} code={} {:?} \
         reason={}",
        i.audit_id_text(e.audit_id),
        e.stage,
        e.received,
        i.resolve(e.user),
        i.resolve(e.verb),
        i.resolve(e.api_group),
        i.resolve(e.api_version),
        i.resolve(e.resource),
        i.resolve(e.subresource),
        namespace,
        i.resolve(e.name),
        first_ip,
        i.resolve(e.user_agent),
        i.resolve(e.client),
        i.resolve(e.client_version),
        code,
        e.decision,
        i.resolve(e.reason),
    )
}

fn gke_views(analysis: &Analysis) -> Vec<String> {
    let mut out: Vec<String> = analysis
        .requests()
        .iter()
        .map(|e| gke_view(analysis, e))
        .collect();
    out.sort();
    out
}

#[test]
fn gke_entries_match_the_native_events_in_what_gke_carries() {
    let native = analyze("events.ndjson", &corpus("falco/events.ndjson"));
    for (name, array) in [("gke-read.json", true), ("gke-sink.jsonl", false)] {
        let bytes = fixture(name);
        let analysis = analyze(name, &bytes);
        let (got, want) = (gke_views(&analysis), gke_views(&native));
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w, "{name}");
        }
        assert_eq!(got.len(), want.len(), "{name}");
        let s = analysis.summary();
        assert_eq!(s.events, native.summary().events, "{name}");
        assert_eq!(s.rejected, 0, "{name}: {:?}", analysis.diagnostics());
        assert_accounted(&s, !array);
        let file = &s.files[0];
        let form = if array {
            "gcloud logging read JSON"
        } else {
            "JSON lines from a sink"
        };
        assert_eq!(
            file.detected,
            format!("GKE Cloud Audit Logs, {form}, {} events", s.events)
        );
        assert_eq!(file.context["project"], ["demo-project"]);
        assert_eq!(file.context["location"], ["europe-west1-b"]);
        assert_eq!(file.context["cluster"], ["demo-cluster"]);
        // Bodies and the rebuilt request path reach the rules.
        let exec = analysis
            .requests()
            .iter()
            .find(|e| analysis.interner().resolve(e.subresource) == "exec")
            .unwrap();
        assert_eq!(
            analysis.interner().resolve(exec.request_uri),
            "/api/v1/namespaces/default/pods/nginx-deployment-7998647bdf-phvq7/exec"
        );
        assert_chunk_invariant(name, &bytes);
    }
}

#[test]
fn gke_split_entries_are_truncated_and_other_services_skipped() {
    let analysis = analyze("gke-sink.jsonl", &fixture("gke-sink.jsonl"));
    let s = analysis.summary();
    assert_eq!(s.files[0].skipped, 1, "the container.googleapis.com entry");
    let truncated: Vec<_> = analysis.requests().iter().filter(|e| e.truncated).collect();
    assert_eq!(truncated.len(), 1);
    let kinds: Vec<_> = analysis
        .diagnostics()
        .iter()
        .map(|d| (d.line, d.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            (22, DiagnosticKind::TruncatedEvent),
            // The Falco event it wraps reuses another's auditID for another user.
            (51, DiagnosticKind::ConflictingAuditId),
            (52, DiagnosticKind::NotAuditEvent)
        ]
    );
    assert!(analysis.diagnostics()[2]
        .message
        .contains("\"container.googleapis.com\""));
}

#[test]
fn gke_entries_of_other_services_alone_say_what_they_are() {
    let line = r#"{"insertId":"x","protoPayload":{"serviceName":"compute.googleapis.com","methodName":"v1.compute.instances.insert"},"resource":{"type":"gce_instance"}}"#;
    let analysis = analyze("compute.json", format!("{line}\n").as_bytes());
    let last = analysis.diagnostics().last().unwrap();
    assert!(last.message.contains("look like GKE log entries"), "{last}");
}

#[test]
fn aks_event_hubs_records_match_their_inner_events() {
    let inner = analyze("inner.ndjson", &corpus("aks-sysdig/inner-events.ndjson"));
    let records = corpus("aks-sysdig/eventhub-records.ndjson");
    let lines = analyze("records.ndjson", &records);
    assert_same_requests("records.ndjson", &lines, &inner);
    assert_eq!(
        lines.summary().files[0].detected,
        "AKS kube-audit diagnostic records, one a line (PT1H.json), 23 events"
    );
    assert_accounted(&lines.summary(), true);
    assert_chunk_invariant("records.ndjson", &records);
    // As the source delivered them: one Event Hubs batch, on one line and indented.
    let values: Vec<serde_json::Value> = std::str::from_utf8(&records)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let batch = serde_json::json!({ "records": values });
    for (name, text) in [
        ("batch.json", serde_json::to_string(&batch).unwrap()),
        (
            "batch-pretty.json",
            serde_json::to_string_pretty(&batch).unwrap(),
        ),
    ] {
        let analysis = analyze(name, text.as_bytes());
        assert_same_requests(name, &analysis, &inner);
        let file = &analysis.summary().files[0];
        assert_eq!(
            file.detected,
            "AKS kube-audit diagnostic records, Event Hubs batches, 23 events"
        );
        assert_eq!(
            file.context["cluster"],
            ["KUBEAUDITLOGTESTCLUSTER", "KUBETEST"]
        );
        assert_accounted(&analysis.summary(), false);
        assert_chunk_invariant(name, text.as_bytes());
    }
}

#[test]
fn aks_storage_lines_and_log_analytics_exports_match_the_native_events() {
    let native = analyze("aks-native.ndjson", &fixture("aks-native.ndjson"));
    let cases = [
        (
            "aks-pt1h.json",
            "AKS kube-audit diagnostic records, one a line (PT1H.json)",
            1,
        ),
        (
            "aks-azurediagnostics.json",
            "AKS Log Analytics AzureDiagnostics JSON export",
            0,
        ),
        (
            "aks-aksaudit.json",
            "AKS Log Analytics AKSAudit JSON export",
            0,
        ),
        (
            "aks-aksaudit.csv",
            "AKS Log Analytics AKSAudit CSV export",
            1,
        ),
    ];
    for (name, format, skipped) in cases {
        let bytes = fixture(name);
        let analysis = analyze(name, &bytes);
        assert_same_requests(name, &analysis, &native);
        let s = analysis.summary();
        assert_eq!(s.files[0].format, format, "{name}");
        assert_eq!(s.files[0].skipped, skipped, "{name}");
        assert_eq!(s.rejected, 0, "{name}: {:?}", analysis.diagnostics());
        assert_accounted(&s, name.ends_with(".csv"));
        // The record whose request body AKS left out for its size is kept and flagged.
        let truncated: Vec<_> = analysis.requests().iter().filter(|e| e.truncated).collect();
        assert_eq!(truncated.len(), 1, "{name}");
        assert!(analysis
            .diagnostics()
            .iter()
            .any(|d| d.kind == DiagnosticKind::TruncatedEvent
                && d.message.contains("skipped-too-big-size-object")));
        assert_chunk_invariant(name, &bytes);
    }
}

#[test]
fn aks_system_identities_are_control_plane() {
    let analysis = analyze("inner.ndjson", &corpus("aks-sysdig/inner-events.ndjson"));
    let interner = analysis.interner();
    let mut managed: Vec<&str> = analysis
        .requests()
        .iter()
        .map(|e| interner.resolve(e.user))
        .filter(|u| is_managed_control_plane(u))
        .collect();
    managed.sort();
    managed.dedup();
    assert_eq!(managed, ["aksService", "nodeclient"]);
    assert!(is_managed_control_plane("masterclient"));
    assert!(is_managed_control_plane("eks:certificate-controller"));
    assert!(!is_managed_control_plane(
        "system:serviceaccount:kube-system:aksService"
    ));
    assert!(!is_managed_control_plane("alice@example.com"));
}
