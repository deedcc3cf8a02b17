//! A baseline file of arbitrary text: read or refused, never a panic; one that reads can be
//! used to score a small log.
#![no_main]

use auditlens_core::{Analysis, Baseline, Limits};

const LOG: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"list","user":{"username":"alice","groups":["system:authenticated"]},"sourceIPs":["10.0.0.1"],"userAgent":"kubectl/v1.29.2","objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-03-02T10:00:00.000000Z","stageTimestamp":"2026-03-02T10:00:00.100000Z"}"#;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(baseline) = Baseline::from_json(text) else {
        return;
    };
    let mut analysis = Analysis::new(Limits::default()).with_baseline(baseline);
    let file = analysis.add_file("a.log");
    analysis.push(file, LOG.as_bytes());
    analysis.finish();
    let _ = analysis.baseline().to_json();
});
