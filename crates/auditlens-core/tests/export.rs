//! The OCSF and ECS records of findings: one per finding, in order, filled from the request
//! behind it, grouped by incident with keys that do not change between runs. Conformance to the
//! schemas themselves is checked by `scripts/validate-outputs.sh`.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use auditlens_core::export::{self, Schema};
use auditlens_core::{Analysis, Limits, Severity};
use serde_json::Value;

fn analyze(name: &str, bytes: &[u8], chunk: usize) -> Analysis {
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file(name);
    for piece in bytes.chunks(chunk) {
        analysis.push(file, piece);
    }
    analysis.finish();
    analysis
}

fn demo() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/demo/demo-audit.log.gz");
    std::fs::read(path).unwrap()
}

#[test]
fn every_finding_is_one_record_in_order_with_its_severity() {
    let analysis = analyze("demo.log.gz", &demo(), 1 << 16);
    let findings = analysis.findings();
    assert!(findings.len() > 50);
    let ocsf = export::records(&analysis, Schema::Ocsf, |_| true);
    let ecs = export::records(&analysis, Schema::Ecs, |_| true);
    assert_eq!((ocsf.len(), ecs.len()), (findings.len(), findings.len()));
    let number = |s: Severity| match s {
        Severity::Info => 1,
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
        Severity::Critical => 5,
    };
    let mut severities = BTreeSet::new();
    for ((f, o), e) in findings.iter().zip(&ocsf).zip(&ecs) {
        severities.insert(f.severity);
        assert_eq!(o["class_uid"], 2004);
        assert_eq!(o["type_uid"], 200_401);
        assert_eq!(o["finding_info"]["uid"], f.request_key());
        assert_eq!(o["severity_id"], number(f.severity));
        assert_eq!(o["risk_score"], f.score);
        assert_eq!(o["is_alert"], f.severity >= Severity::Medium);
        assert_eq!(e["event"]["severity"], number(f.severity));
        assert_eq!(e["event"]["id"], f.request_key());
        assert_eq!(e["@timestamp"], f.timestamp.as_str());
        assert_eq!(e["event"]["action"], f.verb.as_str());
        // A finding of rules names its most severe rule, and the techniques of all of them.
        if let Some(first) = f.rules.first() {
            let top = o["finding_info"]["analytic"]["uid"].as_str().unwrap();
            assert!(f.rules.iter().any(|r| r == top), "{top} {first}");
            assert_eq!(e["rule"]["id"], top);
            let count = |v: &Value| v.as_array().map_or(0, Vec::len);
            let techniques = count(&e["threat"]["technique"]["id"]);
            assert_eq!(count(&o["finding_info"]["attacks"]), techniques);
            let expected: BTreeSet<&str> = f
                .rules
                .iter()
                .flat_map(|id| {
                    auditlens_core::rules::rule(id)
                        .unwrap()
                        .techniques
                        .iter()
                        .copied()
                })
                .collect();
            assert_eq!(techniques, expected.len());
        } else {
            assert_eq!(o["finding_info"]["analytic"]["type"], "Behavioral");
            assert!(e.get("rule").is_none());
        }
    }
    assert!(
        severities.len() >= 3,
        "the demo has several severities: {severities:?}"
    );
    // The severity filter of the CLI keeps the order and drops the rest.
    let high = export::records(&analysis, Schema::Ocsf, |f| f.severity >= Severity::High);
    let expected: Vec<&str> = findings
        .iter()
        .filter(|f| f.severity >= Severity::High)
        .map(|f| f.request_key())
        .collect();
    let got: Vec<&str> = high
        .iter()
        .map(|r| r["finding_info"]["uid"].as_str().unwrap())
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn findings_of_one_incident_share_a_group_key_that_does_not_change_between_runs() {
    let bytes = demo();
    let analysis = analyze("demo.log.gz", &bytes, 1 << 16);
    let records = export::records(&analysis, Schema::Ecs, |_| true);
    let mut keys: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    for (f, r) in analysis.findings().iter().zip(&records) {
        let key = r["auditlens"]["group"].as_str().unwrap().to_string();
        assert!(key.starts_with("auditlens-") && key.len() == 26, "{key}");
        if let Some(incident) = f.incident {
            keys.entry(incident).or_default().insert(key);
        }
    }
    assert!(keys.len() >= 2, "the demo has incidents");
    for (incident, set) in &keys {
        assert_eq!(set.len(), 1, "incident {incident}: {set:?}");
    }
    let distinct: BTreeSet<&String> = keys.values().flatten().collect();
    assert_eq!(distinct.len(), keys.len(), "each incident its own key");
    // Another run over the same events, read in other chunks, writes the same records.
    let again = analyze("demo.log.gz", &bytes, 4093);
    assert_eq!(export::records(&again, Schema::Ecs, |_| true), records);
    assert_eq!(
        export::records(&again, Schema::Ocsf, |_| true),
        export::records(&analysis, Schema::Ocsf, |_| true)
    );
}

#[test]
fn the_request_behind_a_finding_fills_the_evidence() {
    let analysis = analyze("demo.log.gz", &demo(), 1 << 16);
    let ocsf = export::records(&analysis, Schema::Ocsf, |_| true);
    let ecs = export::records(&analysis, Schema::Ecs, |_| true);
    let at = analysis
        .findings()
        .iter()
        .position(|f| !f.actor.is_empty() && f.actor != f.identity)
        .expect("the demo has an impersonation");
    let f = &analysis.findings()[at];
    let (o, e) = (&ocsf[at], &ecs[at]);
    let evidence = &o["evidences"][0];
    assert_eq!(evidence["actor"]["user"]["name"], f.identity.as_str());
    assert_eq!(evidence["actor"]["invoked_by"], f.actor.as_str());
    assert_eq!(evidence["api"]["operation"], f.verb.as_str());
    assert!(evidence["src_endpoint"]["ip"]
        .as_str()
        .unwrap()
        .parse::<std::net::IpAddr>()
        .is_ok());
    assert!(
        evidence["http_request"]["user_agent"]
            .as_str()
            .unwrap()
            .len()
            > 3
    );
    assert!(evidence["api"]["response"]["code"].as_u64().is_some());
    assert_eq!(e["user"]["name"], f.actor.as_str());
    assert_eq!(e["user"]["effective"]["name"], f.identity.as_str());
    assert_eq!(
        e["kubernetes"]["audit"]["impersonatedUser"]["username"],
        f.identity.as_str()
    );
    assert_eq!(e["source"]["ip"], evidence["src_endpoint"]["ip"]);
    assert_eq!(
        e["related"]["user"],
        serde_json::json!([f.actor.as_str(), f.identity.as_str()])
    );
}

#[test]
fn an_address_that_is_none_and_a_patch_are_written_as_each_schema_allows() {
    let event = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"p1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/configmaps/app?fieldManager=x","verb":"patch","user":{"username":"system:anonymous","groups":["system:unauthenticated"]},"sourceIPs":["not-an-ip"],"userAgent":"curl/8.0","objectRef":{"resource":"configmaps","namespace":"default","name":"app","apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-03-02T10:00:00Z","stageTimestamp":"2026-03-02T10:00:00Z"}"#;
    let analysis = analyze("one.log", format!("{event}\n").as_bytes(), 1 << 16);
    assert_eq!(analysis.findings().len(), 1, "the anonymous write is found");
    let o: &Value = &export::records(&analysis, Schema::Ocsf, |_| true)[0];
    let e: &Value = &export::records(&analysis, Schema::Ecs, |_| true)[0];
    let evidence = &o["evidences"][0];
    // Not an address: kept as the endpoint's name, never as an ip field.
    assert_eq!(
        evidence["src_endpoint"],
        serde_json::json!({ "name": "not-an-ip" })
    );
    assert!(e.get("source").is_none());
    assert!(e["related"].get("ip").is_none());
    assert_eq!(
        e["kubernetes"]["audit"]["sourceIPs"],
        serde_json::json!(["not-an-ip"])
    );
    // OCSF 1.5 lists no PATCH method; ECS takes it.
    assert!(evidence["http_request"].get("http_method").is_none());
    assert_eq!(e["http"]["request"]["method"], "PATCH");
    assert_eq!(
        evidence["http_request"]["url"]["query_string"],
        "fieldManager=x"
    );
    assert_eq!(e["url"]["query"], "fieldManager=x");
    assert_eq!(e["event"]["type"], serde_json::json!(["change"]));
    assert_eq!(o["finding_info"]["related_events"][0]["type_uid"], 600_303);
    assert_eq!(
        o["resources"][0]["uid"],
        "/api/v1/namespaces/default/configmaps/app"
    );
    assert_eq!(o["time"], 1_772_445_600_000_i64);
}
