//! Which level and stages a policy gives a request, with kube-apiserver's semantics
//! (`k8s.io/apiserver/pkg/audit/policy/checker.go`).
//!
//! The rules are tried in order and the first that matches decides; no match is level `None`
//! with the policy's own `omitStages`. A rule matches when every field it sets matches:
//!
//! - `users`: the user name; `userGroups`: any of the user's groups. A request without a user
//!   (one that failed authentication) matches no rule that sets either. `*` is not a wildcard.
//! - `verbs`: the request's verb (`get`, `list`, `watch`, `create`, `update`, `patch`,
//!   `delete`, `deletecollection`; for non-resource requests the lowercase HTTP method).
//! - `namespaces` or `resources` (either set makes it a rule for resource requests only):
//!   `namespaces` lists namespaces, `""` for cluster-scoped requests; each `resources` entry
//!   matches its `group` (`*` any) and, if it lists any, one of its `resources`: `pods` (not its
//!   subresources), `pods/log`, `*` (everything, subresources too), `pods/*` (pods and all its
//!   subresources), `*/status` (that subresource of anything); with `resourceNames`, also the
//!   object's name.
//! - `nonResourceURLs` (only when no resources or namespaces are set): the path, exactly, or
//!   by prefix for a pattern ending in `*`; `*` alone matches every path.
//!
//! The stages omitted are the union of the policy's and the matching rule's.
//!
//! What a request's attributes were, from its audit event: kube-apiserver evaluates the policy
//! in its audit filter, which runs after authentication and *before* impersonation, so the
//! user is the one who sent the request (`user`), never `impersonatedUser`. The verb, group,
//! resource, subresource, namespace and name are the event's `verb` and `objectRef`; the path
//! of a non-resource request is `requestURI` without its query. One exception: for a `create`
//! whose URL names no object (`POST …/configmaps`), the server fills `objectRef.name` from the
//! request body after the policy was evaluated, so the name the policy saw was empty.

use std::borrow::Cow;

use serde::{Serialize, Serializer};

use super::{Policy, PolicyRule, STAGES};
use crate::intern::{Interner, Sym};
use crate::model::{Event, Level, Stage};

/// A set of stages, as [`Stage::bit`]s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StageSet(pub u8);

impl StageSet {
    pub fn of(stages: &[Stage]) -> StageSet {
        StageSet(
            stages
                .iter()
                .filter(|s| **s != Stage::Unknown)
                .fold(0, |bits, s| bits | s.bit()),
        )
    }

    pub fn contains(self, stage: Stage) -> bool {
        self.0 & stage.bit() != 0
    }

    pub fn union(self, other: StageSet) -> StageSet {
        StageSet(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The stage names, sorted as strings (`Panic`, `RequestReceived`, `ResponseComplete`,
    /// `ResponseStarted`).
    pub fn names(self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = STAGES
            .into_iter()
            .filter(|s| self.contains(*s))
            .map(Stage::as_str)
            .collect();
        names.sort_unstable();
        names
    }
}

impl Serialize for StageSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(serializer)
    }
}

/// What the policy decided for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub level: Level,
    pub omit_stages: StageSet,
    /// The index of the rule that matched; `None` when none did.
    pub rule: Option<usize>,
    pub omit_managed_fields: bool,
}

impl Decision {
    /// True when the request is written at all at stage `stage`.
    pub fn writes(&self, stage: Stage) -> bool {
        self.level != Level::None && !self.omit_stages.contains(stage)
    }
}

/// A user's groups, as strings or as interned symbols.
#[derive(Clone, Copy, Debug)]
pub enum Groups<'a> {
    Strs(&'a [&'a str]),
    Syms(&'a [Sym], &'a Interner),
}

impl Groups<'_> {
    fn any(&self, mut f: impl FnMut(&str) -> bool) -> bool {
        match self {
            Groups::Strs(groups) => groups.iter().any(|g| f(g)),
            Groups::Syms(groups, interner) => groups.iter().any(|&g| f(interner.resolve(g))),
        }
    }
}

/// What the policy sees of a request (the authorizer's attributes).
#[derive(Clone, Debug)]
pub struct RequestAttributes<'a> {
    /// The user who sent the request; `None` when authentication failed.
    pub user: Option<&'a str>,
    pub groups: Groups<'a>,
    pub verb: &'a str,
    /// False for non-resource requests (`/healthz`, `/apis`).
    pub resource_request: bool,
    pub api_group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    /// The URL path, without the query.
    pub path: Cow<'a, str>,
}

impl<'a> RequestAttributes<'a> {
    /// The attributes kube-apiserver evaluated the policy on, from a request's audit event.
    pub fn of_event(event: &Event, interner: &'a Interner) -> RequestAttributes<'a> {
        let text = |sym: Sym| interner.resolve(sym);
        let username = text(event.user);
        let verb = text(event.verb);
        let uri = text(event.request_uri);
        let mut name = text(event.name);
        if verb == "create" && !name.is_empty() && path_names_no_object(uri) {
            name = "";
        }
        RequestAttributes {
            user: (!username.is_empty()).then_some(username),
            groups: Groups::Syms(interner.list(event.groups), interner),
            verb,
            resource_request: !event.non_resource,
            api_group: text(event.api_group),
            resource: text(event.resource),
            subresource: text(event.subresource),
            namespace: text(event.namespace),
            name,
            path: url_path(uri),
        }
    }
}

impl Policy {
    /// The level, omitted stages and matching rule for a request.
    pub fn evaluate(&self, request: &RequestAttributes<'_>) -> Decision {
        let policy_stages = StageSet::of(&self.omit_stages);
        for (index, rule) in self.rules.iter().enumerate() {
            if rule_matches(rule, request) {
                return Decision {
                    level: rule.level,
                    omit_stages: policy_stages.union(StageSet::of(&rule.omit_stages)),
                    rule: Some(index),
                    omit_managed_fields: rule
                        .omit_managed_fields
                        .unwrap_or(self.omit_managed_fields),
                };
            }
        }
        Decision {
            level: super::DEFAULT_LEVEL,
            omit_stages: policy_stages,
            rule: None,
            omit_managed_fields: self.omit_managed_fields,
        }
    }
}

/// One request's evaluation, as `policy evaluate --format jsonl` prints it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    /// `null` for a request logged without an auditID, which `request` then names.
    #[serde(rename = "auditID")]
    pub audit_id: Option<String>,
    pub level: &'static str,
    /// Sorted as strings.
    #[serde(rename = "omitStages")]
    pub omit_stages: StageSet,
    /// The index of the matching rule, `null` when none matched.
    pub rule: Option<usize>,
    pub file: String,
    pub line: u64,
    /// The key of a request logged without an auditID (see `AuditId::absent_key`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
}

/// Evaluates `policy` on every request of `analysis` in the order of the input (file, then
/// line), handing each evaluation to `each`.
pub fn evaluate_requests(
    policy: &Policy,
    analysis: &crate::Analysis,
    mut each: impl FnMut(&Event, Evaluation),
) {
    let requests = analysis.requests();
    let interner = analysis.interner();
    let mut order: Vec<u32> = (0..requests.len() as u32).collect();
    order.sort_unstable_by_key(|&i| {
        let source = requests[i as usize].source;
        (source.file, source.offset, i)
    });
    for index in order {
        let event = &requests[index as usize];
        let decision = policy.evaluate(&RequestAttributes::of_event(event, interner));
        let evaluation = Evaluation {
            audit_id: event
                .audit_id
                .absent_key()
                .is_none()
                .then(|| interner.audit_id_text(event.audit_id).into_owned()),
            level: super::level_name(decision.level),
            omit_stages: decision.omit_stages,
            rule: decision.rule,
            file: analysis.file_name(event.source.file).to_string(),
            line: event.source.line,
            request: event.audit_id.absent_key(),
        };
        each(event, evaluation);
    }
}

/// True when `rule` matches the request.
pub fn rule_matches(rule: &PolicyRule, request: &RequestAttributes<'_>) -> bool {
    if !rule.users.is_empty() {
        match request.user {
            Some(user) if rule.users.iter().any(|u| u == user) => {}
            _ => return false,
        }
    }
    if !rule.user_groups.is_empty()
        && (request.user.is_none()
            || !request
                .groups
                .any(|g| rule.user_groups.iter().any(|wanted| wanted == g)))
    {
        return false;
    }
    if !rule.verbs.is_empty() && !rule.verbs.iter().any(|v| v == request.verb) {
        return false;
    }
    if !rule.namespaces.is_empty() || !rule.resources.is_empty() {
        return resource_matches(rule, request);
    }
    if !rule.non_resource_urls.is_empty() {
        return !request.resource_request
            && rule
                .non_resource_urls
                .iter()
                .any(|spec| path_matches(&request.path, spec));
    }
    true
}

fn resource_matches(rule: &PolicyRule, request: &RequestAttributes<'_>) -> bool {
    if !request.resource_request {
        return false;
    }
    if !rule.namespaces.is_empty() && !rule.namespaces.iter().any(|n| n == request.namespace) {
        return false;
    }
    if rule.resources.is_empty() {
        return true;
    }
    rule.resources.iter().any(|entry| {
        (entry.group == request.api_group || entry.group == "*")
            && (entry.resources.is_empty()
                || ((entry.resource_names.is_empty()
                    || entry.resource_names.iter().any(|n| n == request.name))
                    && entry
                        .resources
                        .iter()
                        .any(|pattern| resource_pattern_matches(pattern, request))))
    })
}

/// `pods`, `pods/log`, `*`, `pods/*` (pods itself too) or `*/status` against a request.
pub fn resource_pattern_matches(pattern: &str, request: &RequestAttributes<'_>) -> bool {
    let (resource, subresource) = (request.resource, request.subresource);
    if pattern == "*" {
        return true;
    }
    let exact = if subresource.is_empty() {
        pattern == resource
    } else {
        pattern.len() == resource.len() + 1 + subresource.len()
            && pattern.starts_with(resource)
            && pattern[resource.len()..].starts_with('/')
            && pattern.ends_with(subresource)
    };
    if exact {
        return true;
    }
    if !subresource.is_empty() && pattern.strip_prefix("*/") == Some(subresource) {
        return true;
    }
    pattern.strip_suffix("/*") == Some(resource)
}

/// A path against a `nonResourceURLs` entry: `*`, the exact path, or a prefix ending in `*`
/// (every trailing `*` is dropped from the prefix, as the server does).
pub fn path_matches(path: &str, spec: &str) -> bool {
    spec == "*"
        || spec == path
        || (spec.ends_with('*') && path.starts_with(spec.trim_end_matches('*')))
}

/// The path of a request URI: without its query, percent-decoded (as Go's `URL.Path`).
pub fn url_path(uri: &str) -> Cow<'_, str> {
    let path = uri.split(['?', '#']).next().unwrap_or("");
    if !path.contains('%') {
        return Cow::Borrowed(path);
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let value = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(value as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// True when `uri` is a resource URL that names no object (a collection), as a `POST` that
/// creates one does: `/api/v1/namespaces/ns/configmaps`, `/apis/apps/v1/deployments`.
/// Unknown shapes give false, and the event's name is kept.
fn path_names_no_object(uri: &str) -> bool {
    let path = url_path(uri);
    let mut parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let skip = match parts.first().copied() {
        Some("api") if parts.len() >= 2 => 2,
        Some("apis") if parts.len() >= 3 => 3,
        _ => return false,
    };
    parts.drain(..skip);
    if parts.first() == Some(&"watch") {
        parts.remove(0);
    }
    // `namespaces/{ns}/...` scopes what follows, except the namespace's own subresources.
    if parts.first() == Some(&"namespaces")
        && parts.len() > 2
        && !matches!(parts[2], "status" | "finalize")
    {
        parts.drain(..2);
    }
    parts.len() == 1 && !parts[0].is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_urls_name_no_object() {
        for uri in [
            "/api/v1/namespaces/dev/configmaps",
            "/api/v1/namespaces/dev/configmaps?fieldManager=kubectl",
            "/apis/apps/v1/namespaces/prod/deployments",
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            "/api/v1/namespaces",
        ] {
            assert!(path_names_no_object(uri), "{uri}");
        }
        for uri in [
            "/api/v1/namespaces/dev/pods/web-1/exec?command=sh",
            "/api/v1/namespaces/dev/serviceaccounts/app/token",
            "/api/v1/namespaces/dev",
            "/api/v1/namespaces/dev/status",
            "/apis/apps/v1/namespaces/prod/deployments/web",
            "/healthz",
            "",
        ] {
            assert!(!path_names_no_object(uri), "{uri}");
        }
    }

    #[test]
    fn paths_drop_the_query_and_decode() {
        assert_eq!(url_path("/logs/a%20b?x=1"), "/logs/a b");
        assert_eq!(url_path("/healthz?verbose"), "/healthz");
        assert_eq!(url_path("/bad%zz"), "/bad%zz");
        assert_eq!(
            StageSet(0b1011).names(),
            ["Panic", "RequestReceived", "ResponseStarted"]
        );
    }
}
