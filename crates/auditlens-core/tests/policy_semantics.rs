//! The audit policy's semantics, case by case: what kube-apiserver loads, refuses and ignores,
//! and the level, omitted stages and rule it gives each request.
//!
//! The first tables are the API server's own test cases (k8s.io/apiserver
//! `pkg/audit/policy/checker_test.go`, `reader_test.go` and
//! `pkg/apis/audit/validation/validation_test.go`), ported as data: the same requests, the same
//! rules, the same expected levels and stages. The tables after them are our own.
#![allow(clippy::unwrap_used)]

use std::borrow::Cow;

use auditlens_core::model::{Level, Stage};
use auditlens_core::policy::{self, Decision, Groups, PolicyFile, RequestAttributes, StageSet};
use auditlens_core::{Analysis, Limits};

/// A request, as the server's tests write `authorizer.AttributesRecord`.
#[derive(Clone, Copy)]
struct Req {
    user: Option<&'static str>,
    groups: &'static [&'static str],
    verb: &'static str,
    resource_request: bool,
    group: &'static str,
    resource: &'static str,
    subresource: &'static str,
    namespace: &'static str,
    name: &'static str,
    path: &'static str,
}

impl Req {
    fn attributes(&self) -> RequestAttributes<'static> {
        RequestAttributes {
            user: self.user,
            groups: Groups::Strs(self.groups),
            verb: self.verb,
            resource_request: self.resource_request,
            api_group: self.group,
            resource: self.resource,
            subresource: self.subresource,
            namespace: self.namespace,
            name: self.name,
            path: Cow::Borrowed(self.path),
        }
    }
}

const TIM: Option<&str> = Some("tim@k8s.io");
const TIM_GROUPS: &[&str] = &["humans", "developers"];

/// checker_test.go's `attrs`.
fn server_request(name: &str) -> Req {
    let namespaced = Req {
        user: TIM,
        groups: TIM_GROUPS,
        verb: "get",
        resource_request: true,
        group: "",
        resource: "pods",
        subresource: "",
        namespace: "default",
        name: "busybox",
        path: "/api/v1/namespaces/default/pods/busybox",
    };
    match name {
        "namespaced" => namespaced,
        "cluster" => Req {
            group: "rbac.authorization.k8s.io",
            resource: "clusterroles",
            namespace: "",
            name: "edit",
            path: "/apis/rbac.authorization.k8s.io/v1beta1/clusterroles/edit",
            ..namespaced
        },
        "nonResource" => Req {
            resource_request: false,
            resource: "",
            namespace: "",
            name: "",
            path: "/logs/kubelet.log",
            ..namespaced
        },
        "subresource" => Req {
            subresource: "log",
            ..namespaced
        },
        "Unauthorized" => Req {
            user: None,
            groups: &[],
            ..namespaced
        },
        "ClusterRoleUpdate" => Req {
            verb: "update",
            group: "rbac.authorization.k8s.io",
            resource: "clusterroles",
            subresource: "status",
            namespace: "",
            name: "somerole",
            path: "/apis/rbac.authorization.k8s.io/v1beta1/clusterroles/somerole",
            ..namespaced
        },
        other => panic!("no request {other}"),
    }
}

/// checker_test.go's `rules`, as YAML.
fn server_rule(name: &str) -> &'static str {
    match name {
        "default" => "- level: Metadata\n",
        "create" => "- level: Request\n  verbs: [create]\n",
        "tims" => "- level: Metadata\n  users: [\"tim@k8s.io\"]\n",
        "humans" => "- level: Metadata\n  userGroups: [humans]\n",
        "serviceAccounts" => "- level: Request\n  userGroups: [\"system:serviceaccounts\"]\n",
        "getPods" => "- level: RequestResponse\n  verbs: [get]\n  resources: [{resources: [pods]}]\n",
        "getPodLogs" => "- level: Request\n  verbs: [get]\n  resources: [{resources: [pods/log]}]\n",
        "getPodWildcardMatching" => {
            "- level: Request\n  verbs: [get]\n  resources: [{resources: [\"*\"]}]\n"
        }
        "getPodResourceWildcardMatching" => {
            "- level: Request\n  verbs: [get]\n  resources: [{resources: [\"*/log\"]}]\n"
        }
        "getPodSubResourceWildcardMatching" => {
            "- level: Request\n  verbs: [get]\n  resources: [{resources: [\"pods/*\"]}]\n"
        }
        "getClusterRoles" => {
            "- level: RequestResponse\n  verbs: [get]\n  resources: [{group: rbac.authorization.k8s.io, resources: [clusterroles]}]\n  namespaces: [\"\"]\n"
        }
        "getGroupWildCardMatchingWithSubresourceWildcardMatching" => {
            "- level: RequestResponse\n  verbs: [update]\n  resources: [{group: \"*\", resources: [\"*/status\"]}]\n"
        }
        "getLogs" => "- level: RequestResponse\n  verbs: [get]\n  nonResourceURLs: [\"/logs*\"]\n",
        "getMetrics" => "- level: Request\n  verbs: [get]\n  nonResourceURLs: [/metrics]\n",
        "clusterRoleEdit" => {
            "- level: Request\n  resources: [{group: rbac.authorization.k8s.io, resources: [clusterroles], resourceNames: [edit]}]\n"
        }
        "omit RequestReceived" => "- level: Request\n  omitStages: [RequestReceived]\n",
        "only audit panic" => {
            "- level: Request\n  omitStages: [RequestReceived, ResponseStarted, ResponseComplete]\n"
        }
        other => panic!("no rule {other}"),
    }
}

fn stages_yaml(stages: &[Stage]) -> String {
    if stages.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = stages.iter().map(|s| s.as_str()).collect();
    format!("omitStages: [{}]\n", names.join(", "))
}

/// A policy of the named server rules, with policy-level stages; it must load.
fn server_policy(rules: &[&str], stages: &[Stage]) -> policy::Policy {
    let mut text = format!(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\n{}",
        stages_yaml(stages)
    );
    text.push_str("rules:\n");
    for rule in rules {
        text.push_str(server_rule(rule));
    }
    let file = policy::read(&text);
    assert!(file.loads(), "{text}\n{:?}", file.refused);
    file.policy.unwrap()
}

use Level::{Metadata, None as LevelNone, Request, RequestResponse};

/// checker_test.go's `testAuditLevel`: (request, expected level, rules in order).
const SERVER_LEVELS: &[(&str, Level, &[&str])] = &[
    ("namespaced", Metadata, &["default"]),
    ("namespaced", LevelNone, &["create"]),
    ("namespaced", Metadata, &["tims"]),
    ("namespaced", Metadata, &["humans"]),
    ("namespaced", LevelNone, &["serviceAccounts"]),
    ("namespaced", RequestResponse, &["getPods"]),
    ("namespaced", LevelNone, &["getClusterRoles"]),
    ("namespaced", LevelNone, &["getLogs"]),
    ("namespaced", LevelNone, &["getMetrics"]),
    (
        "namespaced",
        Metadata,
        &["getMetrics", "serviceAccounts", "default"],
    ),
    (
        "namespaced",
        RequestResponse,
        &["getMetrics", "getPods", "default"],
    ),
    ("namespaced", RequestResponse, &["getPodLogs", "getPods"]),
    ("cluster", Metadata, &["default"]),
    ("cluster", LevelNone, &["create"]),
    ("cluster", Metadata, &["tims"]),
    ("cluster", Metadata, &["humans"]),
    ("cluster", LevelNone, &["serviceAccounts"]),
    ("cluster", LevelNone, &["getPods"]),
    ("cluster", RequestResponse, &["getClusterRoles"]),
    ("cluster", Request, &["clusterRoleEdit", "getClusterRoles"]),
    ("cluster", LevelNone, &["getLogs"]),
    ("cluster", LevelNone, &["getMetrics"]),
    (
        "cluster",
        Metadata,
        &["getMetrics", "serviceAccounts", "default"],
    ),
    (
        "cluster",
        RequestResponse,
        &["getMetrics", "getClusterRoles", "default"],
    ),
    ("cluster", LevelNone, &["getPodLogs", "getPods"]),
    ("nonResource", Metadata, &["default"]),
    ("nonResource", LevelNone, &["create"]),
    ("nonResource", Metadata, &["tims"]),
    ("nonResource", Metadata, &["humans"]),
    ("nonResource", LevelNone, &["serviceAccounts"]),
    ("nonResource", LevelNone, &["getPods"]),
    ("nonResource", LevelNone, &["getClusterRoles"]),
    ("nonResource", RequestResponse, &["getLogs"]),
    ("nonResource", LevelNone, &["getMetrics"]),
    (
        "nonResource",
        Metadata,
        &["getMetrics", "serviceAccounts", "default"],
    ),
    (
        "nonResource",
        RequestResponse,
        &["getLogs", "getClusterRoles", "default"],
    ),
    ("nonResource", LevelNone, &["getPodLogs", "getPods"]),
    ("subresource", Request, &["getPodLogs", "getPods"]),
    ("subresource", Request, &["getPodWildcardMatching"]),
    ("subresource", Request, &["getPodResourceWildcardMatching"]),
    (
        "subresource",
        Request,
        &["getPodSubResourceWildcardMatching"],
    ),
    ("Unauthorized", LevelNone, &["tims"]),
    ("Unauthorized", Metadata, &["tims", "default"]),
    ("Unauthorized", LevelNone, &["humans"]),
    ("Unauthorized", Metadata, &["humans", "default"]),
    (
        "ClusterRoleUpdate",
        RequestResponse,
        &["getGroupWildCardMatchingWithSubresourceWildcardMatching"],
    ),
];

const RR: Stage = Stage::RequestReceived;
const RS: Stage = Stage::ResponseStarted;
const RC: Stage = Stage::ResponseComplete;

/// (request, policy stages, expected level, expected stages, rules).
type StageCase = (
    &'static str,
    &'static [Stage],
    Level,
    &'static [Stage],
    &'static [&'static str],
);

/// checker_test.go's `TestChecker` and `TestCheckerPolicyOmitStages` stage cases.
const SERVER_STAGES: &[StageCase] = &[
    (
        "namespaced",
        &[],
        Request,
        &[RR],
        &["omit RequestReceived", "getPods", "default"],
    ),
    (
        "namespaced",
        &[],
        Request,
        &[RR, RS, RC],
        &["only audit panic", "getPods", "default"],
    ),
    (
        "cluster",
        &[],
        Request,
        &[RR],
        &["omit RequestReceived", "getPods", "default"],
    ),
    (
        "cluster",
        &[],
        Request,
        &[RR, RS, RC],
        &["only audit panic", "getPods", "default"],
    ),
    (
        "nonResource",
        &[],
        Request,
        &[RR],
        &["omit RequestReceived", "getPods", "default"],
    ),
    (
        "nonResource",
        &[],
        Request,
        &[RR, RS, RC],
        &["only audit panic", "getPods", "default"],
    ),
    (
        "namespaced",
        &[RR, RS],
        Request,
        &[RR, RS],
        &["omit RequestReceived", "getPods", "default"],
    ),
    (
        "namespaced",
        &[RR, RS],
        Request,
        &[RR, RS, RC],
        &["only audit panic", "getPods", "default"],
    ),
    (
        "cluster",
        &[RR, RS],
        Request,
        &[RR, RS],
        &["omit RequestReceived", "getPods", "default"],
    ),
    (
        "cluster",
        &[RR, RS],
        Request,
        &[RR, RS, RC],
        &["only audit panic", "getPods", "default"],
    ),
    (
        "nonResource",
        &[RR, RS],
        Metadata,
        &[RR, RS],
        &["default", "omit RequestReceived", "getPods"],
    ),
    (
        "nonResource",
        &[RR, RS],
        Request,
        &[RR, RS, RC],
        &["only audit panic", "getPods", "default"],
    ),
];

#[test]
fn the_api_servers_checker_cases_give_the_same_levels_and_stages() {
    // With no policy stages, and with policy stages, as testAuditLevel is run twice.
    for policy_stages in [&[][..], &[RR, RS][..]] {
        for (request, expected, rules) in SERVER_LEVELS {
            let policy = server_policy(rules, policy_stages);
            let decision = policy.evaluate(&server_request(request).attributes());
            assert_eq!(decision.level, *expected, "{request} with {rules:?}");
            assert_eq!(
                decision.omit_stages,
                StageSet::of(policy_stages),
                "{request} with {rules:?}"
            );
        }
    }
    for (request, policy_stages, level, stages, rules) in SERVER_STAGES {
        let policy = server_policy(rules, policy_stages);
        let decision = policy.evaluate(&server_request(request).attributes());
        assert_eq!(
            (decision.level, decision.omit_stages),
            (*level, StageSet::of(stages)),
            "{request} with {rules:?} and policy stages {policy_stages:?}"
        );
    }
}

/// checker_test.go's `TestUnionStages`: (policy stages, rule stages, union).
const UNIONS: &[(&[Stage], &[Stage], &[Stage])] = &[
    (&[], &[], &[]),
    (&[RR], &[], &[RR]),
    (&[RR], &[RR], &[RR]),
    (&[RR], &[RS], &[RR, RS]),
    (&[RR, RR], &[RR, RR], &[RR]),
    (&[RR, RS], &[Stage::Panic, RR], &[RR, RS, Stage::Panic]),
];

#[test]
fn policy_and_rule_stages_are_united() {
    for (policy_stages, rule_stages, union) in UNIONS {
        let text = format!(
            "apiVersion: audit.k8s.io/v1\nkind: Policy\n{}rules:\n- level: Metadata\n  {}",
            stages_yaml(policy_stages),
            stages_yaml(rule_stages)
        );
        let file = policy::read(&text);
        let policy = file.loaded().unwrap();
        let decision = policy.evaluate(&server_request("namespaced").attributes());
        assert_eq!(decision.omit_stages, StageSet::of(union), "{text}");
        // A request no rule matches gets the policy's stages alone.
        let none = policy::read(&text.replace(
            "- level: Metadata\n",
            "- level: Metadata\n  verbs: [patch]\n",
        ));
        let decision = none
            .loaded()
            .unwrap()
            .evaluate(&server_request("namespaced").attributes());
        assert_eq!(
            (decision.level, decision.rule, decision.omit_stages),
            (LevelNone, None, StageSet::of(policy_stages))
        );
    }
}

#[test]
fn omit_managed_fields_is_the_rules_or_else_the_policys() {
    // checker_test.go's TestOmitManagedFields: (policy default, rule value, result).
    for (global, rule, want) in [
        (false, None, false),
        (true, None, true),
        (true, Some(false), false),
        (false, Some(true), true),
    ] {
        let rule_line = rule.map_or(String::new(), |v| format!("  omitManagedFields: {v}\n"));
        let text = format!(
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitManagedFields: {global}\nrules:\n- level: RequestResponse\n  verbs: [get]\n{rule_line}"
        );
        let decision = policy::read(&text)
            .loaded()
            .unwrap()
            .evaluate(&server_request("namespaced").attributes());
        assert_eq!(decision.omit_managed_fields, want, "{text}");
    }
}

/// validation_test.go: rules the server accepts, one policy each and all together.
const VALID_RULES: &[&str] = &[
    "- level: Metadata\n",
    "- level: None\n  userGroups: [\"system:serviceaccounts\", \"system:nodes\"]\n",
    "- level: RequestResponse\n  verbs: [get]\n  resources: [{group: rbac.authorization.k8s.io, resources: [roles, rolebindings]}]\n  namespaces: [kube-system]\n",
    "- level: Metadata\n  userGroups: [developers]\n  nonResourceURLs: [\"/logs*\", \"/healthz*\", \"/metrics\", \"*\"]\n",
    "- level: Metadata\n  omitStages: [RequestReceived]\n",
];

/// validation_test.go: rules the server refuses, with the reason it gives.
const INVALID_RULES: &[(&str, &str)] = &[
    ("- {}\n", "rules[0].level: Required value"),
    (
        "- verbs: [get]\n  resources: [{resources: [secrets]}]\n  namespaces: [kube-system]\n",
        "rules[0].level: Required value",
    ),
    ("- level: FooBar\n", "rules[0].level: Unsupported value: \"FooBar\""),
    (
        "- level: Metadata\n  namespaces: [default]\n  nonResourceURLs: [\"/logs*\"]\n",
        "rules cannot apply to both regular resources and non-resource URLs",
    ),
    (
        "- level: Metadata\n  resources: [{resources: [secrets]}]\n  nonResourceURLs: [\"/logs*\"]\n",
        "rules cannot apply to both regular resources and non-resource URLs",
    ),
    (
        "- level: Metadata\n  resources: [{group: rbac.authorization.k8s.io/v1beta1, resources: [roles]}]\n",
        "rules[0].resources.group: Invalid value: \"rbac.authorization.k8s.io/v1beta1\": a lowercase RFC 1123 subdomain",
    ),
    (
        "- level: Metadata\n  nonResourceURLs: [logs, \"/healthz*\"]\n",
        "rules[0].nonResourceURLs[0]: Invalid value: \"logs\": non-resource URL rules must begin with a '/' character",
    ),
    (
        "- level: Metadata\n  nonResourceURLs: [\"\", \"/healthz*\"]\n",
        "rules[0].nonResourceURLs[0]: Invalid value: \"\": non-resource URL rules must begin with a '/' character",
    ),
    (
        "- level: Metadata\n  nonResourceURLs: [\"/logs/*/*\", /metrics]\n",
        "non-resource URL wildcards '*' must be the final character of the rule",
    ),
    (
        "- level: Metadata\n  nonResourceURLs: [\"/logs/*.log\", /metrics]\n",
        "non-resource URL wildcards '*' must be the final character of the rule",
    ),
    (
        "- level: Metadata\n  verbs: [get]\n  resources: [{resourceNames: [leader]}]\n  namespaces: [kube-system]\n",
        "rules[0].resources.resourceNames: Invalid value: []string{\"leader\"}: using resourceNames requires at least one resource",
    ),
    (
        "- level: Metadata\n  omitStages: [foo]\n",
        "rules[0].omitStages[0]: Invalid value: \"foo\": allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic",
    ),
];

fn with_rules(rules: &str) -> String {
    format!("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n{rules}")
}

fn refusals(file: &PolicyFile) -> String {
    file.refused
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_api_servers_validation_cases_load_or_are_refused_for_the_same_reason() {
    for rule in VALID_RULES {
        let file = policy::read(&with_rules(rule));
        assert!(file.loads(), "{rule}: {}", refusals(&file));
    }
    assert!(policy::read(&with_rules(&VALID_RULES.concat())).loads());
    for (rule, reason) in INVALID_RULES {
        let file = policy::read(&with_rules(rule));
        assert!(!file.loads(), "{rule} loaded");
        assert!(
            refusals(&file).contains(reason),
            "{rule}: {}",
            refusals(&file)
        );
    }
    // Multiple rules, the last of them empty.
    let file = policy::read(&with_rules(&(VALID_RULES.concat() + "- {}\n")));
    assert!(
        refusals(&file).contains("rules[5].level: Required value"),
        "{}",
        refusals(&file)
    );
    // An invalid stage of the policy itself.
    let file = policy::read(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [foo]\nrules:\n- level: Metadata\n",
    );
    assert!(
        refusals(&file).contains("omitStages[0]: Invalid value: \"foo\""),
        "{}",
        refusals(&file)
    );
    // The validation accepts an empty policy and one with stages only; loading refuses both
    // for having no rules (reader_test.go's TestPolicyCntCheck).
    for text in [
        "apiVersion: audit.k8s.io/v1\nkind: Policy\n",
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\n",
    ] {
        let file = policy::read(text);
        assert!(policy::validate::validate(file.policy.as_ref().unwrap()).is_empty());
        assert_eq!(refusals(&file), "loaded illegal policy with 0 rules");
    }
}

const READER_POLICY: &str = "
rules:
  - level: None
    nonResourceURLs:
      - /healthz*
      - /version
  - level: RequestResponse
    users: [\"tim\"]
    userGroups: [\"testers\", \"developers\"]
    verbs: [\"patch\", \"delete\", \"create\"]
    resources:
      - group: \"\"
      - group: \"rbac.authorization.k8s.io\"
        resources: [\"clusterroles\", \"clusterrolebindings\"]
    namespaces: [\"default\", \"kube-system\"]
  - level: Metadata
";

#[test]
fn the_api_servers_reader_cases_load_as_it_loads_them() {
    // reader_test.go's TestParser: the policy and what it holds.
    let file = policy::read(&format!(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\n{READER_POLICY}"
    ));
    let policy = file.loaded().unwrap();
    assert_eq!(policy.rules.len(), 3);
    assert_eq!(policy.rules[0].level, LevelNone);
    assert_eq!(policy.rules[0].non_resource_urls, ["/healthz*", "/version"]);
    let second = &policy.rules[1];
    assert_eq!(second.users, ["tim"]);
    assert_eq!(second.user_groups, ["testers", "developers"]);
    assert_eq!(second.verbs, ["patch", "delete", "create"]);
    assert_eq!(second.namespaces, ["default", "kube-system"]);
    assert_eq!(second.resources.len(), 2);
    assert_eq!(second.resources[0].group, "");
    assert!(second.resources[0].resources.is_empty());
    assert_eq!(
        second.resources[1].resources,
        ["clusterroles", "clusterrolebindings"]
    );
    assert_eq!(policy.rules[2].level, Metadata);
    // TestParsePolicyWithNoVersionOrKind.
    let file = policy::read(READER_POLICY);
    assert!(
        refusals(&file).contains("unknown group version field"),
        "{}",
        refusals(&file)
    );
    // TestParsePolicyWithUnknownField: `verbs` indented into the resources entry is ignored.
    let file = policy::read(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  resources:\n  - group: coordination.k8s.io\n    resources:\n    - \"leases\"\n    verbs: [\"watch\", \"get\", \"list\"]\n",
    );
    assert!(file.loads(), "{}", refusals(&file));
    assert_eq!(file.ignored.len(), 1);
    assert_eq!(file.ignored[0].field, "rules[0].resources[0].verbs");
    assert_eq!(file.ignored[0].line, 9);
    assert!(file.policy.unwrap().rules[0].verbs.is_empty());
    // TestPolicyCntCheck: an empty file.
    assert!(!policy::read("").loads());
}

#[test]
fn only_audit_k8s_io_v1_policies_load() {
    let rules = "rules:\n- level: Metadata\n";
    for (head, loads, reason) in [
        ("apiVersion: audit.k8s.io/v1\nkind: Policy\n", true, ""),
        // A missing kind is taken from the type the server decodes into.
        ("apiVersion: audit.k8s.io/v1\n", true, ""),
        (
            "apiVersion: audit.k8s.io/v1beta1\nkind: Policy\n",
            false,
            "1.24 and later load only audit.k8s.io/v1",
        ),
        (
            "apiVersion: audit.k8s.io/v1alpha1\nkind: Policy\n",
            false,
            "v1beta1 and v1alpha1 were removed",
        ),
        (
            "apiVersion: v1\nkind: Policy\n",
            false,
            "no kind \"Policy\" is registered for version \"v1\"",
        ),
        ("kind: Policy\n", false, "unknown group version field"),
        (
            "apiVersion: audit.k8s.io/v1\nkind: Event\n",
            false,
            "not a Policy",
        ),
        (
            "apiVersion: audit.k8s.io/v1\nkind: policy\n",
            false,
            "not a Policy",
        ),
        (
            "apiVersion: 1\nkind: Policy\n",
            false,
            "apiVersion: expected a string, found a number",
        ),
    ] {
        let file = policy::read(&format!("{head}{rules}"));
        assert_eq!(file.loads(), loads, "{head}: {}", refusals(&file));
        assert!(
            refusals(&file).contains(reason),
            "{head}: {}",
            refusals(&file)
        );
    }
}

/// Decoding cases of our own: (policy text, loads, what the first rule holds or why refused).
#[test]
fn values_decode_as_json_decodes_them() {
    let head = "apiVersion: audit.k8s.io/v1\nkind: Policy\n";
    // Field names are exact: `Level` is not `level` (and the rule then has none).
    let file = policy::read(&format!("{head}rules:\n- Level: Metadata\n"));
    assert!(refusals(&file).contains("rules[0].level: Required value"));
    assert_eq!(file.ignored[0].suggestion, Some("level"));
    // The last of two equal keys wins.
    let file = policy::read(&format!("{head}rules:\n- level: None\n  level: Metadata\n"));
    assert_eq!(file.loaded().unwrap().rules[0].level, Metadata);
    assert_eq!((file.repeated[0].first_line, file.repeated[0].line), (4, 5));
    // A string where a list belongs, a number where a string belongs: refused.
    let file = policy::read(&format!("{head}rules:\n- level: None\n  verbs: get\n"));
    assert!(refusals(&file).contains("rules[0].verbs: expected a list of strings, found a string"));
    let file = policy::read(&format!(
        "{head}rules:\n- level: None\n  namespaces: [2024]\n"
    ));
    assert!(refusals(&file).contains("rules[0].namespaces[0]: expected a string, found a number"));
    // YAML 1.1 as the server reads it: `on` is a boolean, so this is refused...
    let file = policy::read(&format!("{head}rules:\n- level: None\n  users: [on]\n"));
    assert!(
        refusals(&file).contains("found a boolean"),
        "{}",
        refusals(&file)
    );
    // ...and `yes` is true.
    let file = policy::read(&format!(
        "{head}omitManagedFields: yes\nrules:\n- level: None\n"
    ));
    assert!(file.loaded().unwrap().omit_managed_fields);
    // null leaves the zero value: a null resources entry is the whole core group.
    let file = policy::read(&format!(
        "{head}rules:\n- level: Metadata\n  resources: [~]\n  users: [~]\n"
    ));
    let rule = &file.loaded().unwrap().rules[0];
    assert_eq!(
        (rule.resources.len(), rule.resources[0].group.as_str()),
        (1, "")
    );
    assert_eq!(rule.users, [""]);
    // JSON loads the same as YAML.
    let json = r#"{"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
        "rules": [{"level": "Metadata", "resources": [{"group": "apps", "resources": ["deployments"]}]}]}"#;
    let yaml = format!("{head}omitStages: [RequestReceived]\nrules:\n- level: Metadata\n  resources: [{{group: apps, resources: [deployments]}}]\n");
    let (a, b) = (policy::read(json), policy::read(&yaml));
    let strip = |mut p: policy::Policy| {
        for rule in &mut p.rules {
            rule.line = 0;
            for entry in &mut rule.resources {
                entry.line = 0;
            }
        }
        p
    };
    assert_eq!(strip(a.policy.unwrap()), strip(b.policy.unwrap()));
    // Only the first YAML document is read.
    let file = policy::read(&format!(
        "{head}rules:\n- level: None\n---\n{head}rules:\n- level: Metadata\n"
    ));
    assert_eq!(
        (file.loaded().unwrap().rules[0].level, file.extra_documents),
        (LevelNone, 1)
    );
    // Not a mapping, not YAML, not UTF-8.
    assert!(refusals(&policy::read("- level: None\n")).contains("not a Policy mapping"));
    assert!(refusals(&policy::read("rules: [\n")).contains("not valid YAML"));
    assert!(refusals(&policy::read_bytes(b"rules: \xff\n")).contains("not UTF-8"));
}

/// A request of our own cases: its differences from a person's `get pods` in `default`.
fn req(change: impl FnOnce(&mut Req)) -> Req {
    let mut r = Req {
        user: Some("alice"),
        groups: &["dev", "system:authenticated"],
        verb: "get",
        resource_request: true,
        group: "",
        resource: "pods",
        subresource: "",
        namespace: "default",
        name: "web-1",
        path: "/api/v1/namespaces/default/pods/web-1",
    };
    change(&mut r);
    r
}

fn non_resource(path: &'static str) -> Req {
    req(|r| {
        r.resource_request = false;
        r.resource = "";
        r.namespace = "";
        r.name = "";
        r.path = path;
    })
}

/// Our own cases: (rules, request, expected level, expected rule index).
#[test]
fn matching_follows_the_servers_semantics_field_by_field() {
    let cases: Vec<(&str, Req, Level, Option<usize>)> = vec![
        // `pods` matches pods, not their subresources; `pods/*` matches both.
        (
            "- level: Request\n  resources: [{resources: [pods]}]\n",
            req(|r| r.subresource = "exec"),
            LevelNone,
            None,
        ),
        (
            "- level: Request\n  resources: [{resources: [\"pods/*\"]}]\n",
            req(|_| {}),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  resources: [{resources: [\"pods/*\"]}]\n",
            req(|r| r.subresource = "exec"),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  resources: [{resources: [\"pods/*\"]}]\n",
            req(|r| r.resource = "podtemplates"),
            LevelNone,
            None,
        ),
        // `*/status` matches a status subresource of anything, never the resource itself.
        (
            "- level: Request\n  resources: [{group: \"*\", resources: [\"*/status\"]}]\n",
            req(|r| {
                r.group = "apps";
                r.resource = "deployments";
                r.subresource = "status"
            }),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  resources: [{group: \"*\", resources: [\"*/status\"]}]\n",
            req(|_| {}),
            LevelNone,
            None,
        ),
        // `*` is every resource and subresource, of the entry's group only.
        (
            "- level: Request\n  resources: [{resources: [\"*\"]}]\n",
            req(|r| r.subresource = "log"),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  resources: [{resources: [\"*\"]}]\n",
            req(|r| r.group = "apps"),
            LevelNone,
            None,
        ),
        // An entry without resources is its whole group.
        (
            "- level: Request\n  resources: [{group: apps}]\n",
            req(|r| {
                r.group = "apps";
                r.resource = "deployments";
                r.subresource = "scale"
            }),
            Request,
            Some(0),
        ),
        // resourceNames restrict by name.
        (
            "- level: Request\n  resources: [{resources: [configmaps], resourceNames: [leader]}]\n",
            req(|r| {
                r.resource = "configmaps";
                r.name = "leader"
            }),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  resources: [{resources: [configmaps], resourceNames: [leader]}]\n",
            req(|r| {
                r.resource = "configmaps";
                r.name = "other"
            }),
            LevelNone,
            None,
        ),
        // Namespaces: "" is cluster-scoped; a namespaces-only rule is for resources only.
        (
            "- level: Request\n  namespaces: [\"\"]\n",
            req(|r| {
                r.resource = "nodes";
                r.namespace = ""
            }),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  namespaces: [\"\"]\n",
            req(|_| {}),
            LevelNone,
            None,
        ),
        (
            "- level: Request\n  namespaces: [default]\n",
            non_resource("/healthz"),
            LevelNone,
            None,
        ),
        // Non-resource URLs: exact, a trailing `*`, or `*`; never a resource request.
        (
            "- level: Request\n  nonResourceURLs: [/healthz]\n",
            non_resource("/healthz"),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  nonResourceURLs: [/healthz]\n",
            non_resource("/healthz/etcd"),
            LevelNone,
            None,
        ),
        (
            "- level: Request\n  nonResourceURLs: [\"/healthz*\"]\n",
            non_resource("/healthz/etcd"),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  nonResourceURLs: [\"*\"]\n",
            non_resource("/apis"),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  nonResourceURLs: [\"*\"]\n",
            req(|_| {}),
            LevelNone,
            None,
        ),
        // A rule with none of them matches resource and non-resource requests alike.
        (
            "- level: Request\n  verbs: [get]\n",
            non_resource("/version"),
            Request,
            Some(0),
        ),
        // Users and groups: exact strings; `*` is literal; no user matches neither.
        (
            "- level: Request\n  users: [alice]\n",
            req(|_| {}),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  users: [\"*\"]\n",
            req(|_| {}),
            LevelNone,
            None,
        ),
        (
            "- level: Request\n  userGroups: [\"*\"]\n",
            req(|_| {}),
            LevelNone,
            None,
        ),
        (
            "- level: Request\n  userGroups: [dev]\n",
            req(|_| {}),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  userGroups: [\"\"]\n",
            req(|r| {
                r.user = None;
                r.groups = &[""]
            }),
            LevelNone,
            None,
        ),
        (
            "- level: Request\n  users: [\"\"]\n",
            req(|r| r.user = None),
            LevelNone,
            None,
        ),
        // Verbs are exact.
        (
            "- level: Request\n  verbs: [list]\n",
            req(|r| r.verb = "watch"),
            LevelNone,
            None,
        ),
        // The first match wins, even when a later rule is more specific.
        (
            "- level: Metadata\n- level: RequestResponse\n  users: [alice]\n",
            req(|_| {}),
            Metadata,
            Some(0),
        ),
        (
            "- level: None\n  users: [bob]\n- level: RequestResponse\n  users: [alice]\n",
            req(|_| {}),
            RequestResponse,
            Some(1),
        ),
        // A rule at None that matches still matches (its index is reported).
        (
            "- level: None\n  verbs: [get]\n- level: Metadata\n",
            req(|_| {}),
            LevelNone,
            Some(0),
        ),
    ];
    for (rules, request, level, rule) in cases {
        let file = policy::read(&with_rules(rules));
        let policy = file
            .loaded()
            .unwrap_or_else(|| panic!("{rules}: {}", refusals(&file)));
        let decision = policy.evaluate(&request.attributes());
        assert_eq!((decision.level, decision.rule), (level, rule), "{rules}");
    }
}

#[test]
fn an_ignored_groups_field_leaves_the_entry_at_the_core_group() {
    // The example that circulates: `groups` is no field, so both entries are group "".
    let file = policy::read(&with_rules(
        "- level: Metadata\n  resources:\n  - groups: [\"*\"]\n    resources: [\"*\"]\n  verbs: [get, list, watch]\n- level: RequestResponse\n  resources:\n  - groups: [apps]\n    resources: [deployments]\n  verbs: [create, update, delete]\n",
    ));
    let policy = file.loaded().unwrap();
    let deployment = |verb| {
        req(move |r| {
            r.verb = verb;
            r.group = "apps";
            r.resource = "deployments"
        })
    };
    assert_eq!(
        policy.evaluate(&deployment("get").attributes()).level,
        LevelNone
    );
    assert_eq!(
        policy.evaluate(&deployment("create").attributes()).level,
        LevelNone
    );
    assert_eq!(policy.evaluate(&req(|_| {}).attributes()).level, Metadata);
    assert_eq!(file.ignored.len(), 2);
}

fn event(id: &str, fields: &str) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"ResponseComplete","requestReceivedTimestamp":"2026-01-01T00:00:00.000000Z",{fields}}}"#
    ) + "\n"
}

/// Evaluates `policy` on every request of `log`, by auditID.
fn evaluate_log(policy: &str, log: &str) -> Vec<(String, Decision)> {
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file("a.log");
    analysis.push(file, log.as_bytes());
    analysis.finish();
    assert!(
        analysis.diagnostics().is_empty(),
        "{:?}",
        analysis.diagnostics()
    );
    let policy = policy::read(&with_rules(policy));
    let policy = policy.loaded().unwrap();
    analysis
        .requests()
        .iter()
        .map(|e| {
            let id = analysis.interner().audit_id_text(e.audit_id).into_owned();
            let attributes = RequestAttributes::of_event(e, analysis.interner());
            (id, policy.evaluate(&attributes))
        })
        .collect()
}

#[test]
fn events_give_the_attributes_the_server_evaluated() {
    let log = [
        // Impersonation: the policy saw the sender (carol), not system:admin.
        event("imp", r#""verb":"get","requestURI":"/api/v1/namespaces/kube-system/secrets/x","user":{"username":"carol","groups":["system:authenticated"]},"impersonatedUser":{"username":"system:admin","groups":["system:masters"]},"objectRef":{"resource":"secrets","namespace":"kube-system","name":"x","apiVersion":"v1"}"#),
        // A create names its object in the body only: the policy saw no name.
        event("create", r#""verb":"create","requestURI":"/api/v1/namespaces/kube-system/configmaps","user":{"username":"bob","groups":["system:authenticated"]},"objectRef":{"resource":"configmaps","namespace":"kube-system","name":"leader","apiVersion":"v1"}"#),
        // An update names it in the URL.
        event("update", r#""verb":"update","requestURI":"/api/v1/namespaces/kube-system/configmaps/leader","user":{"username":"bob","groups":["system:authenticated"]},"objectRef":{"resource":"configmaps","namespace":"kube-system","name":"leader","apiVersion":"v1"}"#),
        // A non-resource request: the path without its query.
        event("probe", r#""verb":"get","requestURI":"/healthz?verbose=1","user":{"username":"system:anonymous","groups":["system:unauthenticated"]}"#),
        // Failed authentication: no user at all.
        event("anon", r#""verb":"list","requestURI":"/api/v1/pods","user":{},"objectRef":{"resource":"pods","apiVersion":"v1"}"#),
    ]
    .concat();
    let decisions = evaluate_log(
        "- level: None\n  users: [\"system:admin\"]\n- level: RequestResponse\n  users: [carol]\n- level: Request\n  resources: [{resources: [configmaps], resourceNames: [leader]}]\n- level: None\n  nonResourceURLs: [/healthz]\n- level: Metadata\n  userGroups: [\"system:unauthenticated\"]\n- level: Metadata\n  resources: [{resources: [configmaps]}]\n",
        &log,
    );
    let by_id = |id: &str| decisions.iter().find(|(i, _)| i == id).unwrap().1;
    assert_eq!(
        (by_id("imp").level, by_id("imp").rule),
        (RequestResponse, Some(1))
    );
    assert_eq!(
        (by_id("create").level, by_id("create").rule),
        (Metadata, Some(5))
    );
    assert_eq!(
        (by_id("update").level, by_id("update").rule),
        (Request, Some(2))
    );
    assert_eq!(
        (by_id("probe").level, by_id("probe").rule),
        (LevelNone, Some(3))
    );
    assert_eq!((by_id("anon").level, by_id("anon").rule), (LevelNone, None));
}
