//! The lints that ask a policy what it does: each evaluates the requests of `lint_requests`
//! (as several senders, in several namespaces) and reports, per deciding rule, what the policy
//! let down: credentials logged with their bodies, security-relevant requests left unlogged,
//! routine system traffic or whole responses logged, writes logged below the level detection
//! rules read them at.

use super::catalog::{self, CLUSTER_SCOPED};
use super::evaluate::Decision;
use super::lint::{
    Lint,
    LintSeverity::{Error, Warning},
};
use super::lint_requests::{
    Probe, Sender, NAMESPACES, PERSON, READ_RESPONSES, ROUTINE, SECRET_BODIES, SECURITY,
};
use super::{level_name, Policy};
use crate::model::Level;
use crate::rules::{event_rule_scopes, RuleKind};

/// A probe's outcome for each namespace it is tried in.
fn probe_decisions(
    policy: &Policy,
    probe: &Probe,
    sender: &Sender,
) -> Vec<(&'static str, Decision)> {
    let namespaces: &[&'static str] = if probe.namespaced && !probe.resource.starts_with('/') {
        &NAMESPACES
    } else {
        &[""]
    };
    namespaces
        .iter()
        .map(|&ns| (ns, policy.evaluate(&probe.attributes(sender, ns))))
        .collect()
}

/// A request the policy let down: what (`create pods/exec at RequestResponse`), sent by
/// whom, in which namespace (empty for cluster-scoped ones).
#[derive(Clone, PartialEq)]
struct Probed {
    what: String,
    who: &'static str,
    namespace: &'static str,
}

/// `create pods/exec, get pods/exec by a person or a workload's service account in default and
/// kube-system`: the requests, grouped by who sent them where.
fn describe(items: &[Probed]) -> String {
    let mut whats: Vec<&str> = Vec::new();
    for item in items {
        if !whats.contains(&item.what.as_str()) {
            whats.push(&item.what);
        }
    }
    // (senders, namespaces) → what they sent, in the order first met.
    type Senders<'a> = (Vec<&'a str>, Vec<&'a str>);
    let mut groups: Vec<(Senders<'_>, Vec<&str>)> = Vec::new();
    for what in whats {
        let mut who: Vec<&str> = Vec::new();
        let mut namespaces: Vec<&str> = Vec::new();
        for item in items.iter().filter(|i| i.what == what) {
            if !who.contains(&item.who) {
                who.push(item.who);
            }
            if !item.namespace.is_empty() && !namespaces.contains(&item.namespace) {
                namespaces.push(item.namespace);
            }
        }
        match groups
            .iter_mut()
            .find(|(key, _)| *key == (who.clone(), namespaces.clone()))
        {
            Some((_, list)) => list.push(what),
            None => groups.push(((who, namespaces), vec![what])),
        }
    }
    let parts: Vec<String> = groups
        .into_iter()
        .map(|((who, namespaces), whats)| {
            let place = if namespaces.is_empty() {
                String::new()
            } else {
                format!(" in {}", namespaces.join(" and "))
            };
            let whats: Vec<String> = whats.into_iter().map(String::from).collect();
            format!("{} by {}{place}", shorten(&whats), who.join(" or "))
        })
        .collect();
    parts.join("; ")
}

/// Collects what the policy let down into one lint per deciding rule.
fn per_rule(
    found: Vec<(Option<usize>, Probed)>,
    mut build: impl FnMut(Option<usize>, String) -> Lint,
    lints: &mut Vec<Lint>,
) {
    let mut rules: Vec<Option<usize>> = found.iter().map(|(r, _)| *r).collect();
    rules.sort_unstable();
    rules.dedup();
    for rule in rules {
        let items: Vec<Probed> = found
            .iter()
            .filter(|(r, _)| *r == rule)
            .map(|(_, item)| item.clone())
            .collect();
        lints.push(build(rule, describe(&items)));
    }
}

pub(crate) fn secret_bodies(
    policy: &Policy,
    line_of: &dyn Fn(usize) -> u32,
    lints: &mut Vec<Lint>,
) {
    for class in SECRET_BODIES {
        let mut found = Vec::new();
        for (probes, from) in [
            (class.in_request, Level::Request),
            (class.in_response, Level::RequestResponse),
        ] {
            for probe in probes {
                for sender in [PERSON, super::lint_requests::WORKLOAD] {
                    for (ns, decision) in probe_decisions(policy, probe, &sender) {
                        if decision.level >= from && decision.level != Level::Unknown {
                            found.push((
                                decision.rule,
                                Probed {
                                    what: format!(
                                        "{} at {}",
                                        probe.describe(),
                                        level_name(decision.level)
                                    ),
                                    who: sender.who,
                                    namespace: ns,
                                },
                            ));
                        }
                    }
                }
            }
        }
        per_rule(
            found,
            |rule, items| {
                Lint::new(
                    if class.error { Error } else { Warning },
                    "secret-bodies",
                    rule,
                )
                .at(
                    rule.map(|r| format!("rules[{r}].level"))
                        .unwrap_or_default(),
                    rule.map_or(0, line_of),
                )
                .says(
                    format!(
                        "{} logs request or response bodies that hold {}: {items}",
                        rule.map_or("the policy".to_string(), |r| format!("rule {r}")),
                        class.what,
                    ),
                    "log these at Metadata in a rule before it, e.g. `- level: Metadata` with \
                         `resources: [{group: \"\", resources: [\"secrets\", \"configmaps\", \
                         \"serviceaccounts/token\"]}, {group: \"authentication.k8s.io\", \
                         resources: [\"tokenreviews\"]}]`",
                )
            },
            lints,
        );
    }
}

pub(crate) fn security_unlogged(
    policy: &Policy,
    line_of: &dyn Fn(usize) -> u32,
    lints: &mut Vec<Lint>,
) {
    for class in SECURITY {
        let mut found = Vec::new();
        for probe in class.probes {
            for sender in class.senders {
                for (ns, decision) in probe_decisions(policy, probe, sender) {
                    let unlogged = decision.level == Level::None
                        || super::STAGES
                            .iter()
                            .all(|s| decision.omit_stages.contains(*s));
                    if unlogged {
                        found.push((
                            decision.rule,
                            Probed {
                                what: probe.describe(),
                                who: sender.who,
                                namespace: ns,
                            },
                        ));
                    }
                }
            }
        }
        per_rule(
            found,
            |rule, items| {
                let how = match rule {
                    Some(r) => format!("rule {r} (line {}) gives them level None", line_of(r)),
                    None => "no rule matches them, so they get the default level None".to_string(),
                };
                Lint::new(Error, "security-unlogged", rule)
                    .at(
                        rule.map(|r| format!("rules[{r}]"))
                            .unwrap_or_else(|| "rules".to_string()),
                        rule.map_or(0, line_of),
                    )
                    .says(
                        format!("not logged: {}, as {how}: {items}", class.what),
                        match rule {
                            Some(r) => format!(
                                "narrow rule {r} (list the users, verbs and resources it is \
                                 meant for), or put a `level: Metadata` rule for these requests \
                                 before it"
                            ),
                            None => "end the rules with `- level: Metadata`".to_string(),
                        },
                    )
            },
            lints,
        );
    }
}

pub(crate) fn routine_traffic(
    policy: &Policy,
    line_of: &dyn Fn(usize) -> u32,
    lints: &mut Vec<Lint>,
) {
    let mut found = Vec::new();
    for (sender, probe, ns) in ROUTINE {
        let decision = policy.evaluate(&probe.attributes(sender, ns));
        if decision.level >= Level::Request && decision.level != Level::Unknown {
            found.push((
                decision.rule,
                Probed {
                    what: format!("{} at {}", probe.describe(), level_name(decision.level)),
                    who: sender.who,
                    namespace: "",
                },
            ));
        }
    }
    per_rule(
        found,
        |rule, items| {
            Lint::new(Warning, "noisy-system-traffic", rule)
                .at(
                    rule.map(|r| format!("rules[{r}].level"))
                        .unwrap_or_default(),
                    rule.map_or(0, line_of),
                )
                .says(
                    format!(
                        "{} logs routine, read-only or heartbeat traffic of the control plane \
                         and the nodes with its bodies, which fills the log with little to \
                         learn: {items}",
                        rule.map_or("the policy".to_string(), |r| format!("rule {r}")),
                    ),
                    "before it, give leases, events, health checks and system components' \
                     reads level None (scoped to those users) or Metadata",
                )
        },
        lints,
    );
    let mut found = Vec::new();
    for probe in READ_RESPONSES {
        let decision = policy.evaluate(&probe.attributes(&PERSON, "default"));
        if decision.level == Level::RequestResponse {
            found.push((
                decision.rule,
                Probed {
                    what: probe.describe(),
                    who: PERSON.who,
                    namespace: "",
                },
            ));
        }
    }
    per_rule(
        found,
        |rule, items| {
            Lint::new(Warning, "response-bodies", rule)
                .at(
                    rule.map(|r| format!("rules[{r}].level"))
                        .unwrap_or_default(),
                    rule.map_or(0, line_of),
                )
                .says(
                    format!(
                        "{} logs reads with their responses (whole lists of objects): {items}",
                        rule.map_or("the policy".to_string(), |r| format!("rule {r}")),
                    ),
                    "log reads at Metadata; keep RequestResponse for the writes that need it",
                )
        },
        lints,
    );
}

pub(crate) fn detection_levels(
    policy: &Policy,
    line_of: &dyn Fn(usize) -> u32,
    lints: &mut Vec<Lint>,
) {
    // The detection rules that read the bodies of writes, with the resources they read.
    let mut readers: Vec<(&'static str, Level, &'static [&'static str])> = Vec::new();
    for (meta, resources) in event_rule_scopes() {
        if meta.level >= Level::Request && meta.kind == RuleKind::Security && meta.default_enabled {
            readers.push((meta.id, meta.level, resources));
        }
    }
    // Per deciding rule: (resource, level it gets, rules that need more).
    let mut short: Vec<(Option<usize>, &'static str, Level, Vec<&'static str>)> = Vec::new();
    let mut resources: Vec<&'static str> =
        readers.iter().flat_map(|r| r.2.iter().copied()).collect();
    resources.dedup();
    let mut seen: Vec<&str> = Vec::new();
    for resource in resources {
        if seen.contains(&resource)
            || catalog::SECRET_BEARING
                .iter()
                .any(|(_, r, _)| *r == resource)
        {
            continue;
        }
        seen.push(resource);
        for group in catalog::groups_of(resource) {
            let namespaced = !CLUSTER_SCOPED.contains(&resource);
            let mut lowest: Option<Decision> = None;
            for verb in ["create", "update", "patch"] {
                let probe = Probe {
                    verb,
                    group,
                    resource,
                    namespaced,
                };
                let decision = policy.evaluate(&probe.attributes(&PERSON, "default"));
                if lowest.is_none_or(|l| decision.level < l.level) {
                    lowest = Some(decision);
                }
            }
            let Some(decision) = lowest.filter(|d| d.level != Level::None) else {
                continue;
            };
            let needing: Vec<&'static str> = readers
                .iter()
                .filter(|(_, level, scope)| *level > decision.level && scope.contains(&resource))
                .map(|(id, _, _)| *id)
                .collect();
            if !needing.is_empty() {
                short.push((decision.rule, resource, decision.level, needing));
            }
        }
    }
    let mut rules: Vec<Option<usize>> = short.iter().map(|s| s.0).collect();
    rules.sort_unstable();
    rules.dedup();
    for rule in rules {
        let mine: Vec<&(Option<usize>, &str, Level, Vec<&str>)> =
            short.iter().filter(|s| s.0 == rule).collect();
        let mut names: Vec<&str> = mine.iter().map(|s| s.1).collect();
        names.dedup();
        let mut blind: Vec<&str> = mine.iter().flat_map(|s| s.3.iter().copied()).collect();
        blind.sort_unstable();
        blind.dedup();
        let level = mine.iter().map(|s| s.2).min().unwrap_or(Level::Metadata);
        let examples: Vec<String> = blind.iter().take(4).map(|id| id.to_string()).collect();
        lints.push(
            Lint::new(Warning, "detection-level", rule)
                .at(
                    rule.map(|r| format!("rules[{r}].level"))
                        .unwrap_or_default(),
                    rule.map_or(0, line_of),
                )
                .says(
                    format!(
                        "{} logs writes of {} at {}, so {} detection rules that read their bodies \
                         cannot see them ({}{})",
                        rule.map_or("the policy".to_string(), |r| format!("rule {r}")),
                        names.join(", "),
                        level_name(level),
                        blind.len(),
                        examples.join(", "),
                        if blind.len() > examples.len() {
                            ", …"
                        } else {
                            ""
                        }
                    ),
                    "log create, update and patch of these resources at Request (RequestResponse \
                     for roles and clusterroles) in a rule before it; `auditlens policy suggest` \
                     writes one",
                ),
        );
    }
}

/// At most six items, then how many more.
fn shorten(items: &[String]) -> String {
    const SHOWN: usize = 6;
    if items.len() <= SHOWN {
        items.join(", ")
    } else {
        format!(
            "{}, and {} more",
            items[..SHOWN].join(", "),
            items.len() - SHOWN
        )
    }
}
