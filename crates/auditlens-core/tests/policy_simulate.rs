//! `policy simulate`: the volume a policy would write, from the records' own sizes, and what it
//! would no longer see.
#![allow(clippy::unwrap_used)]

use auditlens_core::policy::{self, retention, volume};
use auditlens_core::{Analysis, Limits};

const LEASE_RR: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"lease-1","stage":"RequestReceived","requestURI":"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kcm","verb":"update","user":{"username":"system:kube-controller-manager","groups":["system:authenticated"]},"objectRef":{"resource":"leases","namespace":"kube-system","name":"kcm","apiGroup":"coordination.k8s.io","apiVersion":"v1"},"requestReceivedTimestamp":"2026-03-02T10:00:00.000000Z","stageTimestamp":"2026-03-02T10:00:00.000000Z"}"#;
const LEASE_RC: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"lease-1","stage":"ResponseComplete","requestURI":"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kcm","verb":"update","user":{"username":"system:kube-controller-manager","groups":["system:authenticated"]},"objectRef":{"resource":"leases","namespace":"kube-system","name":"kcm","apiGroup":"coordination.k8s.io","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-03-02T10:00:00.000000Z","stageTimestamp":"2026-03-02T10:00:00.010000Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}"#;
const EXEC: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"exec-1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/shop/pods/web/exec?command=sh","verb":"create","user":{"username":"alice@example.com","groups":["system:authenticated"]},"objectRef":{"resource":"pods","namespace":"shop","name":"web","apiVersion":"v1","subresource":"exec"},"responseStatus":{"metadata":{},"code":101},"requestReceivedTimestamp":"2026-03-02T11:00:00.000000Z","stageTimestamp":"2026-03-02T11:00:05.000000Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}"#;
const POD: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"pod-1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/shop/pods","verb":"create","user":{"username":"alice@example.com","groups":["system:authenticated"]},"objectRef":{"resource":"pods","apiVersion":"v1","namespace":"shop","name":"web"},"responseStatus":{"metadata":{},"code":201},"requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","namespace":"shop"},"spec":{"hostPID":true,"containers":[{"name":"debug","image":"shop/tools:2"}]}},"requestReceivedTimestamp":"2026-03-03T12:00:00.000000Z","stageTimestamp":"2026-03-03T12:00:00.000000Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}"#;

fn analysis() -> Analysis {
    let log = [LEASE_RR, LEASE_RC, EXEC, POD].join("\n") + "\n";
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file("a.log");
    analysis.push(file, log.as_bytes());
    analysis.finish();
    // Fields these hand-made events leave out are said once per file; nothing else.
    assert!(analysis
        .diagnostics()
        .iter()
        .all(|d| d.kind == auditlens_core::DiagnosticKind::MissingFields));
    analysis
}

fn simulate(rules: &str) -> volume::Simulation {
    let text = format!(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n{rules}"
    );
    let file = policy::read(&text);
    volume::simulate(file.loaded().unwrap(), &analysis(), 10)
}

fn body_len() -> u64 {
    let body = POD.split(r#""requestObject":"#).nth(1).unwrap();
    let body = &body[..body.find(r#","requestReceivedTimestamp""#).unwrap()];
    (r#","requestObject":"#.len() + body.len()) as u64
}

#[test]
fn observed_volume_is_what_the_records_hold() {
    let sim = simulate("- level: Metadata\n");
    // Four records: the lease's two stages (the RequestReceived one estimated from the other),
    // the exec's and the pod's.
    assert_eq!(sim.observed.events, 4);
    let exact = (LEASE_RC.len() + EXEC.len() + POD.len()) as u64;
    let received_estimate = sim.observed.bytes - exact;
    // The estimate of the RequestReceived record is close to the real one.
    let real = LEASE_RR.len() as u64;
    assert!(
        received_estimate.abs_diff(real) * 10 < real,
        "{received_estimate} vs {real}"
    );
    assert_eq!(sim.requests, 3);
    assert_eq!(
        sim.read_bytes,
        ([LEASE_RR, LEASE_RC, EXEC, POD].join("\n").len() + 1) as u64
    );
    assert_eq!(
        sim.by_day
            .iter()
            .map(|d| d.day.as_str())
            .collect::<Vec<_>>(),
        ["2026-03-02", "2026-03-03"]
    );
}

#[test]
fn simulated_volume_follows_levels_and_stages() {
    let sim = simulate("- level: None\n  resources: [{group: coordination.k8s.io, resources: [leases]}]\n- level: Metadata\n");
    // The lease is gone; the exec is long-running: ResponseStarted and ResponseComplete; the pod
    // create: ResponseComplete at Metadata, without its body.
    assert_eq!(sim.simulated.events, 3);
    let exec_started_and_completed = 2 * EXEC.len() as u64;
    let pod_metadata = POD.len() as u64 - body_len();
    assert_eq!(
        sim.simulated.bytes,
        exec_started_and_completed + pod_metadata
    );
    let levels: Vec<(&str, u64)> = sim
        .by_level
        .iter()
        .map(|r| (r.key.as_str(), r.simulated.events))
        .collect();
    assert_eq!(
        levels,
        [
            ("None", 0),
            ("Metadata", 3),
            ("Request", 0),
            ("RequestResponse", 0)
        ]
    );
    assert_eq!(sim.by_level[2].requests, 1, "the pod was logged at Request");
    let identities: Vec<(&str, u64)> = sim
        .by_identity
        .iter()
        .map(|r| (r.key.as_str(), r.simulated.events))
        .collect();
    assert_eq!(
        identities,
        [
            ("alice@example.com", 3),
            ("system:kube-controller-manager", 0)
        ]
    );
    let resources: Vec<&str> = sim.by_resource.iter().map(|r| r.key.as_str()).collect();
    // Most observed bytes first: the lease wrote two records.
    assert_eq!(
        resources,
        ["leases.coordination.k8s.io", "pods", "pods/exec"]
    );
    // At Request the pod keeps its own body.
    let sim = simulate("- level: Request\n");
    assert_eq!(
        sim.simulated.bytes - 2 * EXEC.len() as u64 - LEASE_RC.len() as u64,
        POD.len() as u64
    );
    // Neither the lease update nor the exec was ever logged at Request: no body to go by.
    assert_eq!((sim.unknown_bodies, sim.estimated_bodies), (2, 0));
}

#[test]
fn rules_that_lose_their_level_go_blind() {
    // Metadata for everything: the hostPID rule reads the pod's body, which is gone.
    let sim = simulate("- level: Metadata\n");
    let blind: Vec<(&str, u64, u64, &str)> = sim
        .blind_rules
        .iter()
        .map(|b| (b.rule, b.hits, b.lost, b.level))
        .collect();
    assert_eq!(blind, [("k8s.pod.host_pid", 1, 1, "Request")]);
    assert_eq!(sim.blind_rules[0].examples, ["pod-1"]);
    // Exec at None: its rule goes blind too; at Request, nothing does.
    let sim = simulate(
        "- level: None\n  resources: [{group: \"\", resources: [pods/exec]}]\n- level: Request\n",
    );
    let rules: Vec<&str> = sim.blind_rules.iter().map(|b| b.rule).collect();
    assert_eq!(rules, ["k8s.pod.exec"]);
    assert!(simulate("- level: Request\n").blind_rules.is_empty());
    // Omitting the stage a hit was read from loses it as well.
    let sim = simulate("- level: Request\n  omitStages: [ResponseComplete]\n");
    let rules: Vec<&str> = sim.blind_rules.iter().map(|b| b.rule).collect();
    assert!(
        rules.contains(&"k8s.pod.host_pid") && rules.contains(&"k8s.pod.exec"),
        "{rules:?}"
    );
}

#[test]
fn a_policy_that_logs_nothing_blinds_every_rule_and_signal() {
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/demo");
    #[allow(clippy::disallowed_methods)]
    let bytes = std::fs::read(dir.join("demo-audit.log.gz")).unwrap();
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file("demo-audit.log.gz");
    analysis.push(file, &bytes);
    analysis.finish();
    let nothing =
        policy::read("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n");
    let sim = volume::simulate(nothing.loaded().unwrap(), &analysis, 10);
    assert_eq!(sim.simulated, volume::Volume::default());
    assert!(!sim.blind_rules.is_empty() && sim.blind_rules.iter().all(|b| b.lost == b.hits));
    assert!(!sim.blind_signals.is_empty());
    assert!(sim
        .blind_signals
        .iter()
        .all(|s| s.lost == s.findings && s.signal != "rule"));
    let everything = policy::read(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n",
    );
    let sim = volume::simulate(everything.loaded().unwrap(), &analysis, 10);
    assert!(sim.blind_rules.is_empty() && sim.blind_signals.is_empty());
    assert!(sim.simulated.bytes > sim.observed.bytes);
}

#[test]
fn retention_plans_from_the_simulated_volume() {
    let sim = simulate("- level: Metadata\n");
    let plan = retention::plan(&sim, true, 30, 1 << 30);
    assert_eq!(
        plan.bytes_per_day,
        (sim.simulated_per_day.bytes as f64 * 1.1).ceil() as u64
    );
    assert!(plan.fits);
    assert_eq!((plan.max_size_mib, plan.max_age_days), (100, 30));
}
