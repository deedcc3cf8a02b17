//! The API server's own test cases for its audit policy (k8s.io/apiserver
//! `pkg/audit/policy/checker_test.go`, `reader_test.go` and
//! `pkg/apis/audit/validation/validation_test.go`), ported as data: the same requests, the same
//! rules, the same expected levels, stages and refusals. Our own cases are in
//! `policy_semantics.rs`.
#![allow(clippy::unwrap_used)]

mod policy_support;

use auditlens_core::model::{Level, Stage};
use auditlens_core::policy::{self, StageSet};
use policy_support::{refusals, with_rules, Req};

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
