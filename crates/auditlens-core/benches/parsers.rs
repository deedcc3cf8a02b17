//! serde_json against two SIMD JSON parsers (simd-json, sonic-rs) on these events: is a SIMD
//! JSON parser worth it here?
//!
//! `cargo bench -p auditlens-core --bench parsers`. All three parse every line of a simulated
//! log into the same borrowed struct (the fields the analysis reads, bodies skipped), so the
//! comparison is of the parsers alone:
//! - `serde_json`: as the core reads a record (one UTF-8 check, then `from_str`);
//! - `simd_json`: the line copied into a reusable buffer (the parser unescapes in place), then
//!   `simd_json::serde::from_slice`;
//! - `sonic_rs` (native builds only): `sonic_rs::from_slice` on the line as it is (it validates
//!   UTF-8 itself).

#![allow(clippy::unwrap_used)]

use std::borrow::Cow;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde::de::IgnoredAny;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fields<'a> {
    #[serde(borrow)]
    level: Option<Cow<'a, str>>,
    #[serde(rename = "auditID", borrow)]
    audit_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    stage: Option<Cow<'a, str>>,
    #[serde(rename = "requestURI", borrow)]
    request_uri: Option<Cow<'a, str>>,
    #[serde(borrow)]
    verb: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user: Option<User<'a>>,
    #[serde(rename = "sourceIPs", borrow)]
    source_ips: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow)]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow)]
    object_ref: Option<ObjectRef<'a>>,
    response_status: Option<Status>,
    request_object: Option<IgnoredAny>,
    response_object: Option<IgnoredAny>,
    #[serde(borrow)]
    request_received_timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    annotations: Option<Annotations<'a>>,
}

#[derive(Deserialize)]
struct User<'a> {
    #[serde(borrow)]
    username: Option<Cow<'a, str>>,
    #[serde(borrow)]
    groups: Option<Vec<Cow<'a, str>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectRef<'a> {
    #[serde(borrow)]
    resource: Option<Cow<'a, str>>,
    #[serde(borrow)]
    namespace: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    api_group: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Status {
    code: Option<u16>,
}

#[derive(Deserialize)]
struct Annotations<'a> {
    #[serde(rename = "authorization.k8s.io/decision", borrow)]
    decision: Option<Cow<'a, str>>,
}

/// A digest of what was parsed, so that no field can be optimized away.
fn digest(f: &Fields<'_>) -> usize {
    let len = |s: &Option<Cow<'_, str>>| s.as_ref().map_or(0, |s| s.len());
    let user = f.user.as_ref().map_or(0, |u| {
        len(&u.username)
            + u.groups
                .as_ref()
                .map_or(0, |g| g.iter().map(|s| s.len()).sum())
    });
    let object = f.object_ref.as_ref().map_or(0, |o| {
        len(&o.resource) + len(&o.namespace) + len(&o.name) + len(&o.api_group)
    });
    let ips = f.source_ips.as_ref().map_or(0, Vec::len);
    let code = f.response_status.as_ref().and_then(|s| s.code).unwrap_or(0) as usize;
    let bodies = usize::from(f.request_object.is_some()) + usize::from(f.response_object.is_some());
    let decision = f.annotations.as_ref().map_or(0, |a| len(&a.decision));
    len(&f.level)
        + len(&f.audit_id)
        + len(&f.stage)
        + len(&f.request_uri)
        + len(&f.verb)
        + len(&f.user_agent)
        + len(&f.request_received_timestamp)
        + user
        + object
        + ips
        + code
        + bodies
        + decision
}

fn lines() -> (Vec<u8>, Vec<std::ops::Range<usize>>) {
    let log = auditlens_sim::benchmark_log(32_000_000);
    let mut ranges = Vec::new();
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', &log) {
        if end > start {
            ranges.push(start..end);
        }
        start = end + 1;
    }
    (log, ranges)
}

fn parsers(c: &mut Criterion) {
    let (log, ranges) = lines();
    // The parsers must agree on every line before their speed means anything.
    let mut buffer = Vec::new();
    for range in &ranges {
        let line = &log[range.clone()];
        let a = digest(&serde_json::from_str(simdutf8::basic::from_utf8(line).unwrap()).unwrap());
        buffer.clear();
        buffer.extend_from_slice(line);
        let b = digest(&simd_json::serde::from_slice::<Fields<'_>>(&mut buffer).unwrap());
        assert_eq!(a, b, "the parsers disagree on a line");
        #[cfg(not(target_arch = "wasm32"))]
        assert_eq!(
            a,
            digest(&sonic_rs::from_slice::<Fields<'_>>(line).unwrap()),
            "the parsers disagree on a line"
        );
    }
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(log.len() as u64));
    group.sample_size(10);
    group.bench_function("serde_json", |b| {
        b.iter(|| {
            let mut total = 0;
            for range in &ranges {
                let text = simdutf8::basic::from_utf8(&log[range.clone()]).unwrap();
                total += digest(&serde_json::from_str(text).unwrap());
            }
            black_box(total)
        });
    });
    group.bench_function("simd_json", |b| {
        let mut buffer = Vec::new();
        b.iter(|| {
            let mut total = 0;
            for range in &ranges {
                buffer.clear();
                buffer.extend_from_slice(&log[range.clone()]);
                total += digest(&simd_json::serde::from_slice::<Fields<'_>>(&mut buffer).unwrap());
            }
            black_box(total)
        });
    });
    #[cfg(not(target_arch = "wasm32"))]
    group.bench_function("sonic_rs", |b| {
        b.iter(|| {
            let mut total = 0;
            for range in &ranges {
                total += digest(&sonic_rs::from_slice::<Fields<'_>>(&log[range.clone()]).unwrap());
            }
            black_box(total)
        });
    });
    group.finish();
}

criterion_group!(benches, parsers);
criterion_main!(benches);
