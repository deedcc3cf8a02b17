//! The rule configuration: switching rules off, trusting images, identities and namespaces,
//! per-rule exceptions, and the file formats; plus how hits are kept over stages and chunks.
// Tests read their fixtures from disk and fail loudly.
#![allow(clippy::disallowed_methods, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use auditlens_core::rules::{self, ConfigError, RuleConfig, RuleKind};
use auditlens_core::{Analysis, Limits};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(rule: &str, file: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rules")
        .join(rule)
        .join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn falco() -> Vec<u8> {
    std::fs::read(root().join("tests/fixtures/third-party/falco/events.ndjson")).unwrap()
}

/// Every (auditID, rule) hit of an analysis of `bytes` pushed in chunks of `chunk` bytes.
fn hits_chunked(bytes: &[u8], config: RuleConfig, chunk: usize) -> BTreeSet<(String, String)> {
    let mut analysis = Analysis::new(Limits::default()).with_rules(config);
    let file = analysis.add_file("input.ndjson");
    for piece in bytes.chunks(chunk) {
        analysis.push(file, piece);
    }
    analysis.finish();
    hits_of(&analysis)
}

/// Every (auditID, rule) hit of a finished analysis.
fn hits_of(analysis: &Analysis) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for request in analysis.requests() {
        for hit in analysis.rule_hits(request.audit_id) {
            let id = analysis
                .interner()
                .audit_id_text(request.audit_id)
                .into_owned();
            out.insert((id, hit.rule.to_string()));
        }
    }
    out
}

fn hits(bytes: &[u8], config: RuleConfig) -> BTreeSet<(String, String)> {
    hits_chunked(bytes, config, bytes.len().max(1))
}

fn rules_of(hits: &BTreeSet<(String, String)>) -> BTreeSet<String> {
    hits.iter().map(|(_, r)| r.clone()).collect()
}

#[test]
fn rules_are_on_by_default_and_can_be_switched_off_by_id_or_family() {
    let corpus = falco();
    let all = rules_of(&hits(&corpus, RuleConfig::default()));
    assert!(all.contains("k8s.pod.privileged"));
    assert!(all.contains("k8s.activity.namespace.created"));

    let off = RuleConfig::parse("disabled = [\"k8s.pod.privileged\"]").unwrap();
    let without = rules_of(&hits(&corpus, off));
    assert!(!without.contains("k8s.pod.privileged"));
    assert!(without.contains("k8s.pod.sensitive_mount"));

    let family = RuleConfig::parse("disabled = [\"k8s.activity\", \"k8s.pod\"]").unwrap();
    let quiet = rules_of(&hits(&corpus, family));
    assert!(quiet
        .iter()
        .all(|r| !r.starts_with("k8s.activity.") && !r.starts_with("k8s.pod.")));
    assert!(quiet.contains("k8s.rbac.role.wildcard"));
}

#[test]
fn off_by_default_rules_run_when_enabled() {
    let corpus = falco();
    let default = rules_of(&hits(&corpus, RuleConfig::default()));
    assert!(!default.contains("k8s.identity.default_admin"));
    let on = RuleConfig::parse("enabled = [\"k8s.identity.default_admin\"]").unwrap();
    assert!(rules_of(&hits(&corpus, on)).contains("k8s.identity.default_admin"));
}

#[test]
fn rules_for_named_resources_run_when_every_rule_for_any_resource_is_off() {
    let any: Vec<&str> = rules::event_rule_scopes()
        .filter(|(_, resources)| resources.is_empty())
        .map(|(meta, _)| meta.id)
        .collect();
    assert!(any.contains(&"k8s.anonymous.allowed"), "{any:?}");
    assert!(!any.contains(&"k8s.pod.privileged"), "{any:?}");
    let quoted: Vec<String> = any.iter().map(|id| format!("{id:?}")).collect();
    let config = RuleConfig::parse(&format!("disabled = [{}]", quoted.join(", "))).unwrap();
    let found = rules_of(&hits(&falco(), config));
    assert!(found.contains("k8s.pod.privileged"), "{found:?}");
    assert!(found.contains("k8s.rbac.role.wildcard"), "{found:?}");
    assert!(
        found.iter().all(|r| !any.contains(&r.as_str())),
        "{found:?}"
    );
}

#[test]
fn every_shard_of_a_file_runs_the_configured_rules() {
    let corpus = falco();
    let config = || {
        RuleConfig::parse(
            "disabled = [\"k8s.pod.privileged\"]\nenabled = [\"k8s.identity.default_admin\"]",
        )
        .unwrap()
    };
    let expected = hits(&corpus, config());
    let found = rules_of(&expected);
    assert!(!found.contains("k8s.pod.privileged"), "{found:?}");
    assert!(found.contains("k8s.identity.default_admin"), "{found:?}");

    // Cut at the line boundary nearest the middle; each half is read on a shard.
    let cut = corpus[..corpus.len() / 2]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    let mut analysis = Analysis::new(Limits::default()).with_rules(config());
    let file = analysis.add_file("input.ndjson");
    for (start, end) in [(0, cut), (cut, corpus.len())] {
        let mut shard = analysis.shard(file, start as u64);
        shard.push(&corpus[start..end]);
        if end == corpus.len() {
            shard.finish();
        }
        assert!(
            analysis.append_shard(shard).is_ok(),
            "part at {start} refused"
        );
    }
    analysis.finish();
    assert_eq!(hits_of(&analysis), expected);
}

#[test]
fn trusted_images_identities_and_namespaces_suppress_hits() {
    let corpus = falco();
    let base = hits(&corpus, RuleConfig::default());
    let count =
        |h: &BTreeSet<(String, String)>, rule: &str| h.iter().filter(|(_, r)| r == rule).count();
    assert!(count(&base, "k8s.pod.privileged") > 0);

    // The privileged container of the corpus runs mysql (and once nginx): trusting both
    // silences the rule; trusting nginx alone keeps the mysql hits.
    let nginx = RuleConfig::parse("[trusted]\nimages = [\"nginx\"]").unwrap();
    let some = hits(&corpus, nginx);
    assert!(count(&some, "k8s.pod.privileged") > 0);
    assert!(count(&some, "k8s.pod.privileged") < count(&base, "k8s.pod.privileged"));
    let both = RuleConfig::parse("[trusted]\nimages = [\"nginx\", \"mysql\"]").unwrap();
    assert_eq!(count(&hits(&corpus, both), "k8s.pod.privileged"), 0);

    // Every pod of the corpus is created by the replicaset controller.
    let controller = RuleConfig::parse(
        "[trusted]\nidentities = [\"system:serviceaccount:kube-system:replicaset-*\"]",
    )
    .unwrap();
    let trusted = hits(&corpus, controller);
    assert_eq!(count(&trusted, "k8s.pod.privileged"), 0);
    assert_eq!(count(&trusted, "k8s.workload.kube_namespace"), 0);
    assert!(count(&trusted, "k8s.rbac.role.wildcard") > 0);

    let namespace = RuleConfig::parse("[trusted]\nnamespaces = [\"kube-*\"]").unwrap();
    let by_namespace = hits(&corpus, namespace);
    assert_eq!(count(&by_namespace, "k8s.workload.kube_namespace"), 0);
    assert_eq!(count(&by_namespace, "k8s.serviceaccount.kube_namespace"), 0);
    assert_eq!(
        count(&by_namespace, "k8s.pod.privileged"),
        count(&base, "k8s.pod.privileged")
    );
}

#[test]
fn exceptions_apply_to_their_rules_only() {
    let corpus = falco();
    let base = rules_of(&hits(&corpus, RuleConfig::default()));
    let config = RuleConfig::parse(
        "[[exceptions]]\nrules = [\"k8s.pod.exec\"]\nidentities = [\"minikube-user\"]\n",
    )
    .unwrap();
    let after = rules_of(&hits(&corpus, config));
    assert!(base.contains("k8s.pod.exec"));
    assert!(!after.contains("k8s.pod.exec"));
    assert!(
        after.contains("k8s.rbac.role.wildcard"),
        "same user, other rule"
    );

    let images = RuleConfig::parse(
        "[[exceptions]]\nrules = [\"k8s.pod.sensitive_mount\"]\nimages = [\"nginx\", \"mysql\"]\n",
    )
    .unwrap();
    let after = rules_of(&hits(&corpus, images));
    assert!(!after.contains("k8s.pod.sensitive_mount"));
    assert!(
        after.contains("k8s.pod.privileged"),
        "the images stay untrusted elsewhere"
    );

    // An exception holds only where every one of its conditions does.
    for (conditions, why) in [
        ("identities = [\"someone-else\"]", "another identity"),
        (
            "identities = [\"minikube-user\"]\nnamespaces = [\"no-such-namespace\"]",
            "the identity, in another namespace",
        ),
        (
            "images = [\"nginx\", \"mysql\"]\nidentities = [\"someone-else\"]",
            "the images, for another identity",
        ),
    ] {
        let rule = if conditions.contains("images") {
            "k8s.pod.sensitive_mount"
        } else {
            "k8s.pod.exec"
        };
        let config = RuleConfig::parse(&format!(
            "[[exceptions]]\nrules = [\"{rule}\"]\n{conditions}\n"
        ))
        .unwrap();
        assert!(rules_of(&hits(&corpus, config)).contains(rule), "{why}");
    }
}

#[test]
fn trusted_identities_do_not_silence_the_site_policy() {
    let corpus = falco();
    let config = RuleConfig::parse(
        "[trusted]\nidentities = [\"some-user\"]\n[allowed]\nusers = [\"minikube-user\"]\n",
    )
    .unwrap();
    let found = hits(&corpus, config);
    assert!(found
        .iter()
        .any(|(_, r)| r == "k8s.policy.user_not_allowed"));
}

#[test]
fn toml_and_json_give_the_same_configuration() {
    let toml = RuleConfig::parse(
        "disabled = [\"k8s.activity\"]\n[trusted]\nimages = [\"nginx\"]\n[allowed]\nnamespaces = [\"shop\"]\n",
    )
    .unwrap();
    let json = RuleConfig::parse(
        r#"{"disabled": ["k8s.activity"], "trusted": {"images": ["nginx"]}, "allowed": {"namespaces": ["shop"]}}"#,
    )
    .unwrap();
    assert_eq!(toml, json);
    assert_eq!(RuleConfig::parse("").unwrap(), RuleConfig::default());
}

#[test]
fn bad_configurations_say_what_and_where() {
    let typo = RuleConfig::parse("disabled = [\"k8s.pod.priviledged\"]").unwrap_err();
    assert_eq!(
        typo,
        ConfigError::UnknownRule {
            field: "disabled",
            id: "k8s.pod.priviledged".into()
        }
    );
    assert!(typo.to_string().contains("auditlens rules"));
    let key = RuleConfig::parse("\n\n[trusted]\nimage = [\"x\"]\n").unwrap_err();
    assert!(
        matches!(
            key,
            ConfigError::Syntax {
                line: 4,
                column: 1,
                ..
            }
        ),
        "{key:?}"
    );
    // The column counts from the line's start: `3` is the 14th character of line 2.
    let value = RuleConfig::parse("# sites\n  disabled = 3\n").unwrap_err();
    assert!(
        matches!(
            value,
            ConfigError::Syntax {
                line: 2,
                column: 14,
                ..
            }
        ),
        "{value:?}"
    );
    let json = RuleConfig::parse("{\"disabled\": 3}").unwrap_err();
    assert!(
        matches!(
            json,
            ConfigError::Syntax {
                format: "JSON",
                line: 1,
                ..
            }
        ),
        "{json:?}"
    );
}

#[test]
fn the_catalog_reports_each_rule_state() {
    let analysis = Analysis::new(Limits::default())
        .with_rules(RuleConfig::parse("disabled = [\"k8s.activity\"]").unwrap());
    let catalog = analysis.rules().catalog();
    assert_eq!(catalog.len(), rules::catalog().len());
    for status in &catalog {
        let expect = status.meta.kind != RuleKind::Activity && status.meta.default_enabled;
        assert_eq!(status.enabled, expect, "{}", status.meta.id);
    }
}

#[test]
fn hits_do_not_depend_on_chunking() {
    let corpus = falco();
    let whole = hits(&corpus, RuleConfig::default());
    assert!(!whole.is_empty());
    for chunk in [1, 7, 4096] {
        assert_eq!(
            hits_chunked(&corpus, RuleConfig::default(), chunk),
            whole,
            "{chunk}-byte chunks"
        );
    }
}

#[test]
fn a_request_logged_at_several_stages_hits_once() {
    let positive = String::from_utf8(fixture("k8s.secret.read", "positive.ndjson")).unwrap();
    let line = positive.lines().next().unwrap();
    let received = line.replace("\"ResponseComplete\"", "\"RequestReceived\"");
    let two = format!("{received}\n{line}\n");
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file("stages.ndjson");
    analysis.push(file, two.as_bytes());
    analysis.finish();
    assert_eq!(analysis.requests().len(), 1);
    let request = &analysis.requests()[0];
    let reads = analysis
        .rule_hits(request.audit_id)
        .iter()
        .filter(|h| h.rule == "k8s.secret.read")
        .count();
    assert_eq!(reads, 1);
}

#[test]
fn the_rule_documentation_covers_every_rule() {
    let docs = std::fs::read_to_string(root().join("docs/rules.md")).unwrap();
    let missing: Vec<&str> = rules::catalog()
        .iter()
        .map(|m| m.id)
        .filter(|id| !docs.contains(&format!("`{id}`")))
        .collect();
    assert!(missing.is_empty(), "docs/rules.md lacks {missing:?}");
}
