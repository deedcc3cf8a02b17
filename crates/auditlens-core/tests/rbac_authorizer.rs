//! The RBAC authorizer against the Kubernetes API server's own test cases, kept as data in
//! `tests/fixtures/rbac/authorizer-cases.yaml` (with a few more of ours at the end of each
//! table). Every case names its source; a failure names the case.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use auditlens_core::rbac::aggregate::aggregate;
use auditlens_core::rbac::authorizer::applies_to;
use auditlens_core::rbac::matching::{resource_matches, rule_allows};
use auditlens_core::rbac::objects::{
    AggregationRule, ClusterRole, LabelSelector, ObjectMeta, PolicyRule, Subject,
};
use auditlens_core::rbac::{Attributes, Authorizer, Policy};
use serde::Deserialize;

const CASES: &str = include_str!("fixtures/rbac/authorizer-cases.yaml");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cases {
    resource_matches: Vec<ResourceMatchesCase>,
    rule_allows: Vec<RuleAllowsCase>,
    authorizer: Vec<AuthorizerCase>,
    applies_to: Vec<AppliesToCase>,
    rules_for: Vec<RulesForCase>,
    rules_for_objects: serde_json::Value,
    rules_for_names: BTreeMap<String, PolicyRule>,
    aggregation: Vec<AggregationCase>,
    aggregation_rules: BTreeMap<String, PolicyRule>,
}

#[derive(Deserialize)]
struct ResourceMatchesCase {
    name: String,
    resources: Vec<String>,
    combined: String,
    subresource: String,
    expected: bool,
}

#[derive(Deserialize)]
struct RuleAllowsCase {
    name: String,
    rule: PolicyRule,
    requests: Vec<Request>,
}

/// A request of a case: a resource request unless it has a `path`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Request {
    user: String,
    groups: Vec<String>,
    verb: String,
    api_group: String,
    resource: String,
    subresource: String,
    namespace: String,
    name: String,
    path: Option<String>,
    allowed: Option<bool>,
}

impl Request {
    fn attributes(&self) -> Attributes<'_> {
        let attributes = match &self.path {
            Some(path) => Attributes::non_resource(&self.user, &self.verb, path),
            None => Attributes::resource(
                &self.user,
                &self.verb,
                &self.api_group,
                &self.resource,
                &self.namespace,
                &self.name,
            )
            .with_subresource(&self.subresource),
        };
        let groups: Vec<&str> = self.groups.iter().map(String::as_str).collect();
        attributes.with_groups(&groups)
    }
}

#[derive(Deserialize)]
struct AuthorizerCase {
    name: String,
    objects: serde_json::Value,
    allow: Vec<Request>,
    deny: Vec<Request>,
}

#[derive(Deserialize)]
#[serde(default)]
#[derive(Default)]
struct AppliesToCase {
    name: String,
    subjects: Vec<Subject>,
    user: String,
    groups: Vec<String>,
    namespace: String,
    applies: bool,
    index: usize,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RulesForCase {
    name: String,
    user: String,
    groups: Vec<String>,
    namespace: String,
    rules: Vec<String>,
}

#[derive(Deserialize)]
struct AggregationCase {
    name: String,
    #[serde(rename = "clusterRoles")]
    cluster_roles: Vec<RoleCase>,
    expected: Vec<String>,
}

#[derive(Deserialize)]
struct RoleCase {
    metadata: ObjectMeta,
    #[serde(default)]
    selectors: Option<Vec<LabelSelector>>,
    rules: Vec<String>,
}

fn cases() -> Cases {
    serde_saphyr::from_str(CASES).unwrap()
}

/// The objects of a case as the policy a file of them gives.
fn policy(objects: &serde_json::Value) -> Policy {
    let mut items = objects.clone();
    for item in items.as_array_mut().unwrap() {
        item["apiVersion"] = "rbac.authorization.k8s.io/v1".into();
    }
    Policy::parse("case", &items.to_string()).unwrap().policy
}

#[test]
fn resource_matching_follows_the_api_server() {
    let cases = cases().resource_matches;
    assert_eq!(cases.len(), 14);
    for case in cases {
        let rule = PolicyRule {
            resources: case.resources.clone(),
            ..PolicyRule::default()
        };
        assert_eq!(
            resource_matches(&rule, &case.combined, &case.subresource),
            case.expected,
            "{}",
            case.name
        );
    }
}

#[test]
fn one_rule_allows_exactly_what_the_api_server_allows() {
    let cases = cases().rule_allows;
    assert_eq!(cases.len(), 11);
    let (mut allowed, mut refused) = (0, 0);
    for case in cases {
        for request in &case.requests {
            let expected = request.allowed.unwrap();
            let got = rule_allows(&request.attributes(), &case.rule);
            assert_eq!(
                got, expected,
                "{}: {:?} {:?}",
                case.name, request.verb, request.path
            );
            if expected {
                allowed += 1;
            } else {
                refused += 1;
            }
        }
    }
    // Both outcomes are exercised, many times.
    assert!(
        allowed >= 30 && refused >= 40,
        "{allowed} allowed, {refused} refused"
    );
}

#[test]
fn the_authorizer_allows_and_refuses_as_the_api_server_does() {
    let cases = cases().authorizer;
    assert_eq!(cases.len(), 6);
    for case in cases {
        let authorizer = Authorizer::new(policy(&case.objects));
        assert!(
            !case.allow.is_empty() && !case.deny.is_empty(),
            "{}",
            case.name
        );
        for request in &case.allow {
            let decision = authorizer.authorize(&request.attributes());
            assert!(
                decision.allowed,
                "{}: should allow {:?}",
                case.name,
                request.attributes()
            );
            assert!(
                decision.reason.starts_with("RBAC: allowed by "),
                "{}",
                decision.reason
            );
        }
        for request in &case.deny {
            assert!(
                !authorizer.allows(&request.attributes()),
                "{}: should refuse {:?}",
                case.name,
                request.attributes()
            );
        }
    }
}

#[test]
fn bindings_apply_to_the_subjects_the_api_server_matches() {
    let cases = cases().applies_to;
    assert_eq!(cases.len(), 13);
    for case in cases {
        let groups: Vec<&str> = case.groups.iter().map(String::as_str).collect();
        let found = applies_to(&case.user, &groups, &case.subjects, &case.namespace);
        assert_eq!(found.is_some(), case.applies, "{}", case.name);
        if let Some(subject) = found {
            let index = case.subjects.iter().position(|s| std::ptr::eq(s, subject));
            assert_eq!(index, Some(case.index), "{}", case.name);
        }
    }
}

#[test]
fn the_rules_for_a_user_are_those_of_its_bindings() {
    let all = cases();
    assert_eq!(all.rules_for.len(), 4);
    let authorizer = Authorizer::new(policy(&all.rules_for_objects));
    for case in all.rules_for {
        let groups: Vec<&str> = case.groups.iter().map(String::as_str).collect();
        let mut got = authorizer.rules_for(&case.user, &groups, &case.namespace);
        let mut expected: Vec<PolicyRule> = case
            .rules
            .iter()
            .map(|name| all.rules_for_names[name].clone())
            .collect();
        got.sort();
        expected.sort();
        assert_eq!(got, expected, "{}", case.name);
    }
}

#[test]
fn aggregated_cluster_roles_get_what_the_controller_gives_them() {
    let all = cases();
    assert_eq!(all.aggregation.len(), 9);
    for case in all.aggregation {
        let mut roles: Vec<ClusterRole> = case
            .cluster_roles
            .iter()
            .map(|r| ClusterRole {
                metadata: r.metadata.clone(),
                aggregation_rule: r.selectors.clone().map(|s| AggregationRule {
                    cluster_role_selectors: s,
                }),
                rules: r
                    .rules
                    .iter()
                    .map(|n| all.aggregation_rules[n].clone())
                    .collect(),
            })
            .collect();
        let notes = aggregate(&mut roles);
        let combined = roles
            .iter()
            .find(|r| r.metadata.name == "combined")
            .unwrap();
        let expected: Vec<PolicyRule> = case
            .expected
            .iter()
            .map(|n| all.aggregation_rules[n].clone())
            .collect();
        assert_eq!(combined.rules, expected, "{}", case.name);
        assert_eq!(
            notes.is_empty(),
            !case.name.contains("invalid"),
            "{}: {notes:?}",
            case.name
        );
    }
}
