//! Least-privilege RBAC from what one identity was allowed to do.
//!
//! The allowed requests of an identity become grants at the granularity the authorizer checks:
//! (namespace, API group, resource or `resource/subresource`, verb), and the object names when
//! the identity touched few of them. Each grant lands where the request was authorized: in the
//! request's namespace (a Role and RoleBinding there), or cluster-wide for cluster-scoped
//! resources, requests across all namespaces and non-resource URLs (a ClusterRole and
//! ClusterRoleBinding). Where several namespaces need exactly the same rules, one ClusterRole
//! bound by a RoleBinding in each of them says it once.
//!
//! Grants are then merged into as few rules as say exactly the same: verbs on one resource,
//! resources with the same verbs, API groups with the same resources and verbs. A merge never
//! widens what is allowed (a rule is the product of its lists, and only rules that differ in
//! one list are merged), so replaying the identity's requests against the result allows every
//! allowed one and nothing else at this granularity.
//!
//! Names: `resourceNames` are kept when an identity used at most
//! [`GenerateOptions::max_names`] names with a verb, never for verbs a name cannot restrict
//! (`create`, `list`, `watch`, `deletecollection`), and also beyond that limit when leaving
//! them out would grant a request the identity was refused.

use std::collections::BTreeMap;

use super::authorizer::Authorizer;
use super::naming::subject_for;
use super::objects::{
    ClusterRole, ClusterRoleBinding, Object, ObjectMeta, PolicyRule, Role, RoleBinding, RoleRef,
    Subject,
};
use super::observe::{Evidence, IdentityObservations, Observed, Outcome};
use super::policy::Policy;
use crate::time::format_rfc3339;

/// Verbs whose requests carry no object name when they are authorized.
pub const UNNAMED_VERBS: [&str; 4] = ["create", "list", "watch", "deletecollection"];

/// How rules are generated.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// Most object names kept as `resourceNames` for one verb on one resource.
    pub max_names: usize,
    /// The start of generated object names: `<prefix>:<identity>`.
    pub prefix: String,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            max_names: 5,
            prefix: "auditlens".into(),
        }
    }
}

/// Why a rule exists: the requests it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleWhy {
    pub evidence: Evidence,
    /// Requests per verb.
    pub verbs: BTreeMap<String, u64>,
    /// Namespaces whose requests it covers (for a ClusterRole bound in several).
    pub namespaces: usize,
    /// Impersonation checks among them (not requests of their own).
    pub impersonation: bool,
}

/// A generated role, why each of its rules exists, and its bindings.
#[derive(Clone, Debug)]
pub struct GeneratedRole {
    /// A Role or a ClusterRole.
    pub role: Object,
    /// One per rule of the role, in order.
    pub why: Vec<RuleWhy>,
    /// RoleBindings or a ClusterRoleBinding.
    pub bindings: Vec<Object>,
}

impl GeneratedRole {
    pub fn rules(&self) -> &[PolicyRule] {
        match &self.role {
            Object::Role(r) => &r.rules,
            Object::ClusterRole(r) => &r.rules,
            _ => &[],
        }
    }
}

/// What one identity gets.
#[derive(Clone, Debug)]
pub struct Generated {
    pub subject: Subject,
    pub roles: Vec<GeneratedRole>,
    /// Grants that kept more names than the limit, to exclude a refused request.
    pub kept_names: Vec<String>,
}

impl Generated {
    /// Every object, each role followed by its bindings.
    pub fn objects(&self) -> impl Iterator<Item = &Object> {
        self.roles
            .iter()
            .flat_map(|r| std::iter::once(&r.role).chain(r.bindings.iter()))
    }

    /// An authorizer over the generated objects.
    pub fn authorizer(&self) -> Authorizer {
        Authorizer::new(Policy::from_objects(self.objects().cloned()).policy)
    }
}

/// Where a verb sorts: the usual order of kubectl's verbs, then any other alphabetically.
fn verb_rank(verb: &str) -> (usize, &str) {
    const ORDER: [&str; 8] = [
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection",
    ];
    (
        ORDER.iter().position(|v| *v == verb).unwrap_or(ORDER.len()),
        verb,
    )
}

fn sorted_verbs<'v>(verbs: impl Iterator<Item = &'v str>) -> Vec<String> {
    let mut verbs: Vec<&str> = verbs.collect();
    verbs.sort_by_key(|v| verb_rank(v));
    verbs.dedup();
    verbs.into_iter().map(str::to_string).collect()
}

/// The uses of one verb on one resource in one scope.
#[derive(Default)]
struct Use<'a> {
    named: BTreeMap<&'a str, Evidence>,
    unnamed: Option<Evidence>,
    impersonation: bool,
}

/// Evidence per verb, with whether any of it is an impersonation check.
type VerbWhy = BTreeMap<String, (Evidence, bool)>;

/// Per scope: (group, resource, names) -> verbs.
type NamedGrants<'a> = BTreeMap<&'a str, BTreeMap<(&'a str, String, Vec<&'a str>), VerbWhy>>;

/// Rules of one scope before they are merged further, by what they share.
type ByVerbs<'a> = BTreeMap<(&'a str, Vec<String>), Vec<(String, RuleWhy)>>;
type ByResources<'a> = BTreeMap<(Vec<String>, Vec<String>), Vec<(&'a str, RuleWhy)>>;

/// Namespaces grouped by the rules they need: (rules, [(namespace, why per rule)]).
type Shared<'a> = Vec<(Vec<PolicyRule>, Vec<(&'a str, Vec<RuleWhy>)>)>;

/// The rules of one scope (a namespace, or cluster-wide for the empty one).
#[derive(Default)]
struct ScopeRules {
    rules: Vec<(PolicyRule, RuleWhy)>,
}

/// Generates the roles and bindings for one identity. `slug` is the identity's part of object
/// names (unique among the identities generated together).
pub fn generate(
    observations: &IdentityObservations<'_>,
    slug: &str,
    options: &GenerateOptions,
) -> Generated {
    let denied: Vec<&Observed<'_>> = observations
        .observed
        .iter()
        .filter(|o| o.outcome == Outcome::Denied && o.attributes.resource_request)
        .collect();
    // (namespace, group, resource[/sub], verb) -> its uses.
    let mut uses: BTreeMap<(&str, &str, String, &str), Use<'_>> = BTreeMap::new();
    // (path, verb) -> evidence.
    let mut urls: BTreeMap<(&str, &str), Evidence> = BTreeMap::new();
    for o in observations
        .observed
        .iter()
        .filter(|o| o.outcome == Outcome::Allowed)
    {
        let a = &o.attributes;
        if !a.resource_request {
            urls.entry((a.path, a.verb))
                .and_modify(|e| e.merge(&o.evidence))
                .or_insert(o.evidence);
            continue;
        }
        let key = (a.namespace, a.api_group, a.resource_label(), a.verb);
        let entry = uses.entry(key).or_default();
        entry.impersonation |= o.impersonation;
        if a.name.is_empty() || UNNAMED_VERBS.contains(&a.verb) {
            match &mut entry.unnamed {
                Some(e) => e.merge(&o.evidence),
                None => entry.unnamed = Some(o.evidence),
            }
        } else {
            entry
                .named
                .entry(a.name)
                .and_modify(|e| e.merge(&o.evidence))
                .or_insert(o.evidence);
        }
    }
    let mut kept_names = Vec::new();
    // Per scope: (group, resource, names) -> verb -> why.
    let mut named: NamedGrants<'_> = BTreeMap::new();
    // Per scope: (group, resource) -> verb -> why.
    let mut unnamed: BTreeMap<&str, BTreeMap<(&str, String), VerbWhy>> = BTreeMap::new();
    for ((namespace, group, resource, verb), used) in &uses {
        let names: Vec<&str> = used.named.keys().copied().collect();
        let mut evidence: Option<Evidence> = used.unnamed;
        for e in used.named.values() {
            match &mut evidence {
                Some(total) => total.merge(e),
                None => evidence = Some(*e),
            }
        }
        let Some(evidence) = evidence else { continue };
        let unnamed_refuses = || {
            denied.iter().any(|d| {
                let a = &d.attributes;
                a.verb == *verb
                    && a.api_group == *group
                    && a.resource_label() == *resource
                    && (namespace.is_empty() || a.namespace == *namespace)
                    && !names.contains(&a.name)
            })
        };
        let keep_names = used.unnamed.is_none()
            && !names.is_empty()
            && (names.len() <= options.max_names || unnamed_refuses());
        if keep_names && names.len() > options.max_names {
            kept_names.push(format!(
                "{verb} {resource} in {}: kept all {} names, since without them a refused request would be allowed",
                scope_label(namespace),
                names.len()
            ));
        }
        let why = (evidence, used.impersonation);
        if keep_names {
            named
                .entry(namespace)
                .or_default()
                .entry((group, resource.clone(), names))
                .or_default()
                .insert(verb.to_string(), why);
        } else {
            unnamed
                .entry(namespace)
                .or_default()
                .entry((group, resource.clone()))
                .or_default()
                .insert(verb.to_string(), why);
        }
    }
    let mut scopes: BTreeMap<&str, ScopeRules> = BTreeMap::new();
    for (scope, grants) in named {
        let rules = &mut scopes.entry(scope).or_default().rules;
        for ((group, resource, names), verbs) in grants {
            let rule = PolicyRule {
                api_groups: vec![group.to_string()],
                resources: vec![resource],
                resource_names: names.into_iter().map(str::to_string).collect(),
                verbs: sorted_verbs(verbs.keys().map(String::as_str)),
                ..PolicyRule::default()
            };
            rules.push((rule, why_of(&verbs)));
        }
    }
    for (scope, grants) in unnamed {
        scopes
            .entry(scope)
            .or_default()
            .rules
            .extend(merge_unnamed(grants));
    }
    if !urls.is_empty() {
        scopes
            .entry("")
            .or_default()
            .rules
            .extend(merge_urls(&urls));
    }
    for scope in scopes.values_mut() {
        scope.rules.sort_by(|(a, _), (b, _)| {
            (!a.non_resource_urls.is_empty(), a).cmp(&(!b.non_resource_urls.is_empty(), b))
        });
    }
    let subject = subject_for(observations.identity);
    let roles = place(scopes, &subject, observations.identity, slug, options);
    Generated {
        subject,
        roles,
        kept_names,
    }
}

fn scope_label(namespace: &str) -> String {
    if namespace.is_empty() {
        "all namespaces".to_string()
    } else {
        format!("namespace {namespace}")
    }
}

/// The why of a rule from its verbs' evidence.
fn why_of(verbs: &VerbWhy) -> RuleWhy {
    let mut evidence: Option<Evidence> = None;
    let mut counts = BTreeMap::new();
    let mut impersonation = false;
    for (verb, (e, imp)) in verbs {
        match &mut evidence {
            Some(total) => total.merge(e),
            None => evidence = Some(*e),
        }
        *counts.entry(verb.clone()).or_insert(0) += e.requests;
        impersonation |= imp;
    }
    RuleWhy {
        evidence: evidence.unwrap_or(Evidence {
            requests: 0,
            first: 0,
            last: 0,
            example: crate::intern::AuditId::EMPTY,
        }),
        verbs: counts,
        namespaces: 1,
        impersonation,
    }
}

/// Adds `more` to `into`.
fn merge_why(into: &mut RuleWhy, more: &RuleWhy) {
    into.evidence.merge(&more.evidence);
    for (verb, n) in &more.verbs {
        *into.verbs.entry(verb.clone()).or_insert(0) += n;
    }
    into.impersonation |= more.impersonation;
}

/// Unnamed grants of one scope as few rules: verbs per resource, then resources with the same
/// verbs in one group, then groups with the same resources and verbs.
fn merge_unnamed(grants: BTreeMap<(&str, String), VerbWhy>) -> Vec<(PolicyRule, RuleWhy)> {
    // (group, verbs) -> resources.
    let mut by_verbs: ByVerbs<'_> = BTreeMap::new();
    for ((group, resource), verbs) in grants {
        let list = sorted_verbs(verbs.keys().map(String::as_str));
        by_verbs
            .entry((group, list))
            .or_default()
            .push((resource, why_of(&verbs)));
    }
    // (resources, verbs) -> groups.
    let mut by_resources: ByResources<'_> = BTreeMap::new();
    for ((group, verbs), resources) in by_verbs {
        let mut why: Option<RuleWhy> = None;
        let mut names = Vec::new();
        for (resource, w) in resources {
            names.push(resource);
            match &mut why {
                Some(total) => merge_why(total, &w),
                None => why = Some(w),
            }
        }
        if let Some(why) = why {
            by_resources
                .entry((names, verbs))
                .or_default()
                .push((group, why));
        }
    }
    let mut rules = Vec::new();
    for ((resources, verbs), groups) in by_resources {
        let mut why: Option<RuleWhy> = None;
        let mut api_groups = Vec::new();
        for (group, w) in groups {
            api_groups.push(group.to_string());
            match &mut why {
                Some(total) => merge_why(total, &w),
                None => why = Some(w),
            }
        }
        if let Some(why) = why {
            rules.push((
                PolicyRule {
                    api_groups,
                    resources,
                    verbs,
                    ..PolicyRule::default()
                },
                why,
            ));
        }
    }
    rules
}

/// Non-resource grants as rules: paths with the same verbs together.
fn merge_urls(urls: &BTreeMap<(&str, &str), Evidence>) -> Vec<(PolicyRule, RuleWhy)> {
    let mut by_path: BTreeMap<&str, VerbWhy> = BTreeMap::new();
    for ((path, verb), evidence) in urls {
        by_path
            .entry(path)
            .or_default()
            .insert(verb.to_string(), (*evidence, false));
    }
    let mut by_verbs: BTreeMap<Vec<String>, (Vec<String>, Option<RuleWhy>)> = BTreeMap::new();
    for (path, verbs) in by_path {
        let list = sorted_verbs(verbs.keys().map(String::as_str));
        let entry = by_verbs.entry(list).or_default();
        entry.0.push(path.to_string());
        let w = why_of(&verbs);
        match &mut entry.1 {
            Some(total) => merge_why(total, &w),
            None => entry.1 = Some(w),
        }
    }
    by_verbs
        .into_iter()
        .filter_map(|(verbs, (paths, why))| {
            Some((
                PolicyRule {
                    non_resource_urls: paths,
                    verbs,
                    ..PolicyRule::default()
                },
                why?,
            ))
        })
        .collect()
}

/// Puts the rules of each scope into roles and binds them to `subject`.
fn place(
    scopes: BTreeMap<&str, ScopeRules>,
    subject: &Subject,
    identity: &str,
    slug: &str,
    options: &GenerateOptions,
) -> Vec<GeneratedRole> {
    let base = format!("{}:{slug}", options.prefix);
    let mut roles = Vec::new();
    let mut namespaced: Vec<(&str, ScopeRules)> = Vec::new();
    for (scope, rules) in scopes {
        if rules.rules.is_empty() {
            continue;
        }
        if scope.is_empty() {
            let (rules, why): (Vec<PolicyRule>, Vec<RuleWhy>) = rules.rules.into_iter().unzip();
            let metadata = meta(&base, "", identity, &why);
            roles.push(GeneratedRole {
                role: Object::ClusterRole(ClusterRole {
                    metadata,
                    aggregation_rule: None,
                    rules,
                }),
                why,
                bindings: vec![Object::ClusterRoleBinding(ClusterRoleBinding {
                    metadata: ObjectMeta {
                        name: base.clone(),
                        ..ObjectMeta::default()
                    },
                    role_ref: RoleRef::cluster_role(&base),
                    subjects: vec![subject.clone()],
                })],
            });
        } else {
            namespaced.push((scope, rules));
        }
    }
    // Namespaces that need exactly the same rules share one ClusterRole.
    let mut shared: Shared<'_> = Vec::new();
    for (namespace, rules) in namespaced {
        let (rules, why): (Vec<PolicyRule>, Vec<RuleWhy>) = rules.rules.into_iter().unzip();
        match shared.iter_mut().find(|(r, _)| *r == rules) {
            Some((_, members)) => members.push((namespace, why)),
            None => shared.push((rules, vec![(namespace, why)])),
        }
    }
    let mut shared_count = 0;
    for (rules, members) in shared {
        if members.len() == 1 {
            let Some((namespace, why)) = members.into_iter().next() else {
                continue;
            };
            roles.push(GeneratedRole {
                role: Object::Role(Role {
                    metadata: meta(&base, namespace, identity, &why),
                    rules,
                }),
                why,
                bindings: vec![Object::RoleBinding(RoleBinding {
                    metadata: ObjectMeta {
                        name: base.clone(),
                        namespace: namespace.to_string(),
                        ..ObjectMeta::default()
                    },
                    role_ref: RoleRef::role(&base),
                    subjects: vec![subject.clone()],
                })],
            });
            continue;
        }
        shared_count += 1;
        let name = if shared_count == 1 {
            format!("{base}:namespaced")
        } else {
            format!("{base}:namespaced-{shared_count}")
        };
        let mut why: Vec<RuleWhy> = Vec::new();
        let mut bindings = Vec::new();
        for (namespace, member_why) in &members {
            if why.is_empty() {
                why = member_why.clone();
            } else {
                for (total, more) in why.iter_mut().zip(member_why) {
                    merge_why(total, more);
                    total.namespaces += 1;
                }
            }
            bindings.push(Object::RoleBinding(RoleBinding {
                metadata: ObjectMeta {
                    name: base.clone(),
                    namespace: namespace.to_string(),
                    ..ObjectMeta::default()
                },
                role_ref: RoleRef::cluster_role(&name),
                subjects: vec![subject.clone()],
            }));
        }
        roles.push(GeneratedRole {
            role: Object::ClusterRole(ClusterRole {
                metadata: meta(&name, "", identity, &why),
                aggregation_rule: None,
                rules,
            }),
            why,
            bindings,
        });
    }
    roles
}

/// A role's metadata: its name and what it was generated from.
fn meta(name: &str, namespace: &str, identity: &str, why: &[RuleWhy]) -> ObjectMeta {
    let mut evidence: Option<Evidence> = None;
    for w in why {
        match &mut evidence {
            Some(total) => total.merge(&w.evidence),
            None => evidence = Some(w.evidence),
        }
    }
    let mut annotations = BTreeMap::new();
    annotations.insert("auditlens/identity".to_string(), identity.to_string());
    if let Some(e) = evidence {
        annotations.insert(
            "auditlens/observed".to_string(),
            format!(
                "{} requests from {} to {}",
                e.requests,
                format_rfc3339(e.first),
                format_rfc3339(e.last)
            ),
        );
    }
    ObjectMeta {
        name: name.to_string(),
        namespace: namespace.to_string(),
        labels: BTreeMap::new(),
        annotations,
    }
}
