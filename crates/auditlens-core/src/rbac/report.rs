//! The least-privilege result for the chosen identities, in one serde schema for the CLI's
//! `--format json` and the page, and the function that computes it from an [`Analysis`].

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::authorizer::Authorizer;
use super::compare::{compare, GrantedComparison};
use super::generate::{generate, GenerateOptions, Generated, RuleWhy};
use super::naming::unique_slugs;
use super::objects::{Object, PolicyRule, Subject};
use super::observe::{observe, Evidence, IdentityObservations, Observed, Outcome, Selection};
use super::policy::Policy;
use super::validate::validate;
use super::RbacError;
use crate::analysis::Analysis;
use crate::intern::Interner;
use crate::report::ValueCount;
use crate::time::format_rfc3339;

/// The granted RBAC of a cluster, read from a file, ready to compare with.
#[derive(Clone, Debug)]
pub struct Granted {
    /// The file's name.
    pub name: String,
    pub authorizer: Authorizer,
    /// What reading it noticed (see [`super::policy::ParsedPolicy::notes`]).
    pub notes: Vec<String>,
}

impl Granted {
    /// Reads the granted RBAC from the text of the file called `name`.
    pub fn parse(name: &str, text: &str) -> Result<Granted, RbacError> {
        let parsed = Policy::parse(name, text)?;
        Ok(Granted {
            name: name.to_string(),
            authorizer: Authorizer::new(parsed.policy),
            notes: parsed.notes,
        })
    }

    /// What the file held, for people.
    pub fn summary(&self) -> GrantedSummary {
        GrantedSummary {
            file: self.name.clone(),
            objects: self.authorizer.policy().describe(),
            notes: self.notes.clone(),
        }
    }
}

/// What a granted RBAC file held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GrantedSummary {
    pub file: String,
    /// `3 Roles, 70 ClusterRoles, ...`.
    pub objects: String,
    pub notes: Vec<String>,
}

/// (resource label, group, namespace, name, verb).
type GroupKey<'a> = (String, &'a str, &'a str, &'a str, &'a str);

/// Requests alike (same verb, resource, namespace and name), whatever groups they came with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestGroup {
    pub verb: String,
    pub api_group: String,
    /// `pods`, `pods/log`, or the path of a non-resource request.
    pub resource: String,
    pub namespace: String,
    pub name: String,
    pub requests: u64,
    pub first: String,
    pub last: String,
    /// The earliest request's auditID.
    #[serde(rename = "auditID")]
    pub audit_id: String,
    /// Its response code.
    pub code: u16,
    /// Its `authorization.k8s.io/reason`: which authorizer decided.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

impl RequestGroup {
    /// Groups observations (in any order) into sorted request groups.
    pub(crate) fn group(observed: &[&Observed<'_>], interner: &Interner) -> Vec<RequestGroup> {
        let mut groups: BTreeMap<GroupKey<'_>, (Evidence, u16, &str)> = BTreeMap::new();
        for o in observed {
            let a = &o.attributes;
            let key = (a.resource_label(), a.api_group, a.namespace, a.name, a.verb);
            groups
                .entry(key)
                .and_modify(|(e, code, reason)| {
                    if o.evidence.first < e.first {
                        *code = o.code;
                        *reason = o.reason;
                    }
                    e.merge(&o.evidence);
                })
                .or_insert((o.evidence, o.code, o.reason));
        }
        groups
            .into_iter()
            .map(
                |((resource, api_group, namespace, name, verb), (e, code, reason))| RequestGroup {
                    verb: verb.to_string(),
                    api_group: api_group.to_string(),
                    resource,
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                    requests: e.requests,
                    first: format_rfc3339(e.first),
                    last: format_rfc3339(e.last),
                    audit_id: interner.request_key(e.example).into_owned(),
                    code,
                    reason: reason.to_string(),
                },
            )
            .collect()
    }

    /// `list pods in ns1`, `get secrets/db in prod`, `get /healthz`.
    pub fn describe(&self) -> String {
        let mut what = self.resource.clone();
        if !self.name.is_empty() {
            what.push('/');
            what.push_str(&self.name);
        }
        if !self.api_group.is_empty() {
            what.push_str(&format!(" ({})", self.api_group));
        }
        if self.namespace.is_empty() {
            format!("{} {what}", self.verb)
        } else {
            format!("{} {what} in {}", self.verb, self.namespace)
        }
    }
}

/// Why a generated rule exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Why {
    pub requests: u64,
    pub first: String,
    pub last: String,
    #[serde(rename = "auditID")]
    pub audit_id: String,
    /// Requests per verb.
    pub verbs: BTreeMap<String, u64>,
    /// Namespaces whose requests it covers.
    pub namespaces: usize,
    /// It covers impersonation checks (the identity acting as another user).
    pub impersonation: bool,
}

impl Why {
    fn new(why: &RuleWhy, interner: &Interner) -> Why {
        Why {
            requests: why.evidence.requests,
            first: format_rfc3339(why.evidence.first),
            last: format_rfc3339(why.evidence.last),
            audit_id: interner.request_key(why.evidence.example).into_owned(),
            verbs: why.verbs.clone(),
            namespaces: why.namespaces,
            impersonation: why.impersonation,
        }
    }

    /// The comment a YAML rule carries: `get 3, list 1: 4 requests, first ... last ..., e.g.
    /// auditID ...`.
    pub fn sentence(&self) -> String {
        let verbs: Vec<String> = self
            .verbs
            .iter()
            .map(|(verb, n)| format!("{verb} {n}"))
            .collect();
        let what = match (self.impersonation, self.requests) {
            (true, 1) => "request made as another user",
            (true, _) => "requests made as other users",
            (false, 1) => "request",
            (false, _) => "requests",
        };
        let mut text = format!("{}: {} {what}", verbs.join(", "), self.requests);
        if self.namespaces > 1 {
            text.push_str(&format!(" in {} namespaces", self.namespaces));
        }
        if self.first == self.last {
            text.push_str(&format!(", at {}", self.first));
        } else {
            text.push_str(&format!(", {} to {}", self.first, self.last));
        }
        text.push_str(&format!(", e.g. auditID {}", self.audit_id));
        text
    }
}

/// A generated rule and why it exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleView {
    pub rule: PolicyRule,
    pub why: Why,
}

/// A generated role, with its rules explained and where it is bound.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleView {
    /// `Role` or `ClusterRole`.
    pub kind: String,
    pub name: String,
    /// A Role's namespace; empty for a ClusterRole.
    pub namespace: String,
    /// Where its bindings let it apply: namespaces, or empty for cluster-wide.
    pub bound_in: Vec<String>,
    pub rules: Vec<RuleView>,
}

/// Request counts of one identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub allowed: u64,
    pub denied: u64,
    /// Neither allowed nor refused as far as the log says (see [`super::observe`]).
    pub undetermined: u64,
    /// Requests it made as another user: each needed an `impersonate` check.
    pub impersonation_checks: u64,
}

/// Everything about one identity's least privilege.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityPrivilege {
    /// The username (the impersonated one, for impersonated requests).
    pub identity: String,
    pub class: String,
    /// The subject the generated bindings name.
    pub subject: Subject,
    pub groups: Vec<String>,
    pub impersonated_by: Vec<ValueCount>,
    pub requests: Counts,
    pub first: Option<String>,
    pub last: Option<String>,
    /// The generated roles (the objects themselves are in [`LeastPrivilege::objects`]).
    pub roles: Vec<RoleView>,
    /// What it tried and was refused: not granted here (but see `refusedButGranted`).
    pub denied: Vec<RequestGroup>,
    /// Refused requests the generated RBAC allows anyway, because an allowed request needs the
    /// same permission: the same request allowed at another time, or a request across all
    /// namespaces where one namespace was refused (the cluster's RBAC changed during the logs).
    pub refused_but_granted: Vec<RequestGroup>,
    /// Sentences about choices made (names kept beyond the limit, objects the API server
    /// would refuse).
    pub notes: Vec<String>,
    /// Against the granted RBAC, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub granted: Option<GrantedComparison>,
}

/// The result for every chosen identity.
#[derive(Clone, Debug)]
pub struct LeastPrivilege {
    pub identities: Vec<IdentityPrivilege>,
    /// The generated objects of each identity, in the same order.
    pub generated: Vec<Generated>,
    /// Identities asked for by name that made no request.
    pub unmatched: Vec<String>,
    pub granted: Option<GrantedSummary>,
}

/// `{"apiVersion": "v1", "kind": "List", "items": [...]}`, as kubectl takes it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ObjectList<'a> {
    api_version: &'static str,
    kind: &'static str,
    items: Vec<&'a Object>,
}

/// The JSON document of `auditlens rbac --format json`.
#[derive(Serialize)]
struct Document<'a> {
    identities: &'a [IdentityPrivilege],
    objects: ObjectList<'a>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    unmatched: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    granted: Option<&'a GrantedSummary>,
}

impl LeastPrivilege {
    /// Every generated object, identity by identity, each role followed by its bindings.
    pub fn objects(&self) -> Vec<&Object> {
        self.generated.iter().flat_map(Generated::objects).collect()
    }

    /// The whole result as one JSON document: `identities`, `objects` (a `List` for kubectl),
    /// `unmatched`, `granted`.
    pub fn to_json(&self) -> String {
        let document = Document {
            identities: &self.identities,
            objects: ObjectList {
                api_version: "v1",
                kind: "List",
                items: self.objects(),
            },
            unmatched: &self.unmatched,
            granted: self.granted.as_ref(),
        };
        serde_json::to_string_pretty(&document).unwrap_or_else(|_| "{}".to_string())
    }

    /// The result as a YAML manifest with the explanations as comments.
    pub fn to_yaml(&self) -> String {
        super::yaml::manifest(self)
    }
}

/// Observes the chosen identities in `analysis` (finished), generates their least-privilege
/// RBAC, and compares it with `granted` when given.
pub fn least_privilege(
    analysis: &Analysis,
    selection: &Selection,
    options: &GenerateOptions,
    granted: Option<&Granted>,
) -> LeastPrivilege {
    let interner = analysis.interner();
    let observations = observe(analysis, selection);
    let slugs = unique_slugs(observations.identities.iter().map(|o| o.identity));
    let universe = granted.map(|_| resources_in(analysis)).unwrap_or_default();
    let mut identities = Vec::new();
    let mut all_generated = Vec::new();
    for (observed, slug) in observations.identities.iter().zip(&slugs) {
        let generated = generate(observed, slug, options);
        let comparison = granted.map(|g| compare(observed, &g.authorizer, &universe, interner));
        identities.push(view(observed, &generated, comparison, interner));
        all_generated.push(generated);
    }
    LeastPrivilege {
        identities,
        generated: all_generated,
        unmatched: observations.unmatched,
        granted: granted.map(Granted::summary),
    }
}

/// Every (group, `resource[/sub]`, namespaced) that a request of the logs named.
fn resources_in(analysis: &Analysis) -> BTreeSet<(String, String, bool)> {
    let mut syms = BTreeSet::new();
    for event in analysis.requests().iter().filter(|e| !e.non_resource) {
        syms.insert((
            event.api_group,
            event.resource,
            event.subresource,
            !event.namespace.is_empty(),
        ));
    }
    let interner = analysis.interner();
    syms.into_iter()
        .filter(|(_, resource, ..)| !resource.is_empty())
        .map(|(group, resource, sub, namespaced)| {
            let mut label = interner.resolve(resource).to_string();
            if !sub.is_empty() {
                label.push('/');
                label.push_str(interner.resolve(sub));
            }
            (interner.resolve(group).to_string(), label, namespaced)
        })
        .collect()
}

fn view(
    observed: &IdentityObservations<'_>,
    generated: &Generated,
    granted: Option<GrantedComparison>,
    interner: &Interner,
) -> IdentityPrivilege {
    let denied: Vec<&Observed<'_>> = observed
        .observed
        .iter()
        .filter(|o| o.outcome == Outcome::Denied)
        .collect();
    let authorizer = generated.authorizer();
    let refused_but_granted: Vec<&Observed<'_>> = denied
        .iter()
        .filter(|o| authorizer.allows(&o.attributes))
        .copied()
        .collect();
    let mut notes = generated.kept_names.clone();
    for object in generated.objects() {
        for problem in validate(object) {
            notes.push(format!(
                "{}: {problem} (the API server would refuse it)",
                object.describe()
            ));
        }
    }
    let roles = generated
        .roles
        .iter()
        .map(|role| {
            let meta = role.role.metadata();
            let mut bound_in: Vec<String> = role
                .bindings
                .iter()
                .map(|b| b.metadata().namespace.clone())
                .filter(|ns| !ns.is_empty())
                .collect();
            bound_in.sort();
            RoleView {
                kind: role.role.kind().to_string(),
                name: meta.name.clone(),
                namespace: meta.namespace.clone(),
                bound_in,
                rules: role
                    .rules()
                    .iter()
                    .zip(&role.why)
                    .map(|(rule, why)| RuleView {
                        rule: rule.clone(),
                        why: Why::new(why, interner),
                    })
                    .collect(),
            }
        })
        .collect();
    let any = observed.first <= observed.last;
    IdentityPrivilege {
        identity: observed.identity.to_string(),
        class: observed.class.as_str().to_string(),
        subject: generated.subject.clone(),
        groups: observed.groups.iter().map(|g| g.to_string()).collect(),
        impersonated_by: observed
            .impersonated_by
            .iter()
            .map(|(actor, n)| ValueCount {
                value: actor.to_string(),
                count: *n,
            })
            .collect(),
        requests: Counts {
            allowed: observed.allowed,
            denied: observed.denied,
            undetermined: observed.undetermined,
            impersonation_checks: observed.impersonation_checks,
        },
        first: any.then(|| format_rfc3339(observed.first)),
        last: any.then(|| format_rfc3339(observed.last)),
        roles,
        denied: RequestGroup::group(&denied, interner),
        refused_but_granted: RequestGroup::group(&refused_but_granted, interner),
        notes,
        granted,
    }
}
