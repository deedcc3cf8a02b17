//! What each identity asked the API server, as the authorizer saw it, from the requests of an
//! [`Analysis`].
//!
//! One pass over the requests groups them by identity and by what the authorizer was asked
//! ([`Attributes`]), counting how often, when first and last, and one auditID to show. The
//! identity is the one the request acted as: the impersonated user when there was one, with
//! the groups the API server gave it.
//!
//! Two corrections make the attributes those the authorizer saw rather than those the log
//! shows: a `create` is authorized before its object has a name (the log names it afterwards),
//! and a non-resource path is authorized without its query. Impersonation adds what the log
//! does not show as requests of their own: before acting as another user, the API server asked
//! whether the actor may `impersonate` that user (or service account, and any groups that were
//! asked for); each impersonated request proves that check was allowed.
//!
//! Whether a request was allowed comes from the `authorization.k8s.io/decision` annotation,
//! and for logs without it (older API servers, `audit.k8s.io/v1beta1`) from the response code:
//! 401 and 403 were refused, other answers mean authorization passed. A request with neither
//! (only its `RequestReceived` stage was logged, or a 429 or 5xx that may have come before
//! authorization) is counted as undetermined and grants nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::analysis::Analysis;
use crate::identity::{canonical, infer_class, kind_of, Behaviour, IdentityClass};
use crate::intern::{AuditId, Interner, ListId, Sym};
use crate::model::{Decision, Event};
use crate::time::Micros;

use super::authorizer::SERVICE_ACCOUNT_PREFIX;
use super::matching::Attributes;

/// Whether the authorizer let a request through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Allowed,
    Denied,
    Undetermined,
}

/// The outcome of one request: see the module docs.
pub fn outcome(event: &Event) -> Outcome {
    match event.decision {
        Decision::Allow => Outcome::Allowed,
        Decision::Forbid => Outcome::Denied,
        Decision::Unknown => match event.code {
            401 | 403 => Outcome::Denied,
            0 | 429 => Outcome::Undetermined,
            100..=499 => Outcome::Allowed,
            _ => Outcome::Undetermined,
        },
    }
}

/// Which identities to look at.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Usernames (`system:serviceaccount:ns1:sa1`), canonical names (`serviceaccount:ns1/sa1`,
    /// `user:alice`) or `namespace:name` of a service account; empty for every identity.
    pub identities: Vec<String>,
    /// Only identities of this class.
    pub class: Option<IdentityClass>,
    /// Only requests in this namespace (cluster-scoped requests and non-resource URLs are left
    /// out).
    pub namespace: Option<String>,
}

impl Selection {
    /// True when `wanted` names `username`.
    fn names(wanted: &str, username: &str) -> bool {
        if wanted == username {
            return true;
        }
        let groups: [&str; 0] = [];
        if canonical(username, kind_of(username, &groups)) == wanted {
            return true;
        }
        // `ns1:sa1`, as audit2rbac's --serviceaccount takes it.
        wanted.split(':').count() == 2
            && username
                .strip_prefix(SERVICE_ACCOUNT_PREFIX)
                .is_some_and(|rest| rest == wanted)
    }
}

/// How often something was seen, when, and one request to show for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub requests: u64,
    pub first: Micros,
    pub last: Micros,
    /// The auditID of the earliest request.
    pub example: AuditId,
}

impl Evidence {
    fn of(event: &Event) -> Evidence {
        Evidence {
            requests: 1,
            first: event.received,
            last: event.received,
            example: event.audit_id,
        }
    }

    /// Adds `other` to this.
    pub fn merge(&mut self, other: &Evidence) {
        self.requests += other.requests;
        if other.first < self.first {
            self.first = other.first;
            self.example = other.example;
        }
        self.last = self.last.max(other.last);
    }
}

/// One distinct thing an identity asked: the attributes the authorizer saw, its outcome, and
/// how often.
#[derive(Clone, Debug)]
pub struct Observed<'a> {
    pub attributes: Attributes<'a>,
    pub outcome: Outcome,
    pub evidence: Evidence,
    /// The response code of the earliest request.
    pub code: u16,
    /// The `authorization.k8s.io/reason` of the earliest request (which authorizer allowed it).
    pub reason: &'a str,
    /// The impersonation check behind impersonated requests, not a request of its own.
    pub impersonation: bool,
}

/// Everything one identity asked.
#[derive(Clone, Debug)]
pub struct IdentityObservations<'a> {
    pub identity: &'a str,
    /// `human`, `service-account`, ...: the analysis' class for it, or the one its name gives.
    pub class: IdentityClass,
    /// Sorted by outcome, then attributes.
    pub observed: Vec<Observed<'a>>,
    /// Every group it had in a request.
    pub groups: BTreeSet<&'a str>,
    /// Who impersonated it, with how many requests.
    pub impersonated_by: BTreeMap<&'a str, u64>,
    pub allowed: u64,
    pub denied: u64,
    pub undetermined: u64,
    /// Requests this identity made as another user (each needed an `impersonate` check).
    pub impersonation_checks: u64,
    pub first: Micros,
    pub last: Micros,
}

/// The identities chosen from an analysis, in name order, and the names asked for that
/// matched none.
#[derive(Clone, Debug, Default)]
pub struct Observations<'a> {
    pub identities: Vec<IdentityObservations<'a>>,
    pub unmatched: Vec<String>,
}

/// A request's grouping key: interned ids, cheap to compare.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    identity: Sym,
    groups: ListId,
    outcome: Outcome,
    verb: Sym,
    api_group: Sym,
    resource: Sym,
    subresource: Sym,
    namespace: Sym,
    name: Sym,
    /// The request URI of a non-resource request (EMPTY for a resource request).
    uri: Sym,
    resource_request: bool,
}

/// An impersonation's grouping key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct ImpersonationKey {
    actor: Sym,
    actor_groups: ListId,
    user: Sym,
    groups: ListId,
}

/// What was seen under one key: evidence, the first request's code and reason.
struct Seen {
    evidence: Evidence,
    code: u16,
    reason: Sym,
}

/// Collects what the chosen identities asked. See the module docs.
pub fn observe<'a>(analysis: &'a Analysis, selection: &Selection) -> Observations<'a> {
    let interner = analysis.interner();
    let classes: BTreeMap<&str, &str> = analysis
        .identity_profiles()
        .iter()
        .map(|p| (p.identity.as_str(), p.class.as_str()))
        .collect();
    let create = interner.get("create");
    let namespace = selection.namespace.as_deref();
    let mut chosen: BTreeMap<Sym, bool> = BTreeMap::new();
    let mut wanted_seen = vec![false; selection.identities.len()];
    let mut is_chosen = |user: Sym, groups: ListId| -> bool {
        *chosen.entry(user).or_insert_with(|| {
            let name = interner.resolve(user);
            let mut hit = selection.identities.is_empty();
            for (i, wanted) in selection.identities.iter().enumerate() {
                if Selection::names(wanted, name) {
                    wanted_seen[i] = true;
                    hit = true;
                }
            }
            hit && selection
                .class
                .is_none_or(|class| class_of(name, groups, interner, &classes) == class)
        })
    };
    let mut seen: BTreeMap<Key, Seen> = BTreeMap::new();
    let mut impersonations: BTreeMap<ImpersonationKey, Evidence> = BTreeMap::new();
    // (impersonated user, actor) -> requests.
    let mut impersonators: BTreeMap<(Sym, Sym), u64> = BTreeMap::new();
    for event in analysis.requests() {
        let impersonated = !event.impersonated_user.is_empty();
        let (user, groups) = if impersonated {
            (event.impersonated_user, event.impersonated_groups)
        } else {
            (event.user, event.groups)
        };
        if impersonated && !event.user.is_empty() && is_chosen(user, groups) {
            *impersonators.entry((user, event.user)).or_default() += 1;
        }
        if impersonated && !event.user.is_empty() && is_chosen(event.user, event.groups) {
            let key = ImpersonationKey {
                actor: event.user,
                actor_groups: event.groups,
                user,
                groups,
            };
            let evidence = Evidence::of(event);
            impersonations
                .entry(key)
                .and_modify(|e| e.merge(&evidence))
                .or_insert(evidence);
        }
        if user.is_empty() || !is_chosen(user, groups) {
            continue;
        }
        if let Some(ns) = namespace {
            if event.non_resource || interner.resolve(event.namespace) != ns {
                continue;
            }
        }
        let key = Key {
            identity: user,
            groups,
            outcome: outcome(event),
            verb: event.verb,
            api_group: event.api_group,
            resource: event.resource,
            subresource: event.subresource,
            namespace: event.namespace,
            name: if Some(event.verb) == create {
                Sym::EMPTY
            } else {
                event.name
            },
            uri: if event.non_resource {
                event.request_uri
            } else {
                Sym::EMPTY
            },
            resource_request: !event.non_resource,
        };
        let evidence = Evidence::of(event);
        seen.entry(key)
            .and_modify(|s| s.evidence.merge(&evidence))
            .or_insert(Seen {
                evidence,
                code: event.code,
                reason: event.reason,
            });
    }
    let mut by_identity: BTreeMap<&'a str, IdentityObservations<'a>> = BTreeMap::new();
    for (key, seen) in &seen {
        let identity = interner.resolve(key.identity);
        let entry = by_identity
            .entry(identity)
            .or_insert_with(|| empty(identity, class_of(identity, key.groups, interner, &classes)));
        entry.add(key, seen, interner);
    }
    for (key, evidence) in &impersonations {
        let actor = interner.resolve(key.actor);
        let entry = by_identity
            .entry(actor)
            .or_insert_with(|| empty(actor, class_of(actor, key.actor_groups, interner, &classes)));
        entry.add_impersonation(key, evidence, interner, namespace);
    }
    for ((user, actor), requests) in impersonators {
        if let Some(target) = by_identity.get_mut(interner.resolve(user)) {
            *target
                .impersonated_by
                .entry(interner.resolve(actor))
                .or_default() += requests;
        }
    }
    let unmatched = selection
        .identities
        .iter()
        .zip(wanted_seen)
        .filter(|(_, seen)| !seen)
        .map(|(name, _)| name.clone())
        .collect();
    let mut identities: Vec<IdentityObservations<'a>> = by_identity.into_values().collect();
    for identity in &mut identities {
        identity.settle();
    }
    identities.retain(|i| !i.observed.is_empty() || i.undetermined > 0);
    Observations {
        identities,
        unmatched,
    }
}

/// How observations sort: outcome, resources before paths, then where and what (groups last,
/// so that the same request made with other groups sorts next to it).
fn sort_key<'o>(o: &'o Observed<'_>) -> (Outcome, bool, bool, [&'o str; 7], &'o [&'o str]) {
    let a = &o.attributes;
    (
        o.outcome,
        o.impersonation,
        !a.resource_request,
        [
            a.namespace,
            a.api_group,
            a.resource,
            a.subresource,
            a.verb,
            a.name,
            a.path,
        ],
        &a.groups,
    )
}

fn empty(identity: &str, class: IdentityClass) -> IdentityObservations<'_> {
    IdentityObservations {
        identity,
        class,
        observed: Vec::new(),
        groups: BTreeSet::new(),
        impersonated_by: BTreeMap::new(),
        allowed: 0,
        denied: 0,
        undetermined: 0,
        impersonation_checks: 0,
        first: Micros::MAX,
        last: Micros::MIN,
    }
}

/// The class the analysis gave an identity, or the one its name and groups give.
fn class_of(
    name: &str,
    groups: ListId,
    interner: &Interner,
    classes: &BTreeMap<&str, &str>,
) -> IdentityClass {
    if let Some(class) = classes.get(name).and_then(|c| IdentityClass::parse(c)) {
        return class;
    }
    let groups: Vec<&str> = interner
        .list(groups)
        .iter()
        .map(|&g| interner.resolve(g))
        .collect();
    infer_class(name, kind_of(name, &groups), &Behaviour::default())
}

impl<'a> IdentityObservations<'a> {
    fn add(&mut self, key: &Key, seen: &Seen, interner: &'a Interner) {
        let groups: Vec<&'a str> = interner
            .list(key.groups)
            .iter()
            .map(|&g| interner.resolve(g))
            .collect();
        let count = seen.evidence.requests;
        match key.outcome {
            Outcome::Allowed => self.allowed += count,
            Outcome::Denied => self.denied += count,
            Outcome::Undetermined => {
                self.undetermined += count;
                return;
            }
        }
        self.first = self.first.min(seen.evidence.first);
        self.last = self.last.max(seen.evidence.last);
        self.groups.extend(groups.iter().copied());
        let uri = interner.resolve(key.uri);
        let attributes = Attributes {
            user: self.identity,
            groups,
            verb: interner.resolve(key.verb),
            namespace: interner.resolve(key.namespace),
            resource_request: key.resource_request,
            api_group: interner.resolve(key.api_group),
            resource: interner.resolve(key.resource),
            subresource: interner.resolve(key.subresource),
            name: interner.resolve(key.name),
            path: uri.split('?').next().unwrap_or(uri),
        };
        self.push(Observed {
            attributes,
            outcome: key.outcome,
            evidence: seen.evidence,
            code: seen.code,
            reason: interner.resolve(seen.reason),
            impersonation: false,
        });
    }

    fn push(&mut self, observed: Observed<'a>) {
        self.observed.push(observed);
    }

    /// Sorts what was observed and merges what the authorizer cannot tell apart (requests
    /// whose URIs differ only in their query).
    fn settle(&mut self) {
        self.observed.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
        let mut merged: Vec<Observed<'a>> = Vec::with_capacity(self.observed.len());
        for observed in self.observed.drain(..) {
            match merged.last_mut() {
                Some(last) if sort_key(last) == sort_key(&observed) => {
                    last.evidence.merge(&observed.evidence)
                }
                _ => merged.push(observed),
            }
        }
        self.observed = merged;
    }

    /// The `impersonate` checks behind requests this identity made as another user.
    fn add_impersonation(
        &mut self,
        key: &ImpersonationKey,
        evidence: &Evidence,
        interner: &'a Interner,
        only_namespace: Option<&str>,
    ) {
        let actor_groups: Vec<&'a str> = interner
            .list(key.actor_groups)
            .iter()
            .map(|&g| interner.resolve(g))
            .collect();
        let user = interner.resolve(key.user);
        let groups: BTreeSet<&'a str> = interner
            .list(key.groups)
            .iter()
            .map(|&g| interner.resolve(g))
            .collect();
        let service_account = user
            .strip_prefix(SERVICE_ACCOUNT_PREFIX)
            .and_then(|rest| rest.split_once(':'));
        let mut defaults: BTreeSet<&str> = BTreeSet::from(["system:authenticated"]);
        let mut checks: Vec<(&'a str, &'a str, &'a str)> = Vec::new();
        match service_account {
            Some((namespace, name)) => {
                checks.push(("serviceaccounts", namespace, name));
                defaults.insert("system:serviceaccounts");
            }
            None => checks.push(("users", "", user)),
        }
        let sa_group = service_account.map(|(ns, _)| format!("system:serviceaccounts:{ns}"));
        let is_default = |g: &str| defaults.contains(g) || sa_group.as_deref() == Some(g);
        // Groups other than the ones the API server gives an impersonated user by itself were
        // asked for, each with its own check.
        if !groups.iter().all(|g| is_default(g)) {
            for group in &groups {
                if *group != "system:authenticated" {
                    checks.push(("groups", "", group));
                }
            }
        }
        for (resource, namespace, name) in checks {
            if only_namespace.is_some_and(|ns| ns != namespace) {
                continue;
            }
            self.impersonation_checks += evidence.requests;
            self.first = self.first.min(evidence.first);
            self.last = self.last.max(evidence.last);
            self.groups.extend(actor_groups.iter().copied());
            self.push(Observed {
                attributes: Attributes {
                    user: self.identity,
                    groups: actor_groups.clone(),
                    verb: "impersonate",
                    namespace,
                    resource_request: true,
                    api_group: "",
                    resource,
                    subresource: "",
                    name,
                    path: "",
                },
                outcome: Outcome::Allowed,
                evidence: *evidence,
                code: 0,
                reason: "",
                impersonation: true,
            });
        }
    }
}
