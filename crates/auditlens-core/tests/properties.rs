//! Properties over generated logs (proptest): any chunking reads a file as one push does, every
//! line is accounted for, baselines merge the same whichever way shards are grouped and
//! ordered, and a baseline file reads back as it was written.
//!
//! A log is a list of lines drawn from well-formed events (few users, verbs, resources, stages
//! and auditIDs, so that stages merge, ids repeat and rules fire), blank lines, broken JSON,
//! lines cut short, JSON that is not an event and bytes that are not UTF-8.

#![allow(clippy::unwrap_used)]

use auditlens_core::{Analysis, Baseline, Limits};
use proptest::prelude::*;

const USERS: &[&str] = &[
    "alice@example.com",
    "system:anonymous",
    "system:node:node-1",
    "system:serviceaccount:shop:api",
    "mallory",
];
const VERBS: &[&str] = &["get", "list", "create", "patch", "delete"];
const RESOURCES: &[&str] = &[
    "pods",
    "secrets",
    "configmaps",
    "clusterrolebindings",
    "pods/exec",
];
const STAGES: &[&str] = &["RequestReceived", "ResponseComplete"];
const CODES: &[u16] = &[200, 201, 403, 404];

#[derive(Clone, Debug)]
enum Line {
    Event {
        user: usize,
        verb: usize,
        resource: usize,
        stage: usize,
        code: usize,
        id: u8,
        minute: u16,
    },
    Blank,
    Broken,
    CutShort,
    NotAnEvent,
    NotUtf8,
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        8 => (0..USERS.len(), 0..VERBS.len(), 0..RESOURCES.len(), 0..STAGES.len(),
              0..CODES.len(), 0u8..24, 0u16..600)
            .prop_map(|(user, verb, resource, stage, code, id, minute)| Line::Event {
                user, verb, resource, stage, code, id, minute
            }),
        1 => Just(Line::Blank),
        1 => Just(Line::Broken),
        1 => Just(Line::CutShort),
        1 => Just(Line::NotAnEvent),
        1 => Just(Line::NotUtf8),
    ]
}

fn event(
    user: usize,
    verb: usize,
    resource: usize,
    stage: usize,
    code: usize,
    id: u8,
    minute: u16,
) -> String {
    let (resource, sub) = RESOURCES[resource]
        .split_once('/')
        .unwrap_or((RESOURCES[resource], ""));
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-{id}","stage":"{}","requestURI":"/api/v1/namespaces/shop/{resource}/x","verb":"{}","user":{{"username":"{}","groups":["system:authenticated"]}},"sourceIPs":["10.0.0.{id}"],"userAgent":"kubectl/v1.29","objectRef":{{"resource":"{resource}","subresource":"{sub}","namespace":"shop","name":"x","apiVersion":"v1"}},"responseStatus":{{"code":{}}},"requestReceivedTimestamp":"2026-03-02T{:02}:{:02}:00Z"}}"#,
        STAGES[stage],
        VERBS[verb],
        USERS[user],
        CODES[code],
        minute / 60,
        minute % 60,
    )
}

fn render(lines: &[Line]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        match line {
            &Line::Event {
                user,
                verb,
                resource,
                stage,
                code,
                id,
                minute,
            } => out
                .extend_from_slice(event(user, verb, resource, stage, code, id, minute).as_bytes()),
            Line::Blank => {}
            Line::Broken => out.extend_from_slice(b"{\"kind\":\"Event\",\"verb\":"),
            Line::CutShort => out.extend_from_slice(&event(0, 0, 0, 1, 0, 99, 0).as_bytes()[..200]),
            Line::NotAnEvent => out.extend_from_slice(b"{\"hello\":\"world\"}"),
            Line::NotUtf8 => {
                // mallory's name with a byte that is not UTF-8 in it: replaced, the event kept.
                let text = event(4, 1, 1, 1, 0, 98, 1);
                let at = text.find("mallory").unwrap() + 3;
                out.extend_from_slice(&text.as_bytes()[..at]);
                out.push(0xff);
                out.extend_from_slice(&text.as_bytes()[at..]);
            }
        }
        out.push(b'\n');
    }
    out
}

fn analyse(bytes: &[u8], chunks: &[usize]) -> Analysis {
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file("generated.log");
    let mut rest = bytes;
    let mut sizes = chunks.iter().cycle();
    while !rest.is_empty() {
        let size = (*sizes.next().unwrap_or(&rest.len())).clamp(1, rest.len());
        analysis.push(file, &rest[..size]);
        rest = &rest[size..];
    }
    analysis.finish();
    analysis
}

/// What a reader sees of an analysis: the summary, the diagnostics, each finding's request,
/// severity and score.
fn seen(analysis: &Analysis) -> String {
    let findings: Vec<String> = analysis
        .findings()
        .iter()
        .map(|f| format!("{:?} {:?} {}", f.audit_id, f.severity, f.score))
        .collect();
    format!(
        "{:?}\n{:?}\n{findings:?}",
        analysis.summary(),
        analysis.diagnostics()
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_chunking_reads_as_one_push(
        lines in prop::collection::vec(line(), 0..60),
        chunks in prop::collection::vec(1usize..700, 1..8),
    ) {
        let bytes = render(&lines);
        let whole = analyse(&bytes, &[bytes.len().max(1)]);
        let pieces = analyse(&bytes, &chunks);
        prop_assert_eq!(seen(&pieces), seen(&whole));
    }

    #[test]
    fn every_line_is_accounted_for(rest in prop::collection::vec(line(), 0..60)) {
        // A first line that is an event makes the file JSON lines, where every line is blank
        // or a record (a file that opens with a broken object is read as JSON documents).
        let first = Line::Event { user: 0, verb: 0, resource: 0, stage: 1, code: 0, id: 0, minute: 0 };
        let lines: Vec<Line> = std::iter::once(first).chain(rest).collect();
        let bytes = render(&lines);
        let s = analyse(&bytes, &[bytes.len().max(1)]).summary();
        let file = &s.files[0];
        prop_assert_eq!(file.lines, lines.len() as u64);
        let blank = lines.iter().filter(|l| matches!(l, Line::Blank)).count() as u64;
        prop_assert_eq!(file.blank_lines, blank);
        prop_assert_eq!(file.lines, file.blank_lines + file.records);
        prop_assert_eq!(file.records, file.accepted + file.rejected + file.skipped);
        // Cut short without the marker EKS writes, a line is broken JSON: rejected.
        let events = lines.len() as u64 - blank;
        let not_events = lines
            .iter()
            .filter(|l| matches!(l, Line::Broken | Line::CutShort | Line::NotAnEvent))
            .count() as u64;
        prop_assert_eq!(file.accepted, events - not_events);
    }

    #[test]
    fn baselines_merge_the_same_whichever_way_they_are_grouped(
        a in prop::collection::vec(line(), 1..30),
        b in prop::collection::vec(line(), 1..30),
        c in prop::collection::vec(line(), 1..30),
    ) {
        let learn = |lines: &[Line]| {
            let bytes = render(lines);
            analyse(&bytes, &[bytes.len()]).baseline()
        };
        let (a, b, c) = (learn(&a), learn(&b), learn(&c));
        let merged = |parts: &[&Baseline]| {
            let mut out = parts[0].clone();
            for p in &parts[1..] {
                out.merge(p);
            }
            out
        };
        let left = merged(&[&merged(&[&a, &b]), &c]);
        let right = merged(&[&a, &merged(&[&b, &c])]);
        prop_assert_eq!(left.to_json(), right.to_json());
        prop_assert_eq!(left.to_json(), merged(&[&c, &b, &a]).to_json());
        prop_assert_eq!(left.requests(), a.requests() + b.requests() + c.requests());
    }

    #[test]
    fn a_baseline_file_reads_back_as_it_was_written(lines in prop::collection::vec(line(), 0..40)) {
        let bytes = render(&lines);
        let baseline = analyse(&bytes, &[bytes.len().max(1)]).baseline();
        let text = baseline.to_json();
        let read = Baseline::from_json(&text).unwrap();
        prop_assert_eq!(read.to_json(), text);
    }
}
