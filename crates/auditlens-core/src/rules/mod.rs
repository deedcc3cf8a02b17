//! Detection rules: the well-known Kubernetes audit detections (Falco, Sigma, Elastic), each
//! with a stable id, run next to the behavioural baselines.
//!
//! ```text
//!              ┌─ per event, while streaming ─────────────────────────────────────┐
//! WireEvent ──▶│ Ctx (strings, bodies parsed lazily) ─▶ enabled EventRules ─▶ hits│──▶ rule_hits
//! + Event      └──────────────────────────────────────────────────────────────────┘   by auditID
//!
//! requests in time order ─▶ sequence and window rules (Analysis::finish) ─────────────▶ rule_hits
//! ```
//!
//! - Each family lives in its own module ([`pods`], [`exec`], [`access`], [`rbac`],
//!   [`objects`], [`activity`], [`policy`], [`network`]) as a static table of [`EventRule`]s: metadata plus
//!   a check function that returns the message of a hit.
//! - [`sequence`] holds the rules that need several requests (a burst, or one step followed by
//!   another); they run once the requests are in time order.
//! - [`RuleConfig`] switches rules off, declares trusted images, identities and namespaces, and
//!   the site's allowlists; the [`RuleEngine`] applies it.
//!
//! A request logged at several stages is evaluated at each (a later stage may carry the
//! response code a rule needs); a rule's hit is kept once per request.

mod access;
mod activity;
mod bodies;
pub mod config;
mod context;
mod exec;
mod network;
mod objects;
mod pods;
mod policy;
mod rbac;
pub mod sequence;

use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

pub use config::{ConfigError, RuleConfig};
pub(crate) use objects::credential_word;

use crate::detection::{RuleHit, RuleHits};
use crate::ingest::WireEvent;
use crate::intern::Interner;
use crate::model::{Event, Level};
use crate::report::Severity;
use context::Ctx;

/// What a rule is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// A detection: something an attacker does, or a risky change.
    Security,
    /// The audit trail of ordinary changes (informational).
    Activity,
    /// A breach of the site's own allowlist; runs only when the list is configured.
    Policy,
}

/// Everything known about a rule except how it matches.
#[derive(Debug, Serialize)]
pub struct RuleMeta {
    /// Stable id, e.g. `k8s.pod.privileged`.
    pub id: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// The module (and documentation section) the rule belongs to.
    pub family: &'static str,
    pub kind: RuleKind,
    pub severity: Severity,
    /// MITRE ATT&CK technique ids.
    pub techniques: &'static [&'static str],
    /// The audit level an event must be logged at for the rule to see what it needs.
    pub level: Level,
    /// Off unless a configuration switches it on.
    pub default_enabled: bool,
}

/// A rule judged on one event at a time.
#[derive(Debug)]
pub struct EventRule {
    pub meta: RuleMeta,
    /// The resources it can match (`objectRef.resource`); empty for any.
    pub resources: &'static [&'static str],
    /// The message of a hit, naming the matched values, or `None`.
    pub check: fn(&Ctx<'_>) -> Option<String>,
}

/// Every event rule, family by family.
fn event_rules() -> impl Iterator<Item = &'static EventRule> {
    [
        pods::RULES,
        exec::RULES,
        access::RULES,
        rbac::RULES,
        objects::RULES,
        activity::RULES,
        policy::RULES,
        network::RULES,
    ]
    .into_iter()
    .flatten()
}

/// The whole catalog, in a stable order: event rules family by family, then sequence rules.
pub fn catalog() -> Vec<&'static RuleMeta> {
    event_rules()
        .map(|r| &r.meta)
        .chain(sequence::RULES.iter())
        .collect()
}

/// Each event rule with the resources it can match (`objectRef.resource`; empty for any), in
/// catalog order.
pub fn event_rule_scopes() -> impl Iterator<Item = (&'static RuleMeta, &'static [&'static str])> {
    event_rules().map(|r| (&r.meta, r.resources))
}

/// Looks a rule up by id.
pub fn rule(id: &str) -> Option<&'static RuleMeta> {
    catalog().into_iter().find(|m| m.id == id)
}

/// A rule and whether it runs under the engine's configuration.
#[derive(Debug, Serialize)]
pub struct RuleStatus {
    #[serde(flatten)]
    pub meta: &'static RuleMeta,
    pub enabled: bool,
}

/// What the rules read from a user agent, found once per distinct user agent (the caller
/// keeps them) rather than once per event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AgentFacts {
    /// The attack or reconnaissance tool the user agent names.
    pub offensive_tool: Option<&'static str>,
}

impl AgentFacts {
    pub fn of(user_agent: &str) -> Self {
        AgentFacts {
            offensive_tool: access::offensive_tool_in(user_agent),
        }
    }
}

/// The rules configured for one analysis.
#[derive(Debug)]
pub struct RuleEngine {
    config: RuleConfig,
    /// For each resource some rule names: the rules that can match it, in catalog order.
    by_resource: HashMap<&'static str, Vec<&'static EventRule>>,
    /// The rules that can match any resource, for the resources no rule names.
    any_resource: Vec<&'static EventRule>,
    sequence: Vec<&'static RuleMeta>,
}

impl Default for RuleEngine {
    fn default() -> Self {
        RuleEngine::new(RuleConfig::default())
    }
}

impl RuleEngine {
    pub fn new(config: RuleConfig) -> Self {
        let rules: Vec<&'static EventRule> = event_rules()
            .filter(|r| config.is_enabled(&r.meta))
            .collect();
        let any_resource: Vec<&'static EventRule> = rules
            .iter()
            .copied()
            .filter(|r| r.resources.is_empty())
            .collect();
        let mut by_resource = HashMap::default();
        for resource in rules.iter().flat_map(|r| r.resources.iter().copied()) {
            by_resource.entry(resource).or_insert_with(|| {
                rules
                    .iter()
                    .copied()
                    .filter(|r| r.resources.is_empty() || r.resources.contains(&resource))
                    .collect::<Vec<_>>()
            });
        }
        let sequence = sequence::RULES
            .iter()
            .filter(|m| config.is_enabled(m))
            .collect();
        RuleEngine {
            config,
            by_resource,
            any_resource,
            sequence,
        }
    }

    pub fn config(&self) -> &RuleConfig {
        &self.config
    }

    /// The catalog, with each rule's state under this configuration.
    pub fn catalog(&self) -> Vec<RuleStatus> {
        catalog()
            .into_iter()
            .map(|meta| RuleStatus {
                meta,
                enabled: self.config.is_enabled(meta),
            })
            .collect()
    }

    /// Judges one event (one stage of a request) and records its hits under the auditID,
    /// skipping rules that already hit an earlier stage of the same request.
    pub fn evaluate(
        &self,
        wire: &WireEvent<'_>,
        event: &Event,
        agent: &AgentFacts,
        interner: &Interner,
        hits: &mut RuleHits,
    ) {
        // Every enabled rule is among the rules for any resource or for some named one.
        if self.any_resource.is_empty() && self.by_resource.is_empty() {
            return;
        }
        let ctx = Ctx::new(wire, event, agent, interner, &self.config);
        let mut found = Vec::new();
        let earlier = hits.get(&event.audit_id);
        let candidates = self
            .by_resource
            .get(ctx.resource)
            .unwrap_or(&self.any_resource);
        for rule in candidates {
            if earlier.is_some_and(|h| h.iter().any(|h| h.rule == rule.meta.id)) {
                continue;
            }
            ctx.rule.set(rule.meta.id);
            let Some(message) = (rule.check)(&ctx) else {
                continue;
            };
            if self.config.suppresses(&rule.meta, ctx.user, ctx.namespace) {
                continue;
            }
            found.push(hit(&rule.meta, message));
        }
        if !found.is_empty() {
            hits.entry(event.audit_id).or_default().extend(found);
        }
    }

    /// Runs the sequence and window rules over the requests, which must be in time order.
    pub fn finish(&self, requests: &[Event], interner: &Interner, hits: &mut RuleHits) {
        if self.sequence.is_empty() {
            return;
        }
        for (index, meta, message) in sequence::run(&self.sequence, requests, interner, hits) {
            let Some(event) = requests.get(index) else {
                continue;
            };
            let Some(found) = self.sequence_hit(meta, message, event, interner) else {
                continue;
            };
            let list = hits.entry(event.audit_id).or_default();
            if !list.iter().any(|h| h.rule == meta.id) {
                list.push(found);
            }
        }
    }

    /// The sequence rules' state before any request, for feeding requests one at a time.
    pub fn sequence_state(&self) -> sequence::SequenceState {
        sequence::SequenceState::new(&self.sequence)
    }

    /// A sequence rule's finding on `event` as a hit, unless the configuration suppresses it
    /// for the request's actor or namespace.
    pub fn sequence_hit(
        &self,
        meta: &'static RuleMeta,
        message: String,
        event: &Event,
        interner: &Interner,
    ) -> Option<RuleHit> {
        let actor = interner.resolve(event.user);
        let namespace = interner.resolve(event.namespace);
        (!self.config.suppresses(meta, actor, namespace)).then(|| hit(meta, message))
    }
}

/// A hit of the rule `meta`.
/// A rule's hit. Its message may quote what the request carried (an exec command line, a
/// URI), so credentials in it are redacted here, once for every output.
pub(crate) fn hit(meta: &'static RuleMeta, message: String) -> RuleHit {
    RuleHit {
        rule: meta.id,
        severity: meta.severity,
        techniques: meta.techniques,
        message: crate::redact::redact_text(message),
    }
}

/// Shorthand for the rule tables.
#[allow(clippy::too_many_arguments)]
const fn meta(
    id: &'static str,
    title: &'static str,
    description: &'static str,
    family: &'static str,
    kind: RuleKind,
    severity: Severity,
    techniques: &'static [&'static str],
    level: Level,
) -> RuleMeta {
    RuleMeta {
        id,
        title,
        description,
        family,
        kind,
        severity,
        techniques,
        level,
        default_enabled: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let all = catalog();
        let mut ids: Vec<&str> = all.iter().map(|m| m.id).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "duplicate rule ids");
        for m in &all {
            assert!(m.id.starts_with("k8s."), "{}", m.id);
            assert!(
                m.id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_'),
                "{}",
                m.id
            );
            assert!(!m.title.is_empty() && !m.description.is_empty(), "{}", m.id);
            assert!(
                m.kind == RuleKind::Activity || !m.techniques.is_empty(),
                "{} has no ATT&CK technique",
                m.id
            );
            for t in m.techniques {
                assert!(t.starts_with('T') && t.len() >= 5, "{}: {t}", m.id);
            }
        }
    }
}
