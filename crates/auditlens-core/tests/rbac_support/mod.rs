//! What the RBAC tests share: reading a log into a finished analysis, and the replay check
//! that holds generated RBAC to the log it came from, in both directions.
//!
//! The check works from the requests themselves, not from the generator's own bookkeeping:
//! it derives what the authorizer was asked from each event (the impersonated user, a
//! `create` without its name, a path without its query), and says which requests the
//! generated RBAC may allow:
//!
//! - every request the log shows allowed must be allowed, with the impersonation checks behind
//!   impersonated requests;
//! - anything else allowed (requests of the log that were refused or undetermined, and probes
//!   made by changing one attribute of an allowed request: its verb, namespace, name, resource
//!   or user) must be *justified*: the same user was allowed the same verb on the same
//!   resource and subresource, in the same namespace or across all namespaces, and on the same
//!   name unless names could not be kept (an unnamed request, a verb that takes no name, or
//!   more names than the limit).

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use auditlens_core::model::Decision;
use auditlens_core::rbac::generate::UNNAMED_VERBS;
use auditlens_core::rbac::{Attributes, Authorizer, LeastPrivilege, Policy};
use auditlens_core::{Analysis, Event, Limits};

pub fn analyze(name: &str, log: &[u8]) -> Analysis {
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file(name);
    for chunk in log.chunks(64 * 1024) {
        analysis.push(file, chunk);
    }
    analysis.finish();
    analysis
}

/// What the authorizer was asked, owned.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Asked {
    pub user: String,
    pub groups: Vec<String>,
    pub verb: String,
    pub resource_request: bool,
    pub api_group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    pub path: String,
}

impl Asked {
    pub fn attributes(&self) -> Attributes<'_> {
        Attributes {
            user: &self.user,
            groups: self.groups.iter().map(String::as_str).collect(),
            verb: &self.verb,
            namespace: &self.namespace,
            resource_request: self.resource_request,
            api_group: &self.api_group,
            resource: &self.resource,
            subresource: &self.subresource,
            name: &self.name,
            path: &self.path,
        }
    }

    /// The same request, attributes other than the user's identity kept.
    fn with(&self, change: impl FnOnce(&mut Asked)) -> Asked {
        let mut other = self.clone();
        change(&mut other);
        other
    }
}

/// Allowed, refused, or neither, as the log says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Said {
    Allowed,
    Refused,
    Unknown,
}

fn said(event: &Event) -> Said {
    match event.decision {
        Decision::Allow => Said::Allowed,
        Decision::Forbid => Said::Refused,
        Decision::Unknown => match event.code {
            401 | 403 => Said::Refused,
            0 | 429 => Said::Unknown,
            100..=499 => Said::Allowed,
            _ => Said::Unknown,
        },
    }
}

/// Every request of the log as the authorizer was asked it, with what the log says, and the
/// impersonation checks behind impersonated requests (allowed).
pub fn asked(analysis: &Analysis) -> Vec<(Asked, Said)> {
    let interner = analysis.interner();
    let text = |sym| interner.resolve(sym).to_string();
    let list = |id| -> Vec<String> {
        interner
            .list(id)
            .iter()
            .map(|&s| interner.resolve(s).to_string())
            .collect()
    };
    let mut out = Vec::new();
    for event in analysis.requests() {
        let impersonated = !event.impersonated_user.is_empty();
        let (user, groups) = if impersonated {
            (
                text(event.impersonated_user),
                list(event.impersonated_groups),
            )
        } else {
            (text(event.user), list(event.groups))
        };
        if impersonated {
            let (resource, namespace, name) = match user
                .strip_prefix("system:serviceaccount:")
                .and_then(|r| r.split_once(':'))
            {
                Some((ns, name)) => ("serviceaccounts", ns.to_string(), name.to_string()),
                None => ("users", String::new(), user.clone()),
            };
            out.push((
                Asked {
                    user: text(event.user),
                    groups: list(event.groups),
                    verb: "impersonate".into(),
                    resource_request: true,
                    api_group: String::new(),
                    resource: resource.into(),
                    subresource: String::new(),
                    namespace,
                    name,
                    path: String::new(),
                },
                Said::Allowed,
            ));
        }
        if user.is_empty() {
            continue;
        }
        let verb = text(event.verb);
        let uri = text(event.request_uri);
        out.push((
            Asked {
                user,
                groups,
                name: if verb == "create" {
                    String::new()
                } else {
                    text(event.name)
                },
                verb,
                resource_request: !event.non_resource,
                api_group: text(event.api_group),
                resource: text(event.resource),
                subresource: text(event.subresource),
                namespace: text(event.namespace),
                path: if event.non_resource {
                    uri.split('?').next().unwrap_or("").to_string()
                } else {
                    String::new()
                },
            },
            said(event),
        ));
    }
    out
}

/// What the replay checked.
#[derive(Debug, Default)]
pub struct Replay {
    /// Allowed requests (and impersonation checks) of the chosen identities, all allowed.
    pub allowed: u64,
    /// Other requests of the log and probes, each refused or justified.
    pub outside: u64,
    /// Of those, allowed because justified.
    pub justified: u64,
}

/// The key under which allowed requests justify others: user, verb, group, resource,
/// subresource, path.
type Grant = (String, String, String, String, String, String);

/// Holds the generated RBAC of `result` to the log it came from (see the module docs); the
/// identities in `chosen` are the ones generated for. Panics with the first violation.
pub fn replay(analysis: &Analysis, result: &LeastPrivilege, max_names: usize) -> Replay {
    let chosen: BTreeSet<String> = result
        .identities
        .iter()
        .map(|i| i.identity.clone())
        .collect();
    let objects = result.objects().into_iter().cloned();
    let authorizer = Authorizer::new(Policy::from_objects(objects).policy);
    let all = asked(analysis);
    // Per grant key: namespace -> names used (empty string: an unnamed request).
    let mut allowed: BTreeMap<Grant, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (a, said) in &all {
        if *said == Said::Allowed && chosen.contains(&a.user) {
            let key = (
                a.user.clone(),
                a.verb.clone(),
                a.api_group.clone(),
                a.resource.clone(),
                a.subresource.clone(),
                a.path.clone(),
            );
            allowed
                .entry(key)
                .or_default()
                .entry(a.namespace.clone())
                .or_default()
                .insert(a.name.clone());
        }
    }
    let justified = |p: &Asked| -> bool {
        let key = (
            p.user.clone(),
            p.verb.clone(),
            p.api_group.clone(),
            p.resource.clone(),
            p.subresource.clone(),
            p.path.clone(),
        );
        let Some(by_namespace) = allowed.get(&key) else {
            return false;
        };
        let scopes = [p.namespace.as_str(), ""];
        scopes.iter().any(|scope| {
            by_namespace.get(*scope).is_some_and(|names| {
                !p.resource_request
                    || names.contains(&p.name)
                    || names.contains("")
                    || UNNAMED_VERBS.contains(&p.verb.as_str())
                    || names.len() > max_names
            })
        })
    };
    let mut replay = Replay::default();
    let mut check_outside = |p: &Asked, why: &str| {
        replay.outside += 1;
        if authorizer.allows(&p.attributes()) {
            assert!(
                justified(p),
                "{why} allowed without an allowed request behind it: {p:?}"
            );
            replay.justified += 1;
        }
    };
    let namespaces: BTreeSet<&str> = all.iter().map(|(a, _)| a.namespace.as_str()).collect();
    let users: Vec<&str> = chosen.iter().map(String::as_str).take(6).collect();
    let resources: BTreeSet<(&str, &str, &str)> = all
        .iter()
        .filter(|(a, _)| a.resource_request)
        .map(|(a, _)| {
            (
                a.api_group.as_str(),
                a.resource.as_str(),
                a.subresource.as_str(),
            )
        })
        .take(40)
        .collect();
    const VERBS: [&str; 12] = [
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection",
        "impersonate",
        "bind",
        "escalate",
        "proxy",
    ];
    let mut probed = BTreeSet::new();
    for (a, said) in &all {
        if *said == Said::Allowed && chosen.contains(&a.user) {
            assert!(
                authorizer.allows(&a.attributes()),
                "an allowed request is not allowed by the generated RBAC: {a:?}"
            );
            replay.allowed += 1;
        } else {
            check_outside(a, "a request the log does not show allowed");
        }
        if *said != Said::Allowed {
            continue;
        }
        // Probes around each distinct allowed request.
        let bare = a.with(|p| p.groups.clear());
        if !probed.insert(bare.clone()) {
            continue;
        }
        for verb in VERBS.iter().filter(|v| **v != a.verb) {
            check_outside(&bare.with(|p| p.verb = verb.to_string()), "another verb");
        }
        if a.resource_request {
            for ns in namespaces.iter().chain(&["auditlens-elsewhere"]) {
                if *ns != a.namespace {
                    check_outside(
                        &bare.with(|p| p.namespace = ns.to_string()),
                        "another namespace",
                    );
                }
            }
            check_outside(
                &bare.with(|p| p.name = "auditlens-other-name".into()),
                "another name",
            );
            check_outside(&bare.with(|p| p.name.clear()), "no name");
            for (group, resource, sub) in &resources {
                check_outside(
                    &bare.with(|p| {
                        p.api_group = group.to_string();
                        p.resource = resource.to_string();
                        p.subresource = sub.to_string();
                    }),
                    "another resource",
                );
            }
        } else {
            check_outside(&bare.with(|p| p.path.push_str("/more")), "a longer path");
        }
        for user in users.iter().chain(&["auditlens-stranger"]) {
            if *user != a.user {
                check_outside(&bare.with(|p| p.user = user.to_string()), "another user");
            }
        }
    }
    replay
}
