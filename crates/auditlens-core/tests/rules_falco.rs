//! The Falco k8s-audit regression events against our rules.
//!
//! Every line of `tests/fixtures/third-party/falco/events.ndjson` is analysed on its own (two lines reuse
//! an auditID, so one file would merge them). `labels.jsonl` names, per line, the Falco rules
//! it must trigger and the Falco tests that used it, with the extra rule files each test
//! loaded. [`FALCO_TO_OURS`] maps Falco's rule names to our ids and [`falco_file`] maps each
//! extra rule file to the equivalent [`RuleConfig`] change, so every Falco test is replayed
//! with the same site policy.
// Tests read their fixtures from disk and fail loudly.
#![allow(clippy::disallowed_methods, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use auditlens_core::rules::{self, RuleConfig, RuleKind};
use auditlens_core::{Analysis, Limits};

/// Falco rule name → our rule id (`None`: a Falco test-only rule with no counterpart).
const FALCO_TO_OURS: &[(&str, Option<&str>)] = &[
    ("Anonymous Request Allowed", Some("k8s.anonymous.allowed")),
    (
        "Attach to cluster-admin Role",
        Some("k8s.rbac.binding.cluster_admin"),
    ),
    ("Attach/Exec Pod", Some("k8s.pod.exec")),
    (
        "ClusterRole With Pod Exec Created",
        Some("k8s.rbac.role.pod_exec"),
    ),
    (
        "ClusterRole With Wildcard Created",
        Some("k8s.rbac.role.wildcard"),
    ),
    (
        "ClusterRole With Write Privileges Created",
        Some("k8s.rbac.role.write"),
    ),
    (
        "K8s Role/Clusterrole Created",
        Some("k8s.activity.role.created"),
    ),
    (
        "K8s Role/Clusterrolebinding Created",
        Some("k8s.activity.binding.created"),
    ),
    (
        "K8s ConfigMap Created",
        Some("k8s.activity.configmap.created"),
    ),
    (
        "Create/Modify Configmap With Private Credentials",
        Some("k8s.configmap.credentials"),
    ),
    (
        "K8s Deployment Created",
        Some("k8s.activity.deployment.created"),
    ),
    ("Create HostNetwork Pod", Some("k8s.pod.host_network")),
    ("Create Privileged Pod", Some("k8s.pod.privileged")),
    (
        "Create Sensitive Mount Pod",
        Some("k8s.pod.sensitive_mount"),
    ),
    (
        "Create Disallowed Pod",
        Some("k8s.policy.image_not_allowed"),
    ),
    ("json_pointer_example", None),
    ("Create NodePort Service", Some("k8s.service.nodeport")),
    (
        "Pod Created in Kube Namespace",
        Some("k8s.workload.kube_namespace"),
    ),
    ("K8s Secret Created", Some("k8s.activity.secret.created")),
    ("K8s Service Created", Some("k8s.activity.service.created")),
    (
        "K8s Serviceaccount Created",
        Some("k8s.activity.serviceaccount.created"),
    ),
    (
        "Service Account Created in Kube Namespace",
        Some("k8s.serviceaccount.kube_namespace"),
    ),
    (
        "System ClusterRole Modified/Deleted",
        Some("k8s.rbac.system_role_changed"),
    ),
    (
        "K8s Role/Clusterrole Deleted",
        Some("k8s.activity.role.deleted"),
    ),
    (
        "K8s Role/Clusterrolebinding Deleted",
        Some("k8s.activity.binding.deleted"),
    ),
    (
        "K8s ConfigMap Deleted",
        Some("k8s.activity.configmap.deleted"),
    ),
    (
        "K8s Deployment Deleted",
        Some("k8s.activity.deployment.deleted"),
    ),
    (
        "K8s Namespace Deleted",
        Some("k8s.activity.namespace.deleted"),
    ),
    ("K8s Secret Deleted", Some("k8s.activity.secret.deleted")),
    ("K8s Service Deleted", Some("k8s.activity.service.deleted")),
    (
        "K8s Serviceaccount Deleted",
        Some("k8s.activity.serviceaccount.deleted"),
    ),
    ("Disallowed K8s User", Some("k8s.policy.user_not_allowed")),
    (
        "Create Disallowed Namespace",
        Some("k8s.policy.namespace_not_allowed"),
    ),
    (
        "K8s Namespace Created",
        Some("k8s.activity.namespace.created"),
    ),
];

fn ours(falco: &str) -> Option<&'static str> {
    FALCO_TO_OURS
        .iter()
        .find(|(name, _)| *name == falco)
        .unwrap_or_else(|| panic!("Falco rule {falco:?} has no entry in FALCO_TO_OURS"))
        .1
}

/// The site policy Falco's own rules file ships with: its default allowed users and
/// namespaces. Falco's tests run with it plus their extra rule files.
fn falco_defaults() -> RuleConfig {
    let mut config = RuleConfig::default();
    config.allowed.users = Some(
        [
            "minikube",
            "minikube-user",
            "kubelet",
            "kops",
            "admin",
            "kube",
            "kube-proxy",
            "kube-apiserver-healthcheck",
            "kubernetes-admin",
            "vpa-recommender",
            "vpa-updater",
            "cluster-autoscaler",
            "cloud-controller-manager",
        ]
        .map(String::from)
        .to_vec(),
    );
    config.allowed.namespaces = Some(
        ["kube-system", "kube-public", "default"]
            .map(String::from)
            .to_vec(),
    );
    config
}

/// What one of Falco's extra rule files changes, as configuration.
fn falco_file(config: &mut RuleConfig, file: &str) {
    match file {
        "engine_v4_k8s_audit_rules.yaml" => {}
        "disallow_kactivity.yaml" => config.disabled.push("k8s.activity".into()),
        "allow_namespace_foo.yaml" => config
            .allowed
            .namespaces
            .get_or_insert_with(Vec::new)
            .push("foo".into()),
        "allow_user_some-user.yaml" => config
            .allowed
            .users
            .get_or_insert_with(Vec::new)
            .push("some-user".into()),
        "trust_nginx_container.yaml" => config.trusted.images.push("nginx".into()),
        "allow_nginx_container.yaml" => config.allowed.images = Some(vec!["nginx".into()]),
        "allow_only_apache_container.yaml" => {
            config.allowed.images = Some(vec!["apache".into()]);
        }
        other => panic!("no configuration equivalent for Falco rules file {other}"),
    }
}

struct Label {
    line: usize,
    rules: Vec<String>,
    category: String,
    /// (Falco rule or `None` for "expected no detection", extra rule files).
    clauses: Vec<(Option<String>, Vec<String>)>,
}

fn corpus(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/third-party/falco")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn labels() -> Vec<Label> {
    corpus("labels.jsonl")
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let rules = match &v["source_rule"] {
                serde_json::Value::String(s) => vec![s.clone()],
                serde_json::Value::Array(a) => {
                    a.iter().map(|r| r.as_str().unwrap().to_string()).collect()
                }
                _ => Vec::new(),
            };
            let text = v["label"].as_str().unwrap();
            Label {
                line: v["line"].as_u64().unwrap() as usize,
                rules,
                category: v["category"].as_str().unwrap().to_string(),
                clauses: text.split("; ").map(clause).collect(),
            }
        })
        .collect()
}

/// Parses `triggers Falco rule "R" [..] (test T with extra rules A,B)` or
/// `expected NO detection in test T (rules: A,B)`.
fn clause(text: &str) -> (Option<String>, Vec<String>) {
    let files = |list: &str| -> Vec<String> {
        list.trim_end_matches(')')
            .split(',')
            .map(|f| f.trim().to_string())
            .filter(|f| !f.is_empty())
            .collect()
    };
    if let Some(rest) = text.strip_prefix("triggers Falco rule \"") {
        let (rule, rest) = rest.split_once('"').unwrap();
        let extra = rest
            .split_once(" with extra rules ")
            .map(|(_, list)| files(list))
            .unwrap_or_default();
        return (Some(rule.to_string()), extra);
    }
    assert!(
        text.starts_with("expected NO detection"),
        "unknown clause {text:?}"
    );
    let extra = text
        .split_once("(rules: ")
        .map(|(_, list)| files(list))
        .unwrap_or_default();
    (None, extra)
}

/// The (rule id, message) hits of one corpus line under `config`.
fn messages(event: &str, config: RuleConfig) -> Vec<(&'static str, String)> {
    let mut analysis = Analysis::new(Limits::default()).with_rules(config);
    let file = analysis.add_file("falco.ndjson");
    analysis.push(file, event.as_bytes());
    analysis.push(file, b"\n");
    analysis.finish();
    let requests = analysis.requests();
    assert_eq!(requests.len(), 1, "one request per corpus line");
    analysis
        .rule_hits(requests[0].audit_id)
        .iter()
        .map(|h| (h.rule, h.message.clone()))
        .collect()
}

/// The rule ids one corpus line triggers under `config`.
fn hits(event: &str, config: RuleConfig) -> BTreeSet<&'static str> {
    messages(event, config)
        .into_iter()
        .map(|(r, _)| r)
        .collect()
}

fn kind(id: &str) -> RuleKind {
    rules::rule(id)
        .unwrap_or_else(|| panic!("{id} is not in the catalog"))
        .kind
}

fn of_kind(ids: &BTreeSet<&'static str>, wanted: RuleKind) -> BTreeSet<&'static str> {
    ids.iter()
        .copied()
        .filter(|id| kind(id) == wanted)
        .collect()
}

#[test]
fn every_falco_event_triggers_exactly_its_labelled_rules() {
    let events: Vec<String> = corpus("events.ndjson").lines().map(String::from).collect();
    let labels = labels();
    assert_eq!(events.len(), 51);
    assert_eq!(labels.len(), events.len());
    let (mut checked, mut skipped) = (0, 0);
    for label in &labels {
        let event = &events[label.line - 1];
        let expected: BTreeSet<&'static str> = label.rules.iter().filter_map(|r| ours(r)).collect();
        let got = hits(event, RuleConfig::default());
        let line = label.line;

        // Built-in configuration: exactly the labelled security rules, no policy rule (no
        // allowlist is configured), and the labelled audit-trail rules on trail events.
        assert_eq!(
            of_kind(&got, RuleKind::Security),
            of_kind(&expected, RuleKind::Security),
            "line {line}: security rules"
        );
        assert!(
            of_kind(&got, RuleKind::Policy).is_empty(),
            "line {line}: a policy rule fired without an allowlist: {got:?}"
        );
        if label.category.starts_with("informational") {
            assert_eq!(
                of_kind(&got, RuleKind::Activity),
                of_kind(&expected, RuleKind::Activity),
                "line {line}: audit-trail rules"
            );
        }
        if label.category.starts_with("policy-dependent") {
            assert!(got.is_empty(), "line {line}: {got:?} without an allowlist");
        }

        // Each Falco test that used the line, replayed with its site policy.
        for (rule, files) in &label.clauses {
            let mut config = falco_defaults();
            for file in files {
                falco_file(&mut config, file);
            }
            let got = hits(event, config);
            match rule {
                Some(rule) => {
                    let Some(id) = ours(rule) else {
                        skipped += 1;
                        continue;
                    };
                    assert!(
                        got.contains(id),
                        "line {line}: Falco test with {files:?} expects {id}, got {got:?}"
                    );
                }
                None => assert!(
                    got.is_empty(),
                    "line {line}: Falco test with {files:?} expects nothing, got {got:?}"
                ),
            }
            checked += 1;
        }
    }
    let clauses: usize = labels.iter().map(|l| l.clauses.len()).sum();
    assert_eq!(checked + skipped, clauses);
    let test_only = FALCO_TO_OURS.iter().filter(|(_, id)| id.is_none()).count();
    assert_eq!(
        skipped, test_only,
        "only Falco's test-only rules go unchecked"
    );
}

#[test]
fn security_events_trigger_exactly_their_rules_with_the_trail_off() {
    let events: Vec<String> = corpus("events.ndjson").lines().map(String::from).collect();
    let mut quiet = RuleConfig::default();
    quiet.disabled.push("k8s.activity".into());
    for label in labels() {
        let expected: BTreeSet<&'static str> = label
            .rules
            .iter()
            .filter_map(|r| ours(r))
            .filter(|id| kind(id) == RuleKind::Security)
            .collect();
        let got = hits(&events[label.line - 1], quiet.clone());
        assert_eq!(got, expected, "line {}", label.line);
    }
}

#[test]
fn every_mapped_rule_is_in_the_catalog() {
    for (falco, id) in FALCO_TO_OURS {
        if let Some(id) = id {
            assert!(rules::rule(id).is_some(), "{falco} maps to unknown {id}");
        }
    }
}

/// What every rule says of every corpus line, under Falco's default site policy with the
/// off-by-default rules switched on: a finding's words name what the request did, so a change
/// to any message shows here (`cargo insta review` after a deliberate one).
#[test]
fn every_message_on_the_corpus_is_as_reviewed() {
    let mut config = falco_defaults();
    config.enabled = rules::catalog()
        .iter()
        .filter(|m| !m.default_enabled)
        .map(|m| m.id.to_string())
        .collect();
    let mut text = String::new();
    for (n, event) in corpus("events.ndjson").lines().enumerate() {
        for (rule, message) in messages(event, config.clone()) {
            text.push_str(&format!("{} {rule}: {message}\n", n + 1));
        }
    }
    insta::assert_snapshot!("falco_messages", text);
}
