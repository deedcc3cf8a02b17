//! Events as exports and test suites trim them: a record with a verb, a user and an objectRef
//! or requestURI is an audit event whatever else it lacks. Each is kept with the documented
//! defaults, events without an auditID are never merged, and what was missing is said once per
//! file and field. `tests/fixtures/trimmed/README.md` says what each line holds.

#![allow(clippy::disallowed_methods, clippy::unwrap_used)]

use std::path::PathBuf;

use auditlens_core::{Analysis, AuditId, Decision, DiagnosticKind, Limits, Stage};

fn events() -> Vec<u8> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/trimmed/events.jsonl");
    std::fs::read(path).unwrap()
}

fn analyze(bytes: &[u8], chunk: usize) -> Analysis {
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file("trimmed.jsonl");
    for piece in bytes.chunks(chunk.max(1)) {
        analysis.push(file, piece);
    }
    analysis.finish();
    analysis
}

/// (line, request key, verb, resource label) of every request, in time then file order.
fn requests(analysis: &Analysis) -> Vec<(u64, String, String, String)> {
    let interner = analysis.interner();
    let mut rows: Vec<_> = analysis
        .requests()
        .iter()
        .map(|e| {
            (
                e.source.line,
                interner.request_key(e.audit_id).into_owned(),
                interner.resolve(e.verb).to_string(),
                e.resource_label(interner),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn plainly_audit_events_are_kept_and_everything_else_rejected() {
    let analysis = analyze(&events(), usize::MAX);
    let file = &analysis.summary().files[0];
    // Nine records: seven hold events (one an EventList of two), two are not events.
    assert_eq!(
        (file.records, file.accepted, file.rejected, file.events),
        (9, 7, 2, 8)
    );
    assert_eq!(file.requests, 8, "no two events without an auditID merge");
    let rejected: Vec<(u64, &str)> = analysis
        .diagnostics()
        .iter()
        .filter(|d| d.kind == DiagnosticKind::NotAuditEvent)
        .map(|d| (d.line, d.message.as_str()))
        .collect();
    assert_eq!(
        rejected,
        [
            (5, "an object of kind \"Pod\", not an audit Event"),
            (6, "a JSON object without an auditID, not an audit Event"),
        ]
    );
    let rows = requests(&analysis);
    let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(lines, [1, 2, 3, 4, 7, 8, 9, 9]);
    // Lines 3 and 4 are the same request written twice: two requests, two keys.
    assert_ne!(rows[2].1, rows[3].1);
    assert_eq!(
        (rows[2].2.as_str(), rows[2].3.as_str()),
        ("get", "/api/v1/namespaces/kube-system/secrets")
    );
    // The GKE entry and the AKS record are execs into a pod.
    assert_eq!(rows[4].3, "pods/exec");
    assert_eq!(rows[5].3, "pods/exec");
    // The two items of the EventList: one record, two keys, the second with its index.
    assert!(rows[6].1.starts_with('~') && rows[7].1.starts_with('~'));
    assert!(rows[7].1.ends_with(".1"), "{}", rows[7].1);
}

#[test]
fn missing_fields_take_their_documented_defaults() {
    let analysis = analyze(&events(), usize::MAX);
    let interner = analysis.interner();
    let line = |n: u64| {
        analysis
            .requests()
            .iter()
            .find(|e| e.source.line == n)
            .unwrap()
    };
    // No stage: the complete request. No response code: unknown, never allowed.
    let bare = line(2);
    assert_eq!(bare.stage, Stage::ResponseComplete);
    assert_eq!((bare.code, bare.decision), (0, Decision::Unknown));
    // No timestamp: the time of the event before it in the file (line 1 has none either: 0).
    assert_eq!(bare.received, line(1).received);
    // No auditID: an id of its own that says where the record is, and no auditID text.
    let id = bare.audit_id;
    let (file, offset, index) = id.absent_at().unwrap();
    assert_eq!((file, offset, index), (0, bare.source.offset, 0));
    assert_eq!(interner.audit_id_text(id), "");
    assert_eq!(interner.get_audit_id(&interner.request_key(id)), Some(id));
    assert!(AuditId::parse_absent_key("~0.12.x").is_none());
}

#[test]
fn what_was_missing_is_said_once_per_file_and_field() {
    let analysis = analyze(&events(), usize::MAX);
    let gaps: Vec<&str> = analysis
        .diagnostics()
        .iter()
        .filter(|d| d.kind == DiagnosticKind::MissingFields)
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        gaps,
        [
            "8 events have no auditID (lines 1, 2, 3, 4, 7, ...): each is a request of its own, \
             never merged with another",
            "6 events have no stage (lines 1, 2, 3, 4, 9): each is taken as the complete request",
            "5 events have no timestamp (lines 1, 2, 3, 4, 7): each takes the time of the event \
             before it in the file",
            "2 events have no responseStatus (lines 2, 7): their outcome is unknown and never \
             taken as allowed",
            "4 events have no sourceIPs (lines 1, 2, 9): their source address is unknown",
            "8 events have no userAgent (lines 1, 2, 3, 4, 7, ...): their client is unknown",
            "5 events have no apiVersion (lines 2, 3, 4, 9): they are read as audit.k8s.io/v1",
            "5 events have no kind (lines 2, 3, 4, 9): they are read as audit Events",
        ]
    );
    let file = &analysis.summary().files[0];
    assert_eq!(file.records, file.accepted + file.rejected + file.skipped);
}

#[test]
fn request_keys_stay_the_same_in_every_chunking() {
    let bytes = events();
    let whole = requests(&analyze(&bytes, usize::MAX));
    for chunk in [1, 7, 4096] {
        assert_eq!(requests(&analyze(&bytes, chunk)), whole, "chunk {chunk}");
    }
}

#[test]
fn trimmed_events_still_meet_the_rules_and_name_their_request() {
    let analysis = analyze(&events(), usize::MAX);
    let privileged = analysis
        .findings()
        .iter()
        .find(|f| f.rules.iter().any(|r| r == "k8s.pod.privileged"))
        .expect("the privileged pod of line 1");
    assert_eq!(privileged.audit_id, None);
    assert_eq!(privileged.line, 1);
    let key = privileged.request.clone().unwrap();
    assert_eq!(privileged.request_key(), key);
    let json = serde_json::to_value(privileged).unwrap();
    assert_eq!(json["auditID"], serde_json::Value::Null);
    assert_eq!(json["request"], key.as_str());
    // The rule hits are found by the key.
    let id = analysis.interner().get_audit_id(&key).unwrap();
    assert!(analysis
        .rule_hits(id)
        .iter()
        .any(|h| h.rule == "k8s.pod.privileged"));
}
