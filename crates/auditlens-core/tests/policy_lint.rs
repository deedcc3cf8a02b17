//! `policy check`: every lint on a policy that has the problem, and not on one that does not.
#![allow(clippy::unwrap_used)]

use auditlens_core::policy::{self, lint, Lint, LintSeverity};

fn lints(text: &str) -> Vec<Lint> {
    policy::check(&policy::read(text))
}

/// The lints with this code, as (rule, field, line).
fn found(lints: &[Lint], code: &str) -> Vec<(Option<usize>, String, u32)> {
    lints
        .iter()
        .filter(|l| l.code == code)
        .map(|l| (l.rule, l.field.clone(), l.line))
        .collect()
}

fn codes(lints: &[Lint]) -> Vec<&'static str> {
    let mut codes: Vec<&str> = lints.iter().map(|l| l.code).collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

fn show(lints: &[Lint]) -> String {
    lints
        .iter()
        .map(|l| {
            format!(
                "{:?} {} {} line {}: {}",
                l.severity, l.code, l.field, l.line, l.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const HEAD: &str = "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\n";

/// A sound policy: secrets at Metadata, workload writes at Request, routine traffic quiet,
/// a catch-all at Metadata.
const SOUND: &str = "apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: [\"system:kube-proxy\"]
  verbs: [watch]
  resources: [{group: \"\", resources: [endpoints, services]}]
- level: None
  userGroups: [\"system:nodes\"]
  verbs: [get, update]
  resources: [{group: coordination.k8s.io, resources: [leases]}]
- level: None
  nonResourceURLs: [\"/healthz*\", \"/livez*\", \"/readyz*\"]
- level: Metadata
  resources:
  - group: \"\"
    resources: [secrets, configmaps, serviceaccounts/token]
  - group: authentication.k8s.io
    resources: [tokenreviews]
- level: RequestResponse
  verbs: [create, update, patch, delete]
  resources: [{group: rbac.authorization.k8s.io}]
- level: Request
  verbs: [create, update, patch]
  resources:
  - group: \"\"
    resources: [pods, services, serviceaccounts, replicationcontrollers]
  - group: apps
    resources: [deployments, daemonsets, statefulsets, replicasets]
  - group: batch
    resources: [jobs, cronjobs]
  - group: networking.k8s.io
    resources: [ingresses]
- level: Metadata
";

#[test]
fn a_sound_policy_has_no_finding() {
    let found = lints(SOUND);
    assert!(found.is_empty(), "{}", show(&found));
}

#[test]
fn the_widely_copied_example_is_reported() {
    let text = "rules:
- level: Metadata
  resources:
  - groups: [\"*\"]        # not a field
    resources: [\"*\"]
  verbs: [\"get\", \"list\", \"watch\"]
- level: RequestResponse
  resources:
  - groups: [\"apps\"]
    resources: [\"deployments\"]
  verbs: [\"create\", \"update\", \"delete\"]
";
    // As written (no apiVersion), the server refuses it outright...
    let refused = lints(text);
    assert_eq!(found(&refused, "refused")[0].1, "apiVersion");
    // ...and with one, it loads, and these are what it gets wrong.
    let all = lints(&format!(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\n{text}"
    ));
    let unknown = found(&all, "unknown-field");
    assert_eq!(
        unknown,
        [
            (Some(0), "rules[0].resources[0].groups".to_string(), 6),
            (Some(1), "rules[1].resources[0].groups".to_string(), 11),
        ],
        "{}",
        show(&all)
    );
    let groups = all.iter().find(|l| l.code == "unknown-field").unwrap();
    assert_eq!(groups.severity, LintSeverity::Error);
    assert!(groups.message.contains("core group"), "{}", groups.message);
    assert!(
        groups.fix.contains("did you mean `group`?"),
        "{}",
        groups.fix
    );
    // deployments in the core group: never matched.
    let wrong = all.iter().find(|l| l.code == "wrong-group").unwrap();
    assert_eq!((wrong.rule, wrong.line), (Some(1), 11));
    assert_eq!(wrong.field, "rules[1].resources[0].resources[0]");
    assert!(wrong.message.contains("`apps`"), "{}", wrong.message);
    assert!(wrong.fix.contains("group: apps"), "{}", wrong.fix);
    // No catch-all: exec, RBAC changes and the rest go unlogged; RequestReceived is written.
    for code in ["no-catch-all", "request-received", "security-unlogged"] {
        assert!(!found(&all, code).is_empty(), "{code}: {}", show(&all));
    }
    let unlogged = all.iter().filter(|l| l.code == "security-unlogged");
    let text: String = unlogged.map(|l| l.message.clone()).collect();
    for what in [
        "exec into pods",
        "RBAC changes",
        "service account token requests",
        "certificate signing requests",
        "port-forwarding",
    ] {
        assert!(text.contains(what), "{what}: {text}");
    }
    assert!(lint::has_errors(&all));
}

#[test]
fn secrets_with_bodies_and_exec_at_none_are_errors() {
    let all = lints(&format!(
        "{HEAD}rules:
- level: RequestResponse
  resources: [{{group: \"\", resources: [secrets]}}]
- level: None
  resources: [{{group: \"\", resources: [pods/exec, pods/attach]}}]
- level: Metadata
"
    ));
    let secrets: Vec<&Lint> = all.iter().filter(|l| l.code == "secret-bodies").collect();
    assert_eq!(secrets.len(), 1, "{}", show(&all));
    assert_eq!(
        (secrets[0].rule, secrets[0].line, secrets[0].severity),
        (Some(0), 5, LintSeverity::Error)
    );
    assert!(
        secrets[0].message.contains("secret values"),
        "{}",
        secrets[0].message
    );
    assert!(
        secrets[0]
            .message
            .contains("create secrets at RequestResponse, update secrets at RequestResponse, patch secrets at RequestResponse, get secrets at RequestResponse, list secrets at RequestResponse by a person or a workload's service account in default and kube-system"),
        "{}",
        secrets[0].message
    );
    let unlogged: Vec<&Lint> = all
        .iter()
        .filter(|l| l.code == "security-unlogged")
        .collect();
    assert_eq!(unlogged.len(), 2, "{}", show(&all));
    assert!(unlogged.iter().all(|l| l.rule == Some(1) && l.line == 7));
    assert!(
        unlogged[0].message.contains("exec into pods"),
        "{}",
        unlogged[0].message
    );
    assert!(unlogged[0]
        .message
        .contains("create pods/exec, get pods/exec by a person or a workload's service account in default and kube-system"));
    assert!(unlogged[1].message.contains("attaching to pods"));
    // Config maps with bodies are a warning; token requests with their responses an error.
    let all = lints(&format!(
        "{HEAD}rules:\n- level: RequestResponse\n  resources: [{{group: \"\", resources: [configmaps, serviceaccounts/token]}}]\n- level: Metadata\n"
    ));
    let severities: Vec<(LintSeverity, bool)> = all
        .iter()
        .filter(|l| l.code == "secret-bodies")
        .map(|l| (l.severity, l.message.contains("service account tokens")))
        .collect();
    assert_eq!(
        severities,
        [(LintSeverity::Error, true), (LintSeverity::Warning, false)],
        "{}",
        show(&all)
    );
}

#[test]
fn a_wildcard_in_users_or_groups_is_an_error() {
    let all = lints(&format!(
        "{HEAD}rules:\n- level: None\n  users: [\"*\"]\n- level: None\n  userGroups: [admins, \"*\"]\n- level: Metadata\n"
    ));
    assert_eq!(
        found(&all, "wildcard-user"),
        [
            (Some(0), "rules[0].users[0]".to_string(), 5),
            (Some(1), "rules[1].userGroups[1]".to_string(), 7)
        ]
    );
    assert!(lints(SOUND).iter().all(|l| l.code != "wildcard-user"));
    // Nor in verbs, namespaces or resource names.
    let all = lints(&format!(
        "{HEAD}rules:\n- level: None\n  verbs: [\"*\"]\n  namespaces: [\"*\"]\n  resources: [{{group: \"\", resources: [configmaps], resourceNames: [\"*\"]}}]\n- level: Metadata\n"
    ));
    let fields: Vec<String> = found(&all, "wildcard-literal")
        .into_iter()
        .map(|f| f.1)
        .collect();
    assert_eq!(
        fields,
        [
            "rules[0].namespaces[0]",
            "rules[0].resources[0].resourceNames[0]",
            "rules[0].verbs[0]"
        ],
        "{}",
        show(&all)
    );
}

#[test]
fn resources_in_the_wrong_group_are_reported() {
    let all = lints(&format!(
        "{HEAD}rules:
- level: Request
  resources:
  - group: extensions
    resources: [deployments]
  - group: apps
    resources: [deployment, deployments/scale, deployments/exec, \"deployments/*\"]
  - group: \"\"
    resources: [leases, pods, example]
  - group: example.com
    resources: [widgets]
- level: Metadata
"
    ));
    let wrong: Vec<&Lint> = all.iter().filter(|l| l.code == "wrong-group").collect();
    assert_eq!(wrong.len(), 2, "{}", show(&all));
    assert!(wrong[0].fix.contains("group: apps"), "{}", wrong[0].fix);
    assert!(
        wrong[1].message.contains("leases") && wrong[1].fix.contains("coordination.k8s.io"),
        "{}",
        wrong[1].fix
    );
    let unknown: Vec<&Lint> = all
        .iter()
        .filter(|l| l.code == "unknown-resource")
        .collect();
    let fields: Vec<&str> = unknown.iter().map(|l| l.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "rules[0].resources[1].resources[0]",
            "rules[0].resources[1].resources[2]",
            "rules[0].resources[2].resources[2]"
        ],
        "{}",
        show(&all)
    );
    assert!(
        unknown[0].fix.contains("`deployments`"),
        "{}",
        unknown[0].fix
    );
    assert!(
        unknown[1].fix.contains("scale, status"),
        "{}",
        unknown[1].fix
    );
}

#[test]
fn unreachable_rules_are_reported_by_the_rule_that_takes_their_requests() {
    let all = lints(&format!(
        "{HEAD}rules:
- level: Metadata
  resources: [{{group: \"\", resources: [\"pods/*\"]}}]
- level: RequestResponse
  verbs: [create]
  resources: [{{group: \"\", resources: [pods/exec]}}]
- level: Metadata
  resources: [{{group: \"\", resources: [pods]}}]
  namespaces: [default]
- level: None
  nonResourceURLs: [\"/healthz*\"]
- level: None
  nonResourceURLs: [/healthz/etcd]
- level: Request
  resources: [{{group: \"*\", resources: [\"*/status\"]}}]
- level: Request
  userGroups: [\"system:nodes\"]
  resources: [{{group: \"\", resources: [nodes/status]}}]
- level: Metadata
- level: None
  users: [alice]
"
    ));
    let shadowed: Vec<(Option<usize>, LintSeverity)> = all
        .iter()
        .filter(|l| l.code == "shadowed")
        .map(|l| (l.rule, l.severity))
        .collect();
    assert_eq!(
        shadowed,
        [
            (Some(1), LintSeverity::Error),
            (Some(2), LintSeverity::Warning),
            (Some(4), LintSeverity::Warning),
            (Some(6), LintSeverity::Warning),
            (Some(8), LintSeverity::Error),
        ],
        "{}",
        show(&all)
    );
    let first = all.iter().find(|l| l.code == "shadowed").unwrap();
    assert!(
        first.message.contains("rule 0 (line 5, level Metadata)"),
        "{}",
        first.message
    );
    // Rules that only overlap are not reported.
    let overlap = lints(&format!(
        "{HEAD}rules:\n- level: None\n  users: [a]\n  verbs: [get]\n- level: None\n  users: [a, b]\n  verbs: [get]\n- level: Metadata\n  namespaces: [x]\n- level: Metadata\n  resources: [{{group: apps}}]\n- level: Metadata\n"
    ));
    assert!(found(&overlap, "shadowed").is_empty(), "{}", show(&overlap));
}

#[test]
fn routine_system_traffic_with_bodies_is_a_warning() {
    let all = lints(&format!(
        "{HEAD}rules:\n- level: Metadata\n  resources: [{{group: \"\", resources: [secrets, configmaps, serviceaccounts/token]}}, {{group: authentication.k8s.io, resources: [tokenreviews]}}]\n- level: RequestResponse\n"
    ));
    let noisy = all
        .iter()
        .find(|l| l.code == "noisy-system-traffic")
        .unwrap();
    assert_eq!(
        (noisy.rule, noisy.severity),
        (Some(1), LintSeverity::Warning)
    );
    assert!(
        noisy
            .message
            .contains("update leases at RequestResponse by a kubelet or kube-controller-manager"),
        "{}",
        noisy.message
    );
    assert!(!found(&all, "response-bodies").is_empty());
    assert!(!lint::has_errors(&all), "{}", show(&all));
    // The same policy at Metadata: quiet, but the detection rules cannot read pod specs.
    let all = lints(&format!("{HEAD}rules:\n- level: Metadata\n"));
    assert_eq!(codes(&all), ["detection-level"], "{}", show(&all));
    assert!(
        all[0].message.contains("writes of pods, deployments")
            && all[0]
                .message
                .contains("at Metadata, so 22 detection rules"),
        "{}",
        all[0].message
    );
}

#[test]
fn refusals_name_the_line_and_stop_the_behavioural_lints() {
    let all = lints(&format!(
        "{HEAD}rules:\n- level: Metadata\n  verbs: [get]\n- level: Everything\n  verbs: [list]\n"
    ));
    let refused: Vec<&Lint> = all.iter().filter(|l| l.code == "refused").collect();
    assert_eq!(
        (refused.len(), refused[0].line, refused[0].rule),
        (1, 7, Some(1))
    );
    assert!(refused[0]
        .message
        .contains("Unsupported value: \"Everything\""));
    // What the policy's structure says still counts; what it would do with requests does not.
    assert_eq!(codes(&all), ["no-catch-all", "refused"], "{}", show(&all));
    let all = lints("rules:\n- level: [\n");
    assert_eq!(codes(&all), ["refused"]);
    assert!(all[0].line >= 2, "{}", show(&all));
}

#[test]
fn any_prefix_or_mangled_policy_is_read_and_checked_without_panicking() {
    // Every prefix of a real policy, and the policy with one character replaced by each of the
    // characters YAML gives meaning to, at every position: each is read, and checked when read.
    let text = SOUND;
    let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    for &end in &boundaries {
        let file = policy::read(&text[..end]);
        let _ = policy::check(&file);
    }
    for &at in boundaries.iter().step_by(5) {
        for replacement in [
            "*", "[", "{", ":", "-", "\"", "~", "&a", "*a", "\t", "é", "\n- ",
        ] {
            let next = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
            let mangled = format!("{}{replacement}{}", &text[..at], &text[next..]);
            let file = policy::read(&mangled);
            let lints = policy::check(&file);
            // Whatever the server refuses is an error with a reason.
            if !file.loads() {
                assert!(lint::has_errors(&lints), "{mangled}");
            }
        }
    }
}
