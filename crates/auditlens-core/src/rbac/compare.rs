//! What an identity holds against what it used: the granted RBAC (read from the cluster's
//! objects) evaluated for the identity's name, groups and service account, held against the
//! requests it was allowed in the logs.
//!
//! - **Bindings**: each binding that applies, through which subject, and how many of the
//!   identity's requests its rules cover.
//! - **Unused permissions**: per granted rule, what it allows that no request used (a rule
//!   nothing used, whole; else the verbs never used on each of its resources).
//! - **Over-privilege**: granted permissions against used ones. A permission is one verb on one
//!   resource in one scope (cluster-wide or a namespace), counted against the API's built-in
//!   resources ([`super::catalog`]) and any resource the logs or the rules name, so that `*`
//!   counts as all it reaches. Grants that reach the identity only through groups every
//!   authenticated client has (`system:authenticated`, `system:unauthenticated`,
//!   `system:serviceaccounts`) are counted apart: they are the cluster's defaults, not this
//!   identity's privilege.
//! - **Flags**: bound to cluster-admin (or to `*` on everything cluster-wide), rules with
//!   wildcards, and rights that lead to more rights (`bind`, `escalate`, `impersonate`, reading
//!   secrets in every namespace), each with how many requests used it.
//! - **Allowed but not granted**: requests the logs show allowed that this RBAC refuses; another
//!   authorizer (Node, a webhook, `system:masters`) allowed them, or the file is not the whole
//!   story.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::authorizer::{applies_to, Authorizer, Binding, Grant};
use super::catalog::{BUILT_IN, CRUD};
use super::matching::{api_group_matches, resource_matches, rule_allows, Attributes};
use super::objects::{PolicyRule, Subject};
use super::observe::{IdentityObservations, Observed, Outcome};
use super::report::RequestGroup;
use crate::intern::Interner;

/// Groups every client of a kind has: bindings only through them are the cluster's defaults.
pub const EVERYONE_GROUPS: [&str; 3] = [
    "system:authenticated",
    "system:unauthenticated",
    "system:serviceaccounts",
];

/// The identity's granted RBAC against its behaviour. See the module docs.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantedComparison {
    pub bindings: Vec<BindingUse>,
    pub permissions: PermissionCount,
    pub unused: Vec<UnusedPermission>,
    pub flags: Vec<Flag>,
    /// Allowed in the logs, refused by the granted RBAC.
    pub not_granted: Vec<RequestGroup>,
}

/// A binding that applies to the identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BindingUse {
    /// `ClusterRoleBinding "x"` or `RoleBinding "x/ns"`.
    pub binding: String,
    /// `ClusterRole "view"`.
    pub role: String,
    /// Where its rules apply; empty for cluster-wide.
    pub namespace: String,
    /// The subject that names the identity: `User "alice"`, `Group "system:authenticated"`.
    pub via: String,
    /// Only through a group every authenticated client has.
    pub everyone: bool,
    pub rules: usize,
    /// Allowed requests its rules cover.
    pub requests: u64,
}

/// Granted permissions against used ones.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionCount {
    /// Verb-on-resource-in-scope permissions the identity's own bindings grant.
    pub granted: u64,
    /// Of those, how many a request used.
    pub used: u64,
    /// `used / granted` (1 when nothing is granted).
    pub used_share: f64,
    /// Permissions granted only through groups everyone has, not counted above.
    pub everyone: u64,
}

impl PermissionCount {
    /// `it used 16 of the 278 permissions its own bindings grant (5.8 %); 11 more come through
    /// groups every client has.`
    pub fn sentence(&self) -> String {
        let own = if self.granted == 0 {
            "its own bindings grant nothing".to_string()
        } else {
            format!(
                "it used {} of the {} permissions its own bindings grant ({:.1} %)",
                self.used,
                self.granted,
                100.0 * self.used_share
            )
        };
        if self.everyone == 0 {
            format!("{own}.")
        } else {
            format!(
                "{own}; {} more come through groups every client has.",
                self.everyone
            )
        }
    }
}

/// What one granted rule allows that no request used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnusedPermission {
    pub binding: String,
    pub role: String,
    /// Empty for cluster-wide.
    pub namespace: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    #[serde(rename = "nonResourceURLs", skip_serializing_if = "Vec::is_empty")]
    pub non_resource_urls: Vec<String>,
    /// The verbs never used (`*`: all but `usedVerbs`).
    pub verbs: Vec<String>,
    /// Verbs of the same rule that were used on these resources.
    pub used_verbs: Vec<String>,
    pub everyone: bool,
}

/// A right worth a look, with how much it was used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Flag {
    /// `cluster-admin`, `wildcard` or `escalation`.
    pub kind: String,
    /// What it allows, in a few words: `bind clusterroles`, `* on * (all groups)`.
    pub right: String,
    pub binding: String,
    pub role: String,
    /// Empty for cluster-wide.
    pub namespace: String,
    /// Allowed requests that used it.
    pub used: u64,
    pub message: String,
}

/// Compares the granted RBAC with what `identity` was allowed. `universe` lists extra
/// resources (group, `resource[/sub]`, namespaced) the logs hold, beyond the built-in ones.
pub fn compare(
    identity: &IdentityObservations<'_>,
    granted: &Authorizer,
    universe: &BTreeSet<(String, String, bool)>,
    interner: &Interner,
) -> GrantedComparison {
    let groups: Vec<&str> = identity.groups.iter().copied().collect();
    let allowed: Vec<&Observed<'_>> = identity
        .observed
        .iter()
        .filter(|o| o.outcome == Outcome::Allowed)
        .collect();
    let grants = applicable(granted, identity.identity, &groups);
    let universe = Universe::new(universe, &grants);
    let mut bindings = Vec::new();
    let mut unused = Vec::new();
    let mut atoms = Atoms::default();
    for grant in &grants {
        let everyone = only_everyone(identity.identity, &groups, grant);
        let in_scope: Vec<&&Observed<'_>> = allowed
            .iter()
            .filter(|o| covers_scope(grant, &o.attributes))
            .collect();
        for rule in grant.rules {
            let used: Vec<&Observed<'_>> = in_scope
                .iter()
                .filter(|o| rule_allows(&o.attributes, rule))
                .map(|o| **o)
                .collect();
            unused.extend(unused_of(grant, rule, &used, everyone));
            atoms.add(grant, rule, &used, &universe, everyone);
        }
        // A request several rules of a binding allow counts once.
        let covered: u64 = in_scope
            .iter()
            .filter(|o| grant.rules.iter().any(|r| rule_allows(&o.attributes, r)))
            .map(|o| o.evidence.requests)
            .sum();
        bindings.push(BindingUse {
            binding: grant.binding.describe(),
            role: role_label(grant),
            namespace: grant.binding.namespace().to_string(),
            via: super::authorizer::describe_subject(grant.subject, grant.binding.namespace()),
            everyone,
            rules: grant.rules.len(),
            requests: covered,
        });
    }
    let flags = super::flags::flags(&grants, &allowed);
    let not_granted = not_granted(granted, &allowed, interner);
    GrantedComparison {
        bindings,
        permissions: atoms.count(),
        unused,
        flags,
        not_granted,
    }
}

/// Every binding that applies to the identity, cluster-wide ones first, then by namespace.
fn applicable<'p>(granted: &'p Authorizer, user: &str, groups: &[&str]) -> Vec<Grant<'p>> {
    let mut grants = granted.grants(user, groups, "");
    let namespaces: BTreeSet<&str> = granted
        .policy()
        .role_bindings
        .iter()
        .map(|b| b.metadata.namespace.as_str())
        .collect();
    for namespace in namespaces {
        grants.extend(
            granted
                .grants(user, groups, namespace)
                .into_iter()
                .filter(|g| matches!(g.binding, Binding::Namespaced(_))),
        );
    }
    grants
}

pub(crate) fn role_label(grant: &Grant<'_>) -> String {
    let role = grant.binding.role_ref();
    format!("{} {:?}", role.kind, role.name)
}

/// True when only a group everyone has makes this binding apply.
fn only_everyone(user: &str, groups: &[&str], grant: &Grant<'_>) -> bool {
    let subjects: Vec<Subject> = match grant.binding {
        Binding::Cluster(b) => b.subjects.clone(),
        Binding::Namespaced(b) => b.subjects.clone(),
    };
    let specific: Vec<Subject> = subjects
        .into_iter()
        .filter(|s| !(s.kind == "Group" && EVERYONE_GROUPS.contains(&s.name.as_str())))
        .collect();
    applies_to(user, groups, &specific, grant.binding.namespace()).is_none()
}

/// True when a request falls where the grant's rules apply.
pub(crate) fn covers_scope(grant: &Grant<'_>, attributes: &Attributes<'_>) -> bool {
    let namespace = grant.binding.namespace();
    namespace.is_empty() || attributes.namespace == namespace
}

fn unused_of(
    grant: &Grant<'_>,
    rule: &PolicyRule,
    used: &[&Observed<'_>],
    everyone: bool,
) -> Vec<UnusedPermission> {
    let base = UnusedPermission {
        binding: grant.binding.describe(),
        role: role_label(grant),
        namespace: grant.binding.namespace().to_string(),
        api_groups: Vec::new(),
        resources: Vec::new(),
        resource_names: rule.resource_names.clone(),
        non_resource_urls: Vec::new(),
        verbs: Vec::new(),
        used_verbs: Vec::new(),
        everyone,
    };
    if used.is_empty() {
        return vec![UnusedPermission {
            api_groups: rule.api_groups.clone(),
            resources: rule.resources.clone(),
            non_resource_urls: rule.non_resource_urls.clone(),
            verbs: rule.verbs.clone(),
            ..base
        }];
    }
    let wildcard_verbs = rule.verbs.iter().any(|v| v == "*");
    let unused_verbs = |used_verbs: &BTreeSet<&str>| -> Vec<String> {
        if wildcard_verbs {
            vec!["*".to_string()]
        } else {
            rule.verbs
                .iter()
                .filter(|v| !used_verbs.contains(v.as_str()))
                .cloned()
                .collect()
        }
    };
    // (group, unused verbs, used verbs) -> resources; or (unused, used) -> paths.
    let mut merged: BTreeMap<(String, Vec<String>, Vec<String>), Vec<String>> = BTreeMap::new();
    if !rule.non_resource_urls.is_empty() {
        for url in &rule.non_resource_urls {
            let single = PolicyRule {
                non_resource_urls: vec![url.clone()],
                verbs: vec!["*".into()],
                ..PolicyRule::default()
            };
            let used_verbs: BTreeSet<&str> = used
                .iter()
                .filter(|o| rule_allows(&o.attributes, &single))
                .map(|o| o.attributes.verb)
                .collect();
            let left = unused_verbs(&used_verbs);
            if !left.is_empty() {
                merged
                    .entry((String::new(), left, strings(&used_verbs)))
                    .or_default()
                    .push(url.clone());
            }
        }
        return merged
            .into_iter()
            .map(|((_, verbs, used_verbs), urls)| UnusedPermission {
                non_resource_urls: urls,
                verbs,
                used_verbs,
                ..base.clone()
            })
            .collect();
    }
    for group in &rule.api_groups {
        for resource in &rule.resources {
            let single = PolicyRule {
                api_groups: vec![group.clone()],
                resources: vec![resource.clone()],
                resource_names: rule.resource_names.clone(),
                verbs: vec!["*".into()],
                ..PolicyRule::default()
            };
            let used_verbs: BTreeSet<&str> = used
                .iter()
                .filter(|o| rule_allows(&o.attributes, &single))
                .map(|o| o.attributes.verb)
                .collect();
            let left = unused_verbs(&used_verbs);
            if !left.is_empty() {
                merged
                    .entry((group.clone(), left, strings(&used_verbs)))
                    .or_default()
                    .push(resource.clone());
            }
        }
    }
    merged
        .into_iter()
        .map(|((group, verbs, used_verbs), resources)| UnusedPermission {
            api_groups: vec![group],
            resources,
            verbs,
            used_verbs,
            ..base.clone()
        })
        .collect()
}

fn strings(set: &BTreeSet<&str>) -> Vec<String> {
    set.iter().map(|s| s.to_string()).collect()
}

/// The resources permissions are counted against: (group, resource) -> (namespaced, verbs).
struct Universe {
    resources: BTreeMap<(String, String), (bool, BTreeSet<String>)>,
}

impl Universe {
    fn new(extra: &BTreeSet<(String, String, bool)>, grants: &[Grant<'_>]) -> Universe {
        let mut resources: BTreeMap<(String, String), (bool, BTreeSet<String>)> = BTreeMap::new();
        for entry in BUILT_IN {
            let slot = resources
                .entry((entry.group.to_string(), entry.resource.to_string()))
                .or_insert((entry.namespaced, BTreeSet::new()));
            slot.0 |= entry.namespaced;
            slot.1.extend(entry.verbs.iter().map(|v| v.to_string()));
        }
        let crud = || CRUD.iter().map(|v| v.to_string()).collect::<BTreeSet<_>>();
        for (group, resource, namespaced) in extra {
            resources
                .entry((group.clone(), resource.clone()))
                .or_insert_with(|| (*namespaced, crud()));
        }
        // Resources a rule names that are nowhere else, with the verbs it names.
        for grant in grants {
            for rule in grant.rules {
                for group in rule.api_groups.iter().filter(|g| *g != "*") {
                    for resource in rule.resources.iter().filter(|r| !r.starts_with('*')) {
                        resources
                            .entry((group.clone(), resource.clone()))
                            .or_insert_with(|| {
                                let mut verbs = crud();
                                verbs.extend(rule.verbs.iter().filter(|v| *v != "*").cloned());
                                (true, verbs)
                            });
                    }
                }
            }
        }
        Universe { resources }
    }
}

/// Permissions granted and used, as (scope, verb, group, resource) with scope empty for
/// cluster-wide; non-resource ones as (verb, path pattern).
#[derive(Default)]
struct Atoms {
    granted: BTreeSet<(String, String, String, String)>,
    used: BTreeSet<(String, String, String, String)>,
    everyone: BTreeSet<(String, String, String, String)>,
}

impl Atoms {
    fn add(
        &mut self,
        grant: &Grant<'_>,
        rule: &PolicyRule,
        used: &[&Observed<'_>],
        universe: &Universe,
        everyone: bool,
    ) {
        let scope = grant.binding.namespace().to_string();
        let target = if everyone {
            &mut self.everyone
        } else {
            &mut self.granted
        };
        if !rule.non_resource_urls.is_empty() {
            for url in &rule.non_resource_urls {
                for verb in &rule.verbs {
                    target.insert((
                        String::new(),
                        verb.clone(),
                        "nonResourceURL".into(),
                        url.clone(),
                    ));
                    let single = PolicyRule {
                        non_resource_urls: vec![url.clone()],
                        verbs: vec![verb.clone()],
                        ..PolicyRule::default()
                    };
                    if !everyone && used.iter().any(|o| rule_allows(&o.attributes, &single)) {
                        self.used.insert((
                            String::new(),
                            verb.clone(),
                            "nonResourceURL".into(),
                            url.clone(),
                        ));
                    }
                }
            }
            return;
        }
        let all_verbs = rule.verbs.iter().any(|v| v == "*");
        for ((group, resource), (namespaced, verbs)) in &universe.resources {
            // A namespace itself is asked about in its own namespace, so a RoleBinding there
            // can grant it.
            let own_namespace = group.is_empty()
                && (resource == "namespaces" || resource.starts_with("namespaces/"));
            if !scope.is_empty() && !namespaced && !own_namespace {
                continue;
            }
            let subresource = resource.split_once('/').map_or("", |(_, s)| s);
            if !api_group_matches(rule, group) || !resource_matches(rule, resource, subresource) {
                continue;
            }
            for verb in verbs {
                if !all_verbs && !rule.verbs.contains(verb) {
                    continue;
                }
                target.insert((scope.clone(), verb.clone(), group.clone(), resource.clone()));
            }
        }
        if everyone {
            return;
        }
        for o in used {
            let a = &o.attributes;
            self.used.insert((
                scope.clone(),
                a.verb.to_string(),
                a.api_group.to_string(),
                a.resource_label(),
            ));
        }
    }

    fn count(self) -> PermissionCount {
        // A namespace's permission is already granted when it is granted cluster-wide.
        let cluster: BTreeSet<(&str, &str, &str)> = self
            .granted
            .iter()
            .filter(|(scope, ..)| scope.is_empty())
            .map(|(_, v, g, r)| (v.as_str(), g.as_str(), r.as_str()))
            .collect();
        let counted = |atom: &(String, String, String, String)| {
            atom.0.is_empty()
                || !cluster.contains(&(atom.1.as_str(), atom.2.as_str(), atom.3.as_str()))
        };
        let granted = self.granted.iter().filter(|a| counted(a)).count() as u64;
        let used = self
            .used
            .iter()
            .filter(|a| self.granted.contains(*a) && counted(a))
            .count() as u64;
        let everyone = self
            .everyone
            .iter()
            .filter(|a| !self.granted.contains(*a))
            .count() as u64;
        PermissionCount {
            granted,
            used,
            used_share: if granted == 0 {
                1.0
            } else {
                used as f64 / granted as f64
            },
            everyone,
        }
    }
}

/// Allowed requests the granted RBAC refuses, grouped as the page lists them.
fn not_granted(
    granted: &Authorizer,
    allowed: &[&Observed<'_>],
    interner: &Interner,
) -> Vec<RequestGroup> {
    let refused: Vec<&Observed<'_>> = allowed
        .iter()
        .filter(|o| !granted.allows(&o.attributes))
        .copied()
        .collect();
    RequestGroup::group(&refused, interner)
}
