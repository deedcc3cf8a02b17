//! Ingestion over real corpora and crafted fixtures: exact counts, every bad-input kind, and the
//! same result for every chunking and for gzip.

// Tests read their fixtures from disk and fail loudly.
#![allow(clippy::disallowed_methods, clippy::unwrap_used)]

use std::io::Write;
use std::path::PathBuf;

use auditlens_core::{Analysis, DiagnosticKind, DiagnosticSeverity, Limits, Summary};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> Vec<u8> {
    let path = repo_root().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn corpus(relative: &str) -> Vec<u8> {
    read(&format!("tests/fixtures/third-party/{relative}"))
}

fn fixture(name: &str) -> Vec<u8> {
    read(&format!("tests/fixtures/ingest/{name}"))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Analyses `bytes` as one file pushed in chunks of `chunk` bytes.
fn analyze_chunked(name: &str, bytes: &[u8], chunk: usize, limits: Limits) -> Analysis {
    let mut analysis = Analysis::new(limits);
    let file = analysis.add_file(name);
    for piece in bytes.chunks(chunk.max(1)) {
        analysis.push(file, piece);
    }
    analysis.finish();
    analysis
}

fn analyze(name: &str, bytes: &[u8]) -> Analysis {
    analyze_chunked(name, bytes, 64 * 1024, Limits::default())
}

/// Everything observable about an analysis, as text, to compare two runs.
fn fingerprint(analysis: &Analysis) -> String {
    let mut out = serde_json::to_string_pretty(&analysis.report()).unwrap();
    for event in analysis.requests() {
        out.push_str(&format!("\n{event:?}"));
    }
    out
}

/// The same result for every chunking, plain and gzip (the gzip file's byte counts differ,
/// so it is compared with itself across chunkings and with the plain file on events).
fn assert_chunk_invariant(name: &str, bytes: &[u8]) {
    let whole = fingerprint(&analyze_chunked(name, bytes, usize::MAX, Limits::default()));
    for chunk in [1, 7, 4096] {
        let chunked = fingerprint(&analyze_chunked(name, bytes, chunk, Limits::default()));
        assert_eq!(
            whole, chunked,
            "{name}: {chunk}-byte chunks differ from one push"
        );
    }
    let compressed = gzip(bytes);
    let gz_whole = analyze_chunked(name, &compressed, usize::MAX, Limits::default());
    for chunk in [1, 7, 4096] {
        let gz = analyze_chunked(name, &compressed, chunk, Limits::default());
        assert_eq!(
            fingerprint(&gz_whole),
            fingerprint(&gz),
            "{name}: gzip, {chunk}-byte chunks"
        );
    }
    let plain = analyze(name, bytes);
    assert_eq!(
        plain.requests(),
        gz_whole.requests(),
        "{name}: gzip gives other events"
    );
    assert_eq!(
        plain.diagnostics(),
        gz_whole.diagnostics(),
        "{name}: gzip diagnostics"
    );
}

/// Every record is accepted (holding one event or more) or rejected with an error.
fn assert_accounted(summary: &Summary) {
    for file in &summary.files {
        assert_eq!(file.records, file.accepted + file.rejected, "{file:#?}");
        assert!(file.events >= file.accepted, "{file:#?}");
    }
    assert_eq!(summary.records, summary.accepted + summary.rejected);
}

/// The messages of the missing-field warnings (one per file and field), in order.
fn gap_warnings(analysis: &Analysis) -> Vec<&str> {
    analysis
        .diagnostics()
        .iter()
        .filter(|d| d.kind == DiagnosticKind::MissingFields)
        .inspect(|d| assert_eq!(d.severity, DiagnosticSeverity::Warning))
        .map(|d| d.message.as_str())
        .collect()
}

fn assert_lines_accounted(summary: &Summary) {
    assert_accounted(summary);
    assert_eq!(
        summary.lines,
        summary.blank_lines + summary.records,
        "{summary:#?}"
    );
}

#[test]
fn falco_events_are_all_read() {
    let bytes = corpus("falco/events.ndjson");
    let analysis = analyze("events.ndjson", &bytes);
    let s = analysis.summary();
    assert_eq!((s.lines, s.records, s.events, s.rejected), (51, 51, 51, 0));
    // Falco's test events reuse a few auditIDs across unrelated tests.
    let distinct: std::collections::BTreeSet<&str> = std::str::from_utf8(&bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| v["auditID"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .leak()
        .iter()
        .map(String::as_str)
        .collect();
    // Line 51 reuses line 1's auditID for another user's request: a request of its own, and
    // said.
    assert_eq!(s.requests, distinct.len() as u64 + 1);
    let conflicts: Vec<_> = analysis
        .diagnostics()
        .iter()
        .filter(|d| d.kind == DiagnosticKind::ConflictingAuditId)
        .collect();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].line, 51);
    assert!(conflicts[0]
        .message
        .contains("user \"some-user\" here, \"system:anonymous\" before"));
    // Minikube's events of that era carry no user agent, and many no apiVersion: kept, and
    // said once each.
    assert_eq!(
        gap_warnings(&analysis),
        [
            "47 events have no userAgent (lines 1, 2, 3, 4, 5, ...): their client is unknown",
            "38 events have no apiVersion (lines 2, 3, 4, 5, 6, ...): they are read as \
             audit.k8s.io/v1"
        ]
    );
    assert_eq!(s.diagnostics, 3, "{:?}", analysis.diagnostics());
    assert_lines_accounted(&s);
    assert_chunk_invariant("events.ndjson", &bytes);
}

#[test]
fn audit2rbac_log_merges_stages() {
    let bytes = corpus("audit2rbac/demo.v1beta1.ndjson");
    let analysis = analyze("demo.log", &bytes);
    let s = analysis.summary();
    assert_eq!(
        (s.lines, s.events, s.requests, s.diagnostics),
        (757, 757, 437, 1)
    );
    assert_eq!(
        gap_warnings(&analysis),
        ["757 events have no userAgent (lines 1, 2, 3, 4, 5, ...): their client is unknown"]
    );
    // 320 requests were logged at RequestReceived and ResponseComplete: all kept complete.
    let both = analysis
        .requests()
        .iter()
        .filter(|e| e.stages_seen.count_ones() == 2)
        .count();
    assert_eq!(both, 320);
    assert!(analysis
        .requests()
        .iter()
        .all(|e| e.stage == auditlens_core::Stage::ResponseComplete));
    // system:admin impersonating alice, bob and ns1:sa1.
    let interner = analysis.interner();
    let impersonated: std::collections::BTreeSet<&str> = analysis
        .requests()
        .iter()
        .filter(|e| !e.impersonated_user.is_empty())
        .map(|e| interner.resolve(e.impersonated_user))
        .collect();
    assert_eq!(
        impersonated.into_iter().collect::<Vec<_>>(),
        ["alice", "bob", "system:serviceaccount:ns1:sa1"]
    );
    assert_eq!(s.first.as_deref(), Some("2017-09-11T19:55:05.000000Z"));
    assert!(analysis
        .requests()
        .windows(2)
        .all(|w| w[0].received <= w[1].received));
    assert_lines_accounted(&s);
    assert_chunk_invariant("demo.log", &bytes);
}

#[test]
fn aks_inner_events_are_v1() {
    let bytes = corpus("aks-sysdig/inner-events.ndjson");
    let analysis = analyze("inner.ndjson", &bytes);
    let s = analysis.summary();
    assert_eq!(
        (s.lines, s.events, s.requests, s.diagnostics),
        (23, 23, 23, 0)
    );
    let interner = analysis.interner();
    let clients: std::collections::BTreeSet<(&str, &str)> = analysis
        .requests()
        .iter()
        .map(|e| {
            (
                interner.resolve(e.client),
                interner.resolve(e.client_version),
            )
        })
        .collect();
    assert!(clients.contains(&("hyperkube", "v1.15.10")), "{clients:?}");
    assert_lines_accounted(&s);
    assert_chunk_invariant("inner.ndjson", &bytes);
}

#[test]
fn arrays_and_event_lists_give_the_same_events() {
    let lines = fixture("eventlists.jsonl");
    let reference = analyze("eventlists.jsonl", &lines);
    assert_eq!(reference.summary().events, 6);
    assert_eq!(reference.summary().records, 2);
    assert_eq!(reference.summary().files[0].format, "JSON lines");
    for name in [
        "eventlists-pretty.json",
        "array-pretty.json",
        "array-oneline.json",
    ] {
        let bytes = fixture(name);
        let analysis = analyze(name, &bytes);
        let s = analysis.summary();
        assert_eq!(s.events, 6, "{name}: {:?}", analysis.diagnostics());
        assert_eq!(s.diagnostics, 1, "{name}: {:?}", analysis.diagnostics());
        assert!(
            gap_warnings(&analysis)[0].starts_with("6 events have no userAgent"),
            "{name}: {:?}",
            analysis.diagnostics()
        );
        let strip = |a: &Analysis| -> Vec<String> {
            a.requests()
                .iter()
                .map(|e| {
                    let i = a.interner();
                    format!(
                        "{} {} {} {}",
                        i.audit_id_text(e.audit_id),
                        i.resolve(e.verb),
                        i.resolve(e.user),
                        e.received
                    )
                })
                .collect()
        };
        assert_eq!(strip(&analysis), strip(&reference), "{name}");
        assert_accounted(&s);
        assert_chunk_invariant(name, &bytes);
    }
    assert_eq!(
        analyze("a.json", &fixture("array-pretty.json"))
            .summary()
            .files[0]
            .format,
        "JSON array"
    );
    assert_eq!(
        analyze("l.json", &fixture("eventlists-pretty.json"))
            .summary()
            .files[0]
            .format,
        "JSON objects"
    );
}

#[test]
fn every_kind_of_bad_line_is_reported_and_the_rest_is_read() {
    let bytes = fixture("bad-lines.jsonl");
    let analysis = analyze("bad-lines.jsonl", &bytes);
    let s = analysis.summary();
    let found: Vec<(u64, DiagnosticKind, DiagnosticSeverity)> = analysis
        .diagnostics()
        .iter()
        .map(|d| (d.line, d.kind, d.severity))
        .collect();
    use DiagnosticKind::*;
    use DiagnosticSeverity::*;
    assert_eq!(
        found,
        [
            (2, MalformedJson, Error),
            (5, MalformedJson, Error),
            (6, NotAuditEvent, Error),
            (7, TruncatedEvent, Warning),
            (8, TruncatedEvent, Error),
            (11, NotAuditEvent, Error),
            (12, InvalidUtf8, Warning),
            (1, MissingFields, Warning),
        ]
    );
    // The truncated event's missing fields are its own warning's business.
    assert_eq!(
        gap_warnings(&analysis),
        ["4 events have no userAgent (lines 1, 4, 10, 13): their client is unknown"]
    );
    assert_eq!(s.lines, 13);
    assert_eq!(s.blank_lines, 2);
    assert_eq!(s.records, 11);
    assert_eq!(s.rejected, 5);
    assert_eq!(s.events, 6 + 1 - 1); // five good, one recovered from truncation
    assert_eq!(s.warnings, 3);
    assert_lines_accounted(&s);
    for d in analysis.diagnostics() {
        assert_eq!(d.file, "bad-lines.jsonl");
        assert!(!d.message.is_empty());
    }
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    for d in analysis.diagnostics() {
        assert_eq!(d.offset as usize, line_starts[d.line as usize - 1], "{d}");
    }
    let truncated: Vec<_> = analysis.requests().iter().filter(|e| e.truncated).collect();
    assert_eq!(truncated.len(), 1);
    let ua = analysis.interner().resolve(
        analysis
            .requests()
            .iter()
            .find(|e| !e.user_agent.is_empty())
            .unwrap()
            .user_agent,
    );
    assert_eq!(ua, "kubectl\u{fffd}\u{fffd}");
    assert_chunk_invariant("bad-lines.jsonl", &bytes);
}

/// (That the framer never holds such a line, whatever the chunking, is proven in
/// `ingest::framing`'s tests.)
#[test]
fn over_long_lines_are_skipped_and_reported_in_every_chunking() {
    let good = fixture("eventlists.jsonl");
    let mut bytes = good.clone();
    bytes.extend_from_slice(&vec![b'x'; 10_000]);
    bytes.push(b'\n');
    bytes.extend_from_slice(&good);
    let limits = Limits {
        max_record_bytes: 4096,
        ..Limits::default()
    };
    for chunk in [1, 7, 4096, usize::MAX] {
        let analysis = analyze_chunked("long.jsonl", &bytes, chunk, limits);
        let s = analysis.summary();
        let kinds: Vec<_> = analysis
            .diagnostics()
            .iter()
            .map(|d| (d.line, d.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                (3, DiagnosticKind::RecordTooLong),
                (1, DiagnosticKind::MissingFields)
            ],
            "chunk {chunk}"
        );
        assert!(analysis.diagnostics()[0].message.contains("10000 bytes"));
        assert_eq!(s.events, 12);
        assert_lines_accounted(&s);
    }
}

#[test]
fn gzip_is_detected_by_magic_bytes_and_members_concatenate() {
    let bytes = corpus("audit2rbac/demo.v1beta1.ndjson");
    let cut = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    let mut two_members = gzip(&bytes[..cut]);
    two_members.extend(gzip(&bytes[cut..]));
    let analysis = analyze("audit-2026-03-01T10-00-00.000.log.gz", &two_members);
    let s = analysis.summary();
    assert_eq!((s.lines, s.events, s.requests), (757, 757, 437));
    assert_eq!(s.files[0].format, "JSON lines (gzip)");
    assert_eq!(s.files[0].decoded_bytes, bytes.len() as u64);
    assert_eq!(s.files[0].bytes, two_members.len() as u64);
}

#[test]
fn a_cut_gzip_stream_reports_and_keeps_what_it_read() {
    let bytes = corpus("audit2rbac/demo.v1beta1.ndjson");
    let compressed = gzip(&bytes);
    let cut = &compressed[..compressed.len() / 2];
    let analysis = analyze("cut.log.gz", cut);
    let s = analysis.summary();
    assert!(s.events > 100 && s.events < 757, "{s:?}");
    let kinds: Vec<_> = analysis.diagnostics().iter().map(|d| d.kind).collect();
    assert!(kinds.contains(&DiagnosticKind::GzipError), "{kinds:?}");
}

/// gzip at the best compression, as a bomb is made.
fn gzip_best(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn a_decompression_bomb_stops_after_a_few_megabytes() {
    // 48 gzip members of 1 MiB of newlines each, read as one stream: 48 MiB inflate from
    // about 50 KB, a ratio of about 1000.
    const MIB: usize = 1024 * 1024;
    let member = gzip_best(&vec![b'\n'; MIB]);
    let bomb = member.repeat(48);
    let analysis = analyze_chunked("bomb.log.gz", &bomb, 256 * 1024, Limits::default());
    let file = &analysis.summary().files[0];
    let bomb_diagnostics: Vec<_> = analysis
        .diagnostics()
        .iter()
        .filter(|d| d.kind == DiagnosticKind::DecompressedLimit)
        .collect();
    assert_eq!(bomb_diagnostics.len(), 1, "{:?}", analysis.diagnostics());
    let message = &bomb_diagnostics[0].message;
    assert!(message.contains("decompression bomb"), "{message}");
    assert!(message.contains("--max-gzip-ratio"), "{message}");
    assert_eq!(bomb_diagnostics[0].file, "bomb.log.gz");
    // Stopped just past the floor, long before the end.
    assert!(
        file.decoded_bytes >= auditlens_core::ingest::RATIO_FLOOR
            && file.decoded_bytes < 2 * auditlens_core::ingest::RATIO_FLOOR,
        "{file:?}"
    );
    // With the limit off, the whole file is read, every line accounted for.
    let limits = Limits {
        max_gzip_ratio: 0,
        ..Limits::default()
    };
    let analysis = analyze_chunked("bomb.log.gz", &bomb, 256 * 1024, limits);
    let file = &analysis.summary().files[0];
    assert_eq!(file.decoded_bytes, 48 * MIB as u64);
    assert_eq!(file.lines, 48 * MIB as u64);
    assert!(analysis.diagnostics().is_empty());
}

#[test]
fn a_real_log_past_the_floor_is_not_taken_for_a_bomb() {
    // Forty copies of a real API server log (19 MB, past the 16 MiB floor), with their auditIDs
    // kept apart, inflate about 25 times.
    let one = corpus("audit2rbac/demo.v1beta1.ndjson");
    let text = String::from_utf8(one).unwrap();
    let mut log = String::new();
    for copy in 0..40 {
        log.push_str(&text.replace("\"auditID\":\"", &format!("\"auditID\":\"{copy}-")));
    }
    let compressed = gzip_best(log.as_bytes());
    let ratio = log.len() as f64 / compressed.len() as f64;
    assert!(ratio > 10.0 && ratio < 200.0, "{ratio}");
    assert!(log.len() as u64 > auditlens_core::ingest::RATIO_FLOOR);
    let analysis = analyze_chunked("big.log.gz", &compressed, 256 * 1024, Limits::default());
    let file = &analysis.summary().files[0];
    assert_eq!(file.decoded_bytes, log.len() as u64);
    assert!(
        analysis
            .diagnostics()
            .iter()
            .all(|d| d.kind != DiagnosticKind::DecompressedLimit),
        "{:?}",
        analysis.diagnostics()
    );
}

#[test]
fn decompressed_size_is_limited() {
    let bytes = corpus("audit2rbac/demo.v1beta1.ndjson");
    let limits = Limits {
        max_decoded_bytes: 10_000,
        ..Limits::default()
    };
    for input in [bytes.clone(), gzip(&bytes)] {
        let analysis = analyze_chunked("big.log", &input, 4096, limits);
        let kinds: Vec<_> = analysis.diagnostics().iter().map(|d| d.kind).collect();
        assert!(
            kinds.contains(&DiagnosticKind::DecompressedLimit),
            "{kinds:?}"
        );
        assert_eq!(analysis.summary().files[0].decoded_bytes, 10_000);
    }
}

#[test]
fn a_file_that_is_not_an_audit_log_says_what_was_expected() {
    let analysis = analyze("notes.txt", b"hello\nworld\n");
    let last = analysis.diagnostics().last().unwrap();
    assert!(
        last.message.contains("no audit events found in notes.txt"),
        "{last}"
    );
    assert!(last.message.contains("JSON lines"));
    let empty = analyze("empty.log", b"");
    assert_eq!(empty.summary().lines, 0);
    assert!(empty.diagnostics().is_empty());
}

#[test]
fn an_unterminated_array_reports_its_last_event() {
    let bytes = fixture("array-pretty.json");
    let cut = &bytes[..bytes.len() - 200];
    let analysis = analyze("cut.json", cut);
    assert_eq!(analysis.summary().events, 5);
    let kinds: Vec<_> = analysis.diagnostics().iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [
            DiagnosticKind::UnterminatedDocument,
            DiagnosticKind::MissingFields
        ]
    );
}

#[test]
fn several_files_form_one_analysis() {
    let mut analysis = Analysis::new(Limits::default());
    let a = analysis.add_file("falco.ndjson");
    let b = analysis.add_file("aks.ndjson");
    let falco = corpus("falco/events.ndjson");
    let aks = corpus("aks-sysdig/inner-events.ndjson");
    // Interleaved pushes.
    for (x, y) in falco.chunks(1000).zip(aks.chunks(1000)) {
        analysis.push(a, x);
        analysis.push(b, y);
    }
    for x in falco.chunks(1000).skip(aks.chunks(1000).count()) {
        analysis.push(a, x);
    }
    analysis.finish();
    let s = analysis.summary();
    assert_eq!(s.files.len(), 2);
    assert_eq!(s.files[0].events, 51);
    assert_eq!(s.files[1].events, 23);
    assert_eq!(s.events, 74);
    assert_eq!(s.files[1].requests, 23);
}

#[test]
fn a_file_that_cannot_be_read_to_its_end_keeps_what_was_read_and_says_where_it_stopped() {
    let lines: Vec<String> = (0..4)
        .map(|i| {
            format!(
                r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"r{i}","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{{"username":"alice"}},"sourceIPs":["10.0.0.1"],"objectRef":{{"resource":"pods"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"2026-03-02T10:00:0{i}Z","stageTimestamp":"2026-03-02T10:00:0{i}Z"}}"#
            ) + "\n"
        })
        .collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let whole = analyze("log.jsonl", lines.concat().as_bytes());
    // Two whole lines and half of the third are read, then the reader fails.
    let read = format!("{}{}", lines[0], lines[1]);
    let half = &lines[2][..lines[2].len() / 2];
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file("log.jsonl");
    analysis.push(file, read.as_bytes());
    analysis.push(file, half.as_bytes());
    analysis.read_failed(file, "NotReadableError: the file changed");
    analysis.push(file, lines[3].as_bytes());
    analysis.finish();
    let failed: Vec<_> = analysis
        .diagnostics()
        .iter()
        .filter(|d| d.kind == DiagnosticKind::ReadError)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].file, "log.jsonl");
    assert_eq!(failed[0].severity, DiagnosticSeverity::Error);
    assert_eq!(
        (failed[0].line, failed[0].offset),
        (3, (read.len() + half.len()) as u64)
    );
    assert!(failed[0]
        .message
        .contains("NotReadableError: the file changed"));
    let summary = analysis.summary();
    assert_eq!(
        summary.files[0].diagnostics,
        analysis.diagnostics().len() as u64
    );
    // What was read stays: the first two lines' events, and nothing pushed after the failure.
    let events_in = |lines: &[&str]| analyze("part", lines.concat().as_bytes()).summary().events;
    assert_eq!(summary.events, events_in(&lines[..2]));
    assert_eq!((summary.events, whole.summary().events), (2, 4));
}
