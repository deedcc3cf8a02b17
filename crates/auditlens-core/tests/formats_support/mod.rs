//! What the format tests share: reading fixtures, running an analysis in chunks, and the
//! normalized view of its requests that two forms of the same log must agree on.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, dead_code)]

use std::io::{Read, Write};
use std::path::PathBuf;

use auditlens_core::{Analysis, Event, Limits, Summary};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn read(relative: &str) -> Vec<u8> {
    let path = repo_root().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn corpus(relative: &str) -> Vec<u8> {
    read(&format!("tests/fixtures/third-party/{relative}"))
}

pub fn fixture(name: &str) -> Vec<u8> {
    read(&format!("tests/fixtures/formats/{name}"))
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Analyses `bytes` as one file pushed in chunks of `chunk` bytes.
pub fn analyze_chunked(name: &str, bytes: &[u8], chunk: usize) -> Analysis {
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file(name);
    for piece in bytes.chunks(chunk.max(1)) {
        analysis.push(file, piece);
    }
    analysis.finish();
    analysis
}

pub fn analyze(name: &str, bytes: &[u8]) -> Analysis {
    analyze_chunked(name, bytes, 64 * 1024)
}

/// Everything observable about an analysis, to compare two runs over the same bytes.
pub fn fingerprint(analysis: &Analysis) -> String {
    let mut out = serde_json::to_string_pretty(&analysis.report()).unwrap();
    for event in analysis.requests() {
        out.push_str(&format!("\n{event:?}"));
    }
    out
}

/// The same result fed whole and in 1, 7 and 4096-byte chunks, plain and gzip.
pub fn assert_chunk_invariant(name: &str, plain: &[u8]) {
    let whole = fingerprint(&analyze_chunked(name, plain, usize::MAX));
    for chunk in [1, 7, 4096] {
        let chunked = fingerprint(&analyze_chunked(name, plain, chunk));
        assert_eq!(
            whole, chunked,
            "{name}: {chunk}-byte chunks differ from one push"
        );
    }
    let compressed = gzip(plain);
    let gz_whole = analyze_chunked(name, &compressed, usize::MAX);
    for chunk in [1, 7, 4096] {
        let gz = analyze_chunked(name, &compressed, chunk);
        assert_eq!(
            fingerprint(&gz_whole),
            fingerprint(&gz),
            "{name}: gzip, {chunk}-byte chunks"
        );
    }
    let plain_run = analyze(name, plain);
    assert_eq!(
        plain_run.requests(),
        gz_whole.requests(),
        "{name}: gzip gives other events"
    );
    assert_eq!(
        plain_run.diagnostics(),
        gz_whole.diagnostics(),
        "{name}: gzip diagnostics"
    );
}

/// Every record accepted, rejected or skipped; every line a record or blank (lines layout).
pub fn assert_accounted(summary: &Summary, lines_layout: bool) {
    for file in &summary.files {
        assert_eq!(
            file.records,
            file.accepted + file.rejected + file.skipped,
            "{file:#?}"
        );
        assert!(file.events >= file.accepted, "{file:#?}");
        if lines_layout {
            assert_eq!(file.lines, file.blank_lines + file.records, "{file:#?}");
        }
    }
    assert_eq!(
        summary.records,
        summary.accepted + summary.rejected + summary.skipped
    );
}

/// One request with every normalized field resolved, its source left out.
pub fn describe(analysis: &Analysis, e: &Event) -> String {
    let i = analysis.interner();
    let list = |id| i.list(id).iter().map(|&s| i.resolve(s)).collect::<Vec<_>>();
    format!(
        "{} {:?} seen={} {:?} recv={} user={} uid={} groups={:?} extra={:?} as={} \
         as_groups={:?} {} {}/{} {}/{} ns={} name={} uri={} nonres={} ips={:?} ua={} {} {} \
         code={} {:?} reason={} truncated={}",
        i.audit_id_text(e.audit_id),
        e.stage,
        e.stages_seen,
        e.level,
        e.received,
        i.resolve(e.user),
        i.resolve(e.uid),
        list(e.groups),
        list(e.extra),
        i.resolve(e.impersonated_user),
        list(e.impersonated_groups),
        i.resolve(e.verb),
        i.resolve(e.api_group),
        i.resolve(e.api_version),
        i.resolve(e.resource),
        i.resolve(e.subresource),
        i.resolve(e.namespace),
        i.resolve(e.name),
        i.resolve(e.request_uri),
        e.non_resource,
        list(e.source_ips),
        i.resolve(e.user_agent),
        i.resolve(e.client),
        i.resolve(e.client_version),
        e.code,
        e.decision,
        i.resolve(e.reason),
        e.truncated,
    )
}

/// Every request, described and sorted (the order of equal timestamps may differ by form).
pub fn normalized(analysis: &Analysis) -> Vec<String> {
    let mut out: Vec<String> = analysis
        .requests()
        .iter()
        .map(|e| describe(analysis, e))
        .collect();
    out.sort();
    out
}

/// Asserts that two analyses hold the same requests, naming the first difference.
pub fn assert_same_requests(name: &str, got: &Analysis, want: &Analysis) {
    let (got, want) = (normalized(got), normalized(want));
    assert!(!want.is_empty(), "{name}: the reference has no requests");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "{name}: first differing request");
    }
    assert_eq!(got.len(), want.len(), "{name}: number of requests");
}
