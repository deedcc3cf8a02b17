//! What is learned per identity stays bounded: one identity that shows up from ten times as
//! many distinct IPs and user agents does not leave a baseline ten times larger, while the
//! distinct counts it reports still grow with the input.

#![allow(clippy::disallowed_methods, clippy::unwrap_used)]

use auditlens_core::{Analysis, Limits};

/// `n` requests of one user, each from its own IP and user agent, one second apart.
fn log(n: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        let (day, rest) = (1 + i / 86_400, i % 86_400);
        let (h, m, s) = (rest / 3600, rest / 60 % 60, rest % 60);
        let line = format!(
            concat!(
                r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","#,
                r#""auditID":"00000000-0000-4000-8000-{i:012}","stage":"ResponseComplete","#,
                r#""requestURI":"/api/v1/namespaces/default/pods","verb":"list","#,
                r#""user":{{"username":"alice@example.com","groups":["system:authenticated"]}},"#,
                r#""sourceIPs":["10.{a}.{b}.{c}"],"userAgent":"tool-{i}/v1.0","#,
                r#""objectRef":{{"resource":"pods","namespace":"default","apiVersion":"v1"}},"#,
                r#""responseStatus":{{"code":200}},"#,
                r#""requestReceivedTimestamp":"2026-03-{day:02}T{h:02}:{m:02}:{s:02}.000000Z"}}"#,
                "\n"
            ),
            i = i,
            a = i >> 16 & 255,
            b = i >> 8 & 255,
            c = i & 255,
            day = day,
            h = h,
            m = m,
            s = s,
        );
        out.extend_from_slice(line.as_bytes());
    }
    out
}

/// The baseline learned from `n` such requests, as JSON, and the distinct source IPs the
/// identity's profile reports.
fn learn(n: u32) -> (usize, u64) {
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file("wide.log");
    analysis.push(file, &log(n));
    analysis.finish();
    assert_eq!(analysis.summary().requests, u64::from(n));
    let profile = &analysis.identity_profiles()[0];
    assert_eq!(profile.identity, "alice@example.com");
    (
        analysis.baseline().to_json().len(),
        profile.distinct_source_ips,
    )
}

#[test]
fn ten_times_the_distinct_values_does_not_grow_the_baseline() {
    let (small, small_ips) = learn(6_000);
    let (large, large_ips) = learn(60_000);
    assert!(
        large < small + small / 4,
        "baseline grew from {small} to {large} bytes for ten times the distinct values"
    );
    // The sketches still see how many distinct values there were (HyperLogLog, a few %).
    assert!((5_400..6_600).contains(&small_ips), "{small_ips}");
    assert!((54_000..66_000).contains(&large_ips), "{large_ips}");
}
