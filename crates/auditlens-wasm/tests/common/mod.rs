//! The fixtures and the one function that runs them through a [`Session`], shared by the
//! native test (`parity.rs`) and the browser test (`web.rs`).
//!
//! Both compare what the session gives with the files in `tests/expected/`: the native test
//! writes them when `AUDITLENS_BLESS=1`, the browser test embeds them. A wasm build that reads,
//! scores or orders anything differently from the native core fails the browser test.

use auditlens_wasm::{Part, Session};

/// A fixture: a name for the expected file and the bytes of each of its input files.
pub struct Fixture {
    pub name: &'static str,
    pub files: Vec<(&'static str, Vec<u8>)>,
}

const AUDIT2RBAC: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/third-party/audit2rbac/demo.v1beta1.ndjson"
));
const FALCO: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/third-party/falco/events.ndjson"
));
/// The policy every fixture is checked and simulated with.
const POLICY: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/policy/secrets-with-bodies-exec-unlogged.yaml"
));
const RBAC_CLUSTER: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/rbac/cluster.ndjson"
));
/// The granted RBAC the least-privilege views are compared with.
const GRANTED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/rbac/granted.yaml"
));
const BAD_LINES: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/ingest/bad-lines.jsonl"
));

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

pub fn fixtures() -> Vec<Fixture> {
    vec![
        Fixture {
            name: "audit2rbac",
            files: vec![("demo.v1beta1.ndjson", AUDIT2RBAC.to_vec())],
        },
        Fixture {
            name: "falco",
            files: vec![("events.ndjson", FALCO.to_vec())],
        },
        Fixture {
            // Identities with something to generate and to compare (tests/fixtures/rbac).
            name: "rbac-cluster",
            files: vec![("cluster.ndjson", RBAC_CLUSTER.to_vec())],
        },
        Fixture {
            // Two files in one analysis, one of them gzip, one with every kind of bad line.
            name: "gzip-and-bad-lines",
            files: vec![
                ("demo.v1beta1.ndjson.gz", gzip(AUDIT2RBAC)),
                ("bad-lines.jsonl", BAD_LINES.to_vec()),
            ],
        },
    ]
}

/// Runs a fixture through a session, pushing `chunk` bytes at a time, and returns every view the
/// page asks for, as one pretty JSON document.
pub fn run(fixture: &Fixture, chunk: usize) -> String {
    let mut session = Session::new();
    let ids: Vec<u32> = fixture
        .files
        .iter()
        .map(|(name, _)| session.add_file(name))
        .collect();
    for (&id, (_, bytes)) in ids.iter().zip(&fixture.files) {
        for piece in bytes.chunks(chunk.max(1)) {
            session.push(id, piece).expect("a file that was added");
        }
        session.finish_file(id).expect("a file that was added");
    }
    document(fixture, session, chunk)
}

/// Runs a fixture as the page does with several workers: each file cut into `parts` parts at
/// line starts, the first read by the session, the others by [`Part`]s whose bytes the session
/// appends (gzip files, which cannot be cut, are read whole). The same document as [`run`].
pub fn run_in_parts(fixture: &Fixture, parts: usize) -> String {
    let names: Vec<String> = fixture.files.iter().map(|(n, _)| n.to_string()).collect();
    let mut session = Session::new();
    for name in &names {
        session.add_file(name);
    }
    for (index, (_, bytes)) in fixture.files.iter().enumerate() {
        let id = index as u32;
        let mut starts = vec![0];
        if !bytes.starts_with(&[0x1f, 0x8b]) {
            for k in 1..parts {
                let at = bytes.len() * k / parts;
                if let Some(newline) = bytes[at..].iter().position(|&b| b == b'\n') {
                    let start = at + newline + 1;
                    if start < bytes.len() && start > *starts.last().unwrap() {
                        starts.push(start);
                    }
                }
            }
        }
        let mut ends: Vec<usize> = starts[1..].to_vec();
        ends.push(bytes.len());
        session.push(id, &bytes[..ends[0]]).unwrap();
        for (&start, &end) in starts.iter().zip(&ends).skip(1) {
            let mut part = Part::new(names.clone(), id, start as f64, "").unwrap();
            part.push(&bytes[start..end]);
            let sent = part.finish(end == bytes.len()).expect("a plain part");
            assert!(
                session.append_part(id, &sent).unwrap(),
                "part at {start} refused"
            );
        }
        session.finish_file(id).unwrap();
    }
    document(fixture, session, 64 * 1024)
}

/// Every view the page asks for of a session that read `fixture`, as one pretty JSON document;
/// `chunk` is how a second session reads the fixture again, with the first one's baseline.
fn document(fixture: &Fixture, mut session: Session, chunk: usize) -> String {
    session.finish();
    let parse = |text: String| -> serde_json::Value {
        serde_json::from_str(&text).expect("the session gives JSON")
    };
    let report = parse(session.report());
    let overview = parse(session.overview());
    // The views of one request and one identity: the first finding's when there is one, else
    // those of the first event of the first plain file.
    let audit_id = report["findings"][0]["auditID"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            fixture
                .files
                .iter()
                .find_map(|(_, bytes)| first_audit_id(bytes))
        })
        .unwrap_or_default();
    let request = parse(session.request(&audit_id));
    let identity = request["identity"].as_str().unwrap_or_default().to_string();
    // The baseline learned here, loaded into a second analysis of the same files.
    let baseline = session.baseline();
    let mut again = Session::new();
    again
        .load_baseline(&baseline)
        .expect("a baseline the session wrote loads back");
    for (name, bytes) in &fixture.files {
        let id = again.add_file(name);
        for piece in bytes.chunks(chunk.max(1)) {
            again.push(id, piece).expect("a file that was added");
        }
    }
    again.finish();
    // Least privilege of the busiest identities, without and then with the granted RBAC.
    let busiest: Vec<String> = overview["topIdentities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["identity"].as_str().map(str::to_string))
        .take(3)
        .collect();
    let mut least = serde_json::Map::new();
    for name in &busiest {
        least.insert(name.clone(), parse(session.least_privilege(name)));
    }
    let loaded = parse(
        session
            .load_granted("granted.yaml", GRANTED)
            .expect("the granted fixture reads"),
    );
    let mut least_granted = serde_json::Map::new();
    for name in &busiest {
        least_granted.insert(
            name.clone(),
            parse(session.least_privilege(name))["identity"]["granted"].clone(),
        );
    }
    let rules: serde_json::Value = parse(session.rules());
    let doc = serde_json::json!({
        "report": report,
        "findingCount": session.finding_count(),
        "firstFindings": parse(session.findings(0, 3)),
        "diagnosticCount": session.diagnostic_count(),
        "lastDiagnostics": parse(session.diagnostics(session.diagnostic_count().saturating_sub(2), 5)),
        "progress": parse(session.progress()),
        "overview": overview,
        "request": request,
        "neighbours": parse(session.neighbours(&audit_id, 3, 3)),
        "identity": parse(session.identity(&identity)),
        "incidents": parse(session.incidents()),
        "profile": parse(session.profile(&identity)),
        "ruleHits": parse(session.rule_hits(&audit_id)),
        "rules": {
            "count": rules.as_array().map_or(0, Vec::len),
            "enabled": rules.as_array().map_or(0, |r| r.iter().filter(|r| r["enabled"] == true).count()),
        },
        "baselineBytes": baseline.len(),
        "withBaseline": {
            "findings": parse(again.findings(0, 5)),
            "findingCount": again.finding_count(),
            "incidents": parse(again.incidents()).as_array().map_or(0, Vec::len),
        },
        "policyCheck": parse(session.policy_check(POLICY)),
        "policySimulate": parse(session.policy_simulate(POLICY, 5).expect("the policy loads")),
        "policySuggest": parse(session.policy_suggest()),
        "leastPrivilege": least,
        "grantedLoaded": loaded,
        "leastPrivilegeGranted": least_granted,
        "unknownLeastPrivilege": parse(session.least_privilege("no-such-identity")),
        "unknownRequest": parse(session.request("no-such-audit-id")),
        "unknownIdentity": parse(session.identity("no-such-identity")),
    });
    let mut text = serde_json::to_string_pretty(&doc).expect("a JSON value serializes");
    text.push('\n');
    text
}

/// The auditID of the first line of a line-delimited file that has one.
fn first_audit_id(bytes: &[u8]) -> Option<String> {
    bytes.split(|&b| b == b'\n').find_map(|line| {
        serde_json::from_slice::<serde_json::Value>(line)
            .ok()?
            .get("auditID")?
            .as_str()
            .map(str::to_string)
    })
}

/// The first line where two documents differ, for a readable failure.
pub fn first_difference(expected: &str, actual: &str) -> String {
    let (mut e, mut a) = (expected.lines(), actual.lines());
    for number in 1.. {
        match (e.next(), a.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => return "no difference".to_string(),
            (x, y) => {
                return format!(
                    "line {number}:\n  expected: {}\n  actual:   {}",
                    x.unwrap_or("(end)"),
                    y.unwrap_or("(end)")
                )
            }
        }
    }
    unreachable!()
}
