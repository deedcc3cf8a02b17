//! Rules over several requests: a burst within a window, or one step followed by another.
//!
//! They run once, after the analysis has put every request in time order
//! (`Analysis::finish`), in a single pass. Each keeps a small window per key (identity,
//! address and client) and reports on the request that completes the pattern; the window
//! then starts afresh, so a long sweep gives one hit per window's worth of requests, not one
//! per request.

use std::collections::{BTreeSet, HashMap, VecDeque};

use super::context::{is_anonymous, is_control_plane};
use super::{meta, RuleKind::Security, RuleMeta};
use crate::detection::{RuleHit, RuleHits};
use crate::intern::{Interner, Sym};
use crate::model::Level::{Metadata, Request};
use crate::model::{Decision, Event, Level};
use crate::report::Severity::{High, Low, Medium};
use crate::time::{format_rfc3339, Micros};

const FAMILY: &str = "sequence";
const SECOND: Micros = 1_000_000;
const MINUTE: Micros = 60 * SECOND;

pub const RBAC_THEN_WORKLOAD: &str = "k8s.sequence.rbac_then_workload";
pub const SECRET_BURST: &str = "k8s.secret.burst";
pub const MULTI_RESOURCE: &str = "k8s.discovery.multi_resource";
pub const ANONYMOUS_ENUMERATION: &str = "k8s.anonymous.enumeration";

pub static RULES: &[RuleMeta] = &[
    meta(
        RBAC_THEN_WORKLOAD,
        "Sensitive RBAC change, then a workload change",
        "The same identity changes a role or binding in a sensitive way (a hit of an RBAC \
         rule, or any change when bodies are not logged) and within five minutes creates or \
         patches a DaemonSet, Deployment or CronJob: rights granted, then used to run code.",
        FAMILY,
        Security,
        High,
        &["T1098.006", "T1610"],
        Request,
    ),
    meta(
        SECRET_BURST,
        "Many secrets read in a burst",
        "The same identity, from the same address and client, reads three or more different \
         Secrets within five minutes (refused reads included): harvesting credentials.",
        FAMILY,
        Security,
        High,
        &["T1552.007"],
        Metadata,
    ),
    meta(
        MULTI_RESOURCE,
        "Reconnaissance across resource types",
        "The same identity, from the same address and client, gets or lists three or more \
         kinds of sensitive object (namespaces, nodes, pods, configmaps, service accounts, \
         roles, bindings) within a minute: mapping the cluster.",
        FAMILY,
        Security,
        Low,
        &["T1613"],
        Metadata,
    ),
    meta(
        ANONYMOUS_ENUMERATION,
        "Anonymous endpoint enumeration",
        "Unauthenticated requests from one address and client probe more than five paths \
         across more than three resource types within five minutes, with refusals or misses: \
         a scanner mapping what the API server exposes.",
        FAMILY,
        Security,
        Medium,
        &["T1613", "T1595.003"],
        Metadata,
    ),
];

/// A hit found by a sequence rule: the index of the request it lands on, the rule, the
/// message.
pub type SequenceHit = (usize, &'static RuleMeta, String);

/// Runs the enabled sequence rules over requests in time order.
pub fn run(
    enabled: &[&'static RuleMeta],
    requests: &[Event],
    interner: &Interner,
    hits: &RuleHits,
) -> Vec<SequenceHit> {
    let mut state = SequenceState::new(enabled);
    for (index, event) in requests.iter().enumerate() {
        let own = hits.get(&event.audit_id).map_or(&[][..], Vec::as_slice);
        state.step(interner, index, event, own);
    }
    state.found
}

/// Identity, source address, user agent.
type Key = (Sym, Sym, Sym);

/// A rule's metadata with its state.
type Tracker<S> = Option<(&'static RuleMeta, S)>;

/// Recent values under one key, oldest first, with a flag each (refused, missing, ...).
#[derive(Default)]
struct Window {
    seen: VecDeque<(Micros, Sym, bool)>,
}

impl Window {
    fn push(&mut self, at: Micros, value: Sym, flag: bool, span: Micros) {
        while self.seen.front().is_some_and(|&(t, _, _)| t < at - span) {
            self.seen.pop_front();
        }
        self.seen.push_back((at, value, flag));
    }

    fn distinct(&self) -> BTreeSet<Sym> {
        self.seen.iter().map(|&(_, v, _)| v).collect()
    }

    fn flagged(&self) -> usize {
        self.seen.iter().filter(|&&(_, _, f)| f).count()
    }
}

/// What anonymous probing looked like recently: paths (flag: refused) and resource types
/// (flag: not found).
#[derive(Default)]
struct Probe {
    paths: Window,
    kinds: Window,
}

/// The sequence rules' windows, fed one request at a time in time order (a whole log's in
/// [`run`], or requests as they arrive).
pub struct SequenceState {
    /// Per effective identity: the last sensitive RBAC change (time, the request).
    rbac: Tracker<HashMap<Sym, (Micros, Event)>>,
    secrets: Tracker<HashMap<Key, Window>>,
    recon: Tracker<HashMap<Key, Window>>,
    anonymous: Tracker<HashMap<(Sym, Sym), Probe>>,
    found: Vec<SequenceHit>,
}

fn allowed(event: &Event) -> bool {
    match event.decision {
        Decision::Allow => true,
        Decision::Forbid => false,
        Decision::Unknown => (100..400).contains(&event.code),
    }
}

const RBAC_OBJECTS: &[&str] = &[
    "roles",
    "clusterroles",
    "rolebindings",
    "clusterrolebindings",
];
const WORKLOADS: &[&str] = &["daemonsets", "deployments", "cronjobs"];
const RECON: &[&str] = &[
    "namespaces",
    "nodes",
    "pods",
    "roles",
    "configmaps",
    "serviceaccounts",
    "clusterroles",
    "clusterrolebindings",
    "rolebindings",
];

/// The texts of a set of strings, in alphabetical order (not the order they were first met,
/// which depends on what else was read before).
fn sorted_texts(interner: &Interner, set: &BTreeSet<Sym>) -> Vec<String> {
    let mut texts: Vec<String> = set
        .iter()
        .map(|&sym| interner.resolve(sym).to_string())
        .collect();
    texts.sort();
    texts
}

fn object(interner: &Interner, event: &Event) -> String {
    let name = interner.resolve(event.name);
    let name = if name.is_empty() { "(unnamed)" } else { name };
    match interner.resolve(event.namespace) {
        "" => name.to_string(),
        ns => format!("{ns}/{name}"),
    }
}

impl SequenceState {
    /// No request seen yet, with the rules of `enabled` that are sequence rules.
    pub fn new(enabled: &[&'static RuleMeta]) -> Self {
        let find = |id: &str| enabled.iter().copied().find(|m| m.id == id);
        SequenceState {
            rbac: find(RBAC_THEN_WORKLOAD).map(|m| (m, HashMap::new())),
            secrets: find(SECRET_BURST).map(|m| (m, HashMap::new())),
            recon: find(MULTI_RESOURCE).map(|m| (m, HashMap::new())),
            anonymous: find(ANONYMOUS_ENUMERATION).map(|m| (m, HashMap::new())),
            found: Vec::new(),
        }
    }

    /// Moves the strings its windows hold to another interner.
    pub fn move_to(&mut self, m: &mut crate::intern::Mover<'_>) {
        fn window(w: &mut Window, m: &mut crate::intern::Mover<'_>) {
            for (_, value, _) in &mut w.seen {
                *value = m.sym(*value);
            }
        }
        if let Some((_, last)) = self.rbac.as_mut() {
            *last = std::mem::take(last)
                .into_iter()
                .map(|(who, (at, event))| (m.sym(who), (at, event.moved(m))))
                .collect();
        }
        for tracker in [self.secrets.as_mut(), self.recon.as_mut()]
            .into_iter()
            .flatten()
        {
            let windows = &mut tracker.1;
            *windows = std::mem::take(windows)
                .into_iter()
                .map(|((a, b, c), mut w)| {
                    window(&mut w, m);
                    ((m.sym(a), m.sym(b), m.sym(c)), w)
                })
                .collect();
        }
        if let Some((_, probes)) = self.anonymous.as_mut() {
            *probes = std::mem::take(probes)
                .into_iter()
                .map(|((a, b), mut p)| {
                    window(&mut p.paths, m);
                    window(&mut p.kinds, m);
                    ((m.sym(a), m.sym(b)), p)
                })
                .collect();
        }
    }

    /// How many windows are open: identities that changed RBAC, readers of secrets and of
    /// cluster objects, anonymous clients probing.
    pub fn windows(&self) -> usize {
        [
            self.rbac.as_ref().map(|(_, m)| m.len()),
            self.secrets.as_ref().map(|(_, m)| m.len()),
            self.recon.as_ref().map(|(_, m)| m.len()),
            self.anonymous.as_ref().map(|(_, m)| m.len()),
        ]
        .into_iter()
        .flatten()
        .sum()
    }

    /// The hits found since the last call, each on the index its request was given.
    pub fn take_found(&mut self) -> Vec<SequenceHit> {
        std::mem::take(&mut self.found)
    }

    /// Forgets every window whose latest request is more than five minutes before `t`: none
    /// of them can complete a pattern any more.
    pub fn forget_before(&mut self, t: Micros) {
        let span = 5 * MINUTE;
        let fresh = |w: &Window| w.seen.back().is_some_and(|&(at, _, _)| t - at <= span);
        if let Some((_, last)) = self.rbac.as_mut() {
            last.retain(|_, (at, _)| t - *at <= span);
        }
        if let Some((_, windows)) = self.secrets.as_mut() {
            windows.retain(|_, w| fresh(w));
        }
        if let Some((_, windows)) = self.recon.as_mut() {
            windows.retain(|_, w| fresh(w));
        }
        if let Some((_, probes)) = self.anonymous.as_mut() {
            probes.retain(|_, p| fresh(&p.paths));
        }
    }

    /// Takes the next request (the `index`th), which the event rules matched with `hits`.
    pub fn step(&mut self, interner: &Interner, index: usize, event: &Event, hits: &[RuleHit]) {
        let user = interner.resolve(event.user);
        let resource = interner.resolve(event.resource);
        let verb = interner.resolve(event.verb);
        let people = !user.is_empty() && !is_control_plane(user);
        let remote = !matches!(
            interner.resolve(event.source_ip(interner)),
            "127.0.0.1" | "::1"
        );
        let object = event.subresource.is_empty() && !event.non_resource;
        if self.rbac.is_some() && people && object {
            self.rbac_step(interner, index, event, hits, (verb, resource));
        }
        if self.secrets.is_some()
            && people
            && remote
            && object
            && resource == "secrets"
            && verb == "get"
        {
            self.secret_step(interner, index, event);
        }
        if self.recon.is_some()
            && people
            && !user.starts_with("system:node:")
            && remote
            && matches!(verb, "get" | "list")
            && RECON.contains(&resource)
        {
            self.recon_step(interner, index, event);
        }
        let anonymous = is_anonymous(interner, user, event.groups);
        if self.anonymous.is_some() && anonymous {
            self.anonymous_step(interner, index, event);
        }
    }

    fn rbac_step(
        &mut self,
        interner: &Interner,
        index: usize,
        event: &Event,
        hits: &[RuleHit],
        (verb, resource): (&str, &str),
    ) {
        if !matches!(verb, "create" | "update" | "patch") || !allowed(event) {
            return;
        }
        let identity = event.effective_user();
        if RBAC_OBJECTS.contains(&resource) {
            let flagged = hits.iter().any(|h| h.rule.starts_with("k8s.rbac."));
            let unlogged = matches!(event.level, Level::None | Level::Metadata);
            if flagged || unlogged {
                if let Some((_, last)) = self.rbac.as_mut() {
                    last.insert(identity, (event.received, event.clone()));
                }
            }
            return;
        }
        if !WORKLOADS.contains(&resource)
            || verb == "update"
            || interner.list_contains(event.groups, "system:masters")
        {
            return;
        }
        let Some((meta, last)) = self.rbac.as_ref() else {
            return;
        };
        let Some((at, first)) = last.get(&identity) else {
            return;
        };
        let gap = event.received - at;
        if !(0..=5 * MINUTE).contains(&gap) {
            return;
        }
        let message = format!(
            "{} {} {} {} at {}, then {} {} {} {}s later",
            interner.resolve(identity),
            interner.resolve(first.verb),
            interner.resolve(first.resource).trim_end_matches('s'),
            object(interner, first),
            format_rfc3339(first.received),
            verb,
            resource.trim_end_matches('s'),
            object(interner, event),
            gap / SECOND
        );
        self.found.push((index, meta, message));
    }

    fn secret_step(&mut self, interner: &Interner, index: usize, event: &Event) {
        let name = interner.resolve(event.name);
        if name.is_empty() || name.starts_with("sh.helm.release.v1") {
            return;
        }
        let key = (event.user, event.source_ip(interner), event.user_agent);
        let Some((meta, windows)) = self.secrets.as_mut() else {
            return;
        };
        let meta = *meta;
        let window = windows.entry(key).or_default();
        window.push(event.received, event.name, !allowed(event), 5 * MINUTE);
        let names = window.distinct();
        if names.len() < 3 {
            return;
        }
        let refused = window.flagged();
        window.seen.clear();
        let listed = sorted_texts(interner, &names);
        let message = format!(
            "{} read {} different secrets within five minutes from {} ({}{}): {}",
            interner.resolve(event.user),
            listed.len(),
            interner.resolve(event.source_ip(interner)),
            interner.resolve(event.user_agent),
            if refused > 0 {
                format!(", {refused} refused")
            } else {
                String::new()
            },
            listed.join(", ")
        );
        self.found.push((index, meta, message));
    }

    fn recon_step(&mut self, interner: &Interner, index: usize, event: &Event) {
        let key = (event.user, event.source_ip(interner), event.user_agent);
        let Some((meta, windows)) = self.recon.as_mut() else {
            return;
        };
        let meta = *meta;
        let window = windows.entry(key).or_default();
        window.push(event.received, event.resource, false, MINUTE);
        let kinds = window.distinct();
        if kinds.len() < 3 {
            return;
        }
        window.seen.clear();
        let listed = sorted_texts(interner, &kinds);
        let message = format!(
            "{} read {} kinds of object within a minute from {}: {}",
            interner.resolve(event.user),
            listed.len(),
            interner.resolve(event.source_ip(interner)),
            listed.join(", ")
        );
        self.found.push((index, meta, message));
    }

    fn anonymous_step(&mut self, interner: &Interner, index: usize, event: &Event) {
        let refused = matches!(event.code, 401 | 403) || event.decision == Decision::Forbid;
        let missing = event.code == 404;
        let key = (event.source_ip(interner), event.user_agent);
        let Some((meta, probes)) = self.anonymous.as_mut() else {
            return;
        };
        let meta = *meta;
        let probe = probes.entry(key).or_default();
        probe
            .paths
            .push(event.received, event.request_uri, refused, 5 * MINUTE);
        probe
            .kinds
            .push(event.received, event.resource, missing, 5 * MINUTE);
        let paths = probe.paths.distinct().len();
        let mut kinds = probe.kinds.distinct();
        kinds.remove(&Sym::EMPTY);
        let refusals = probe.paths.flagged();
        let misses = probe.kinds.flagged();
        if paths <= 5 || kinds.len() <= 3 || (refusals == 0 && misses < 3) {
            return;
        }
        probe.paths.seen.clear();
        probe.kinds.seen.clear();
        let message = format!(
            "an unauthenticated client at {} ({}) probed {paths} paths over {} resource types \
             within five minutes ({refusals} refused, {misses} not found)",
            interner.resolve(event.source_ip(interner)),
            interner.resolve(event.user_agent),
            kinds.len()
        );
        self.found.push((index, meta, message));
    }
}
