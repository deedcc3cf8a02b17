//! Whole-simulator tests: determinism, the event schema, labels, sizes and order.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde_json::Value;

use crate::{LabelKind, SimConfig, Simulator};

struct Run {
    bytes: Vec<u8>,
    labels: Vec<crate::Label>,
}

fn run(config: SimConfig) -> Run {
    let mut sim = Simulator::new(config);
    let mut bytes = Vec::new();
    while sim.next_line(&mut bytes) {}
    // Once done, it stays done.
    assert!(!sim.next_line(&mut bytes));
    Run {
        bytes,
        labels: sim.labels().to_vec(),
    }
}

fn demo() -> &'static Run {
    static DEMO: OnceLock<Run> = OnceLock::new();
    DEMO.get_or_init(|| run(SimConfig::demo()))
}

fn events(run: &Run) -> Vec<Value> {
    let text = std::str::from_utf8(&run.bytes).expect("output is UTF-8");
    assert!(text.ends_with('\n'));
    text.lines()
        .map(|line| serde_json::from_str(line).expect("every line is one JSON object"))
        .collect()
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
        })
}

fn is_micro_timestamp(text: &str) -> bool {
    // 2024-05-07T03:10:00.123456Z
    let b = text.as_bytes();
    b.len() == 27 && b[4] == b'-' && b[10] == b'T' && b[19] == b'.' && b[26] == b'Z'
}

#[test]
fn same_config_gives_identical_bytes() {
    let mut config = SimConfig::demo();
    config.target_bytes = Some(400_000);
    let (a, b) = (run(config.clone()), run(config.clone()));
    assert_eq!(a.bytes, b.bytes);
    config.seed += 1;
    assert_ne!(a.bytes, run(config).bytes);
    // The full demo too.
    assert_eq!(demo().bytes, run(SimConfig::demo()).bytes);
    assert_eq!(demo().labels, run(SimConfig::demo()).labels);
}

#[test]
fn every_line_is_an_audit_event_with_the_real_fields() {
    for event in events(demo()) {
        assert_eq!(event["kind"], "Event");
        assert_eq!(event["apiVersion"], "audit.k8s.io/v1");
        assert!(matches!(
            event["level"].as_str(),
            Some("Metadata" | "Request" | "RequestResponse")
        ));
        assert!(
            is_uuid(event["auditID"].as_str().unwrap_or_default()),
            "{event}"
        );
        let stage = event["stage"].as_str().unwrap_or_default();
        assert!(matches!(stage, "RequestReceived" | "ResponseComplete"));
        assert!(event["requestURI"]
            .as_str()
            .is_some_and(|uri| uri.starts_with('/')));
        assert!(event["verb"].as_str().is_some_and(|v| !v.is_empty()));
        assert!(event["user"]["username"]
            .as_str()
            .is_some_and(|u| !u.is_empty()));
        assert!(event["user"]["groups"].is_array());
        assert_eq!(event["sourceIPs"].as_array().map(Vec::len), Some(1));
        assert!(event["userAgent"].is_string());
        assert!(is_micro_timestamp(
            event["requestReceivedTimestamp"]
                .as_str()
                .unwrap_or_default()
        ));
        assert!(is_micro_timestamp(
            event["stageTimestamp"].as_str().unwrap_or_default()
        ));
        if let Some(object) = event.get("objectRef") {
            assert!(object["resource"].is_string());
            assert!(object["apiVersion"].is_string());
        } else {
            assert!(event["requestURI"]
                .as_str()
                .is_some_and(|uri| !uri.starts_with("/api/v1/")));
        }
        if stage == "ResponseComplete" {
            let code = event["responseStatus"]["code"].as_u64().unwrap_or_default();
            assert!([101, 200, 201, 403, 404, 409].contains(&code), "{event}");
            let decision = event["annotations"]["authorization.k8s.io/decision"].as_str();
            assert_eq!(decision == Some("forbid"), code == 403, "{event}");
            assert!(event["annotations"]["authorization.k8s.io/reason"].is_string());
        } else {
            assert!(event.get("responseStatus").is_none());
            assert!(event.get("annotations").is_none());
            assert!(event.get("requestObject").is_none());
            assert_eq!(event["requestReceivedTimestamp"], event["stageTimestamp"]);
        }
        if event["level"] == "Metadata" {
            assert!(event.get("requestObject").is_none());
        }
    }
}

#[test]
fn the_demo_has_the_expected_mix() {
    let events = events(demo());
    let count = |f: &dyn Fn(&Value) -> bool| events.iter().filter(|e| f(e)).count();
    assert!(count(&|e| e["stage"] == "RequestReceived") > 100);
    assert!(count(&|e| e["responseStatus"]["code"] == 403) > 10);
    assert!(count(&|e| e["verb"] == "watch") > 100);
    assert!(count(&|e| e["objectRef"]["resource"] == "leases") > 100);
    assert!(count(&|e| e["level"] == "RequestResponse") > 0);
    assert!(count(&|e| e["requestObject"]["spec"]["containers"].is_array()) > 10);
    assert!(
        count(&|e| e["annotations"]["pod-security.kubernetes.io/enforce-policy"].is_string()) > 10
    );
    assert!(count(&|e| e["requestURI"] == "/livez" || e["requestURI"] == "/readyz") > 0);
    assert!(count(&|e| e["impersonatedUser"]["username"] == "system:admin") > 0);
    let users: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| e["user"]["username"].as_str())
        .collect();
    for user in [
        "system:kube-controller-manager",
        "system:kube-scheduler",
        "system:apiserver",
        "system:anonymous",
        "system:serviceaccount:kube-system:deployment-controller",
        "system:serviceaccount:monitoring:prometheus",
        "system:serviceaccount:ci:deployer",
        "alice@example.com",
    ] {
        assert!(users.contains(user), "no traffic from {user}");
    }
    assert!(users.iter().any(|u| u.starts_with("system:node:")));
}

#[test]
fn every_label_points_at_an_emitted_event() {
    let run = demo();
    let ids: BTreeSet<String> = events(run)
        .iter()
        .filter_map(|e| e["auditID"].as_str().map(str::to_string))
        .collect();
    assert!(!run.labels.is_empty());
    for label in &run.labels {
        assert!(
            ids.contains(&label.audit_id),
            "label {label:?} has no event"
        );
    }
    let mut per_scenario: BTreeMap<&str, (LabelKind, usize)> = BTreeMap::new();
    for label in &run.labels {
        per_scenario
            .entry(&label.scenario)
            .or_insert((label.kind, 0))
            .1 += 1;
    }
    for scenario in crate::scenarios::SCENARIOS {
        let labelled = per_scenario.get(scenario.name);
        assert!(
            labelled.is_some_and(|(kind, n)| *kind == scenario.kind && *n > 0),
            "{} missing",
            scenario.name
        );
    }
    let json = serde_json::to_string(&run.labels[0]).expect("labels serialise");
    assert!(json.contains("\"kind\":\"attack\"") || json.contains("\"kind\":\"benign-novelty\""));
}

#[test]
fn labels_follow_the_switches() {
    let mut config = SimConfig::demo();
    config.attacks = false;
    config.benign_novelty = false;
    let quiet = run(config.clone());
    assert!(quiet.labels.is_empty());
    config.benign_novelty = true;
    let benign = run(config);
    assert!(!benign.labels.is_empty());
    assert!(benign
        .labels
        .iter()
        .all(|l| l.kind == LabelKind::BenignNovelty));
}

#[test]
fn demo_size_is_in_range() {
    let size = demo().bytes.len();
    assert!(
        (2_000_000..=4_000_000).contains(&size),
        "demo is {size} bytes"
    );
}

#[test]
fn target_bytes_is_honoured() {
    for target in [1, 50_000, 1_000_000] {
        let mut config = SimConfig::benchmark(target);
        config.seed = 3;
        let out = run(config);
        let len = out.bytes.len() as u64;
        assert!(len >= target, "{len} < {target}");
        let last_line = out.bytes[..out.bytes.len() - 1]
            .rsplit(|&b| b == b'\n')
            .next()
            .map_or(0, <[u8]>::len);
        assert!(
            len - target <= last_line as u64,
            "went past the target by more than a line"
        );
    }
}

#[test]
fn lines_come_in_time_order_and_stages_in_order() {
    let mut previous = String::new();
    let mut received = BTreeSet::new();
    for event in events(demo()) {
        let stamp = event["stageTimestamp"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(stamp >= previous, "{stamp} after {previous}");
        previous = stamp;
        let id = event["auditID"].as_str().unwrap_or_default().to_string();
        if event["stage"] == "RequestReceived" {
            assert!(received.insert(id), "two RequestReceived for one request");
        }
    }
    assert!(!received.is_empty());
}

#[test]
fn stages_off_writes_only_response_complete() {
    let mut config = SimConfig::demo();
    config.stages = false;
    config.target_bytes = Some(300_000);
    let out = run(config);
    assert!(events(&out)
        .iter()
        .all(|e| e["stage"] == "ResponseComplete"));
}

#[test]
fn zero_days_is_empty() {
    let mut config = SimConfig::demo();
    config.days = 0;
    let out = run(config);
    assert!(out.bytes.is_empty());
    assert!(out.labels.is_empty());
}

#[test]
fn odd_configurations_still_run() {
    let config = SimConfig {
        seed: 99,
        start_unix: crate::DEFAULT_START_UNIX + 13 * 3600 + 17,
        days: 1,
        nodes: 0,
        humans: 0,
        attacks: true,
        benign_novelty: true,
        target_bytes: None,
        stages: false,
        system_traffic_share: -1.0,
    };
    let out = run(config);
    let events = events(&out);
    assert!(!events.is_empty());
    let first = events[0]["stageTimestamp"].as_str().unwrap_or_default();
    assert!(first >= "2024-05-06T13:00:17", "{first}");
    // Only the scenarios after the start hour happen.
    assert!(out
        .labels
        .iter()
        .all(|l| l.scenario != "exec-prod-at-night"));
    assert!(out.labels.iter().any(|l| l.scenario == "secrets-sweep"));
}
