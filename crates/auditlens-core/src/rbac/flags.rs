//! Rights worth a look in what an identity is granted, each with how much the identity used
//! it: bound to cluster-admin (or to `*` on everything cluster-wide), rules with wildcards, and
//! rights that lead to more rights (`bind`, `escalate`, `impersonate`, reading secrets in every
//! namespace). A right is found by asking the granted rules about it, as the API server would.

use super::authorizer::Grant;
use super::compare::{covers_scope, role_label, Flag};
use super::matching::{rule_allows, Attributes};
use super::objects::PolicyRule;
use super::observe::Observed;

/// A right worth flagging: how to ask for it, and how to say it.
struct Probe {
    right: &'static str,
    verb: &'static str,
    group: &'static str,
    resource: &'static str,
    /// Only for cluster-wide grants.
    cluster_only: bool,
}

const PROBES: &[Probe] = &[
    Probe {
        right: "bind clusterroles",
        verb: "bind",
        group: "rbac.authorization.k8s.io",
        resource: "clusterroles",
        cluster_only: false,
    },
    Probe {
        right: "bind roles",
        verb: "bind",
        group: "rbac.authorization.k8s.io",
        resource: "roles",
        cluster_only: false,
    },
    Probe {
        right: "escalate clusterroles",
        verb: "escalate",
        group: "rbac.authorization.k8s.io",
        resource: "clusterroles",
        cluster_only: false,
    },
    Probe {
        right: "escalate roles",
        verb: "escalate",
        group: "rbac.authorization.k8s.io",
        resource: "roles",
        cluster_only: false,
    },
    Probe {
        right: "impersonate users",
        verb: "impersonate",
        group: "",
        resource: "users",
        cluster_only: true,
    },
    Probe {
        right: "impersonate groups",
        verb: "impersonate",
        group: "",
        resource: "groups",
        cluster_only: true,
    },
    Probe {
        right: "impersonate serviceaccounts",
        verb: "impersonate",
        group: "",
        resource: "serviceaccounts",
        cluster_only: false,
    },
    Probe {
        right: "read secrets in every namespace",
        verb: "get",
        group: "",
        resource: "secrets",
        cluster_only: true,
    },
    Probe {
        right: "list secrets in every namespace",
        verb: "list",
        group: "",
        resource: "secrets",
        cluster_only: true,
    },
];

pub(crate) fn flags(grants: &[Grant<'_>], allowed: &[&Observed<'_>]) -> Vec<Flag> {
    let mut flags = Vec::new();
    let uses = |grant: &Grant<'_>, rule: &PolicyRule| -> u64 {
        allowed
            .iter()
            .filter(|o| covers_scope(grant, &o.attributes) && rule_allows(&o.attributes, rule))
            .map(|o| o.evidence.requests)
            .sum()
    };
    for grant in grants {
        let flag = |kind: &str, right: String, used: u64, message: String| Flag {
            kind: kind.to_string(),
            right,
            binding: grant.binding.describe(),
            role: role_label(grant),
            namespace: grant.binding.namespace().to_string(),
            used,
            message,
        };
        let where_ = if grant.binding.namespace().is_empty() {
            "cluster-wide".to_string()
        } else {
            format!("in namespace {}", grant.binding.namespace())
        };
        let through = format!("{} → {}", grant.binding.describe(), role_label(grant));
        let everything = |r: &PolicyRule| {
            [&r.verbs, &r.api_groups, &r.resources]
                .iter()
                .all(|list| list.iter().any(|v| v == "*"))
        };
        let admin = grant.binding.namespace().is_empty()
            && (grant.binding.role_ref().kind == "ClusterRole"
                && grant.binding.role_ref().name == "cluster-admin"
                || grant.rules.iter().any(everything));
        if admin {
            let used: u64 = allowed
                .iter()
                .filter(|o| grant.rules.iter().any(|r| rule_allows(&o.attributes, r)))
                .map(|o| o.evidence.requests)
                .sum();
            flags.push(flag(
                "cluster-admin",
                "everything, cluster-wide".into(),
                used,
                format!("holds cluster-admin through {through}; {used} allowed requests used it"),
            ));
        }
        for rule in grant.rules.iter().filter(|r| r.has_wildcard()) {
            if admin && everything(rule) {
                continue;
            }
            let used = uses(grant, rule);
            flags.push(flag(
                "wildcard",
                rule.describe(),
                used,
                format!(
                    "a wildcard rule ({}) {where_} through {through}; {used} allowed requests used it",
                    rule.describe()
                ),
            ));
        }
        for probe in PROBES {
            if probe.cluster_only && !grant.binding.namespace().is_empty() {
                continue;
            }
            let attributes = Attributes::resource(
                "",
                probe.verb,
                probe.group,
                probe.resource,
                grant.binding.namespace(),
                "",
            );
            if !grant.rules.iter().any(|r| rule_allows(&attributes, r)) {
                continue;
            }
            let used: u64 = allowed
                .iter()
                .filter(|o| {
                    let a = &o.attributes;
                    covers_scope(grant, a)
                        && a.resource_request
                        && a.verb == probe.verb
                        && a.api_group == probe.group
                        && a.resource == probe.resource
                        && a.subresource.is_empty()
                        && (!probe.cluster_only || a.namespace.is_empty() || probe.verb == "get")
                })
                .map(|o| o.evidence.requests)
                .sum();
            flags.push(flag(
                "escalation",
                probe.right.to_string(),
                used,
                format!(
                    "may {} {where_} through {through}; {used} allowed requests used it",
                    probe.right
                ),
            ));
        }
    }
    flags
}
