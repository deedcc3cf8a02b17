//! `auditlens policy suggest`: a policy derived from the logs that keeps what the detections
//! need and drops what is routine.
//!
//! The policy it writes, in order:
//!
//! 1. Requests whose bodies hold credentials (secrets, service account tokens, token reviews,
//!    config maps) at `Metadata`, never with bodies.
//! 2. Writes whose bodies the detection rules read, at the level they need: from the rule
//!    catalog (each rule's resources and level) and from the rules that hit in these logs.
//! 3. Routine, low-value traffic at `None`, each rule naming who sends it: leases, event and
//!    status writes, endpoint updates, and (for the control plane and the nodes only) health
//!    checks, API discovery and reads of resources that hold no secrets. A kind of request
//!    (sender, verb, resource) counts as routine when it was seen in at least
//!    [`ROUTINE_HOURS`] different hours and no detection rule ever hit one of them; anonymous
//!    requests and people's requests are never dropped.
//! 4. Everything else at `Metadata`.
//!
//! `RequestReceived` is omitted for every request: the completed event holds all it holds.
//! The result loads in kube-apiserver as it is, and `policy check` finds no error in it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rustc_hash::FxBuildHasher;
use serde::Serialize;

use super::catalog;
use super::evaluate::url_path;
use super::lint::{self, Lint};
use super::routine::{routine, Routine};
use super::volume::{self, Simulation};
use super::{level_name, shadow, write, GroupResources, Policy, PolicyRule, DEFAULT_LEVEL};
use crate::analysis::Analysis;
use crate::intern::{Interner, Sym};
use crate::model::{Event, Level, Stage};
use crate::rules::{event_rule_scopes, RuleKind};

/// A kind of request is routine when seen in at least this many different hours.
pub const ROUTINE_HOURS: usize = 6;

/// What `policy suggest` gives.
#[derive(Clone, Debug, Serialize)]
pub struct Suggestion {
    /// The policy file, ready to use.
    pub yaml: String,
    #[serde(skip)]
    pub policy: Policy,
    /// What it would write, against what the logs hold.
    pub simulation: Simulation,
    /// `policy check` on it (warnings only).
    pub lints: Vec<Lint>,
}

/// Who a None rule names: a user, or every node (`system:nodes`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Sender {
    Nodes,
    User(String),
}

/// What a None rule matches of one sender: a resource (group, `resource[/sub]`) or a path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Target {
    Resource(String, String),
    Path(String),
}

/// Where and how often a routine kind was seen.
#[derive(Default)]
struct Seen {
    hours: BTreeSet<i64>,
    hit: bool,
    requests: u64,
    bytes: u64,
}

/// A routine kind of request as read: (node, user, class, verb, group, resource, subresource,
/// request URI); interned, so that counting one costs no allocation.
type RawKind = (bool, Sym, Routine, Sym, Sym, Sym, Sym, Sym);

/// The routine kinds that may be dropped: who, why, what, with their verbs.
type QuietKinds = BTreeMap<(Routine, Sender, Target), Quiet>;

/// The verbs of one routine kind, with its requests and bytes.
#[derive(Default)]
struct Quiet {
    verbs: BTreeSet<String>,
    requests: u64,
    bytes: u64,
}

/// Derives a policy from a finished analysis.
pub fn suggest(analysis: &Analysis) -> Suggestion {
    let interner = analysis.interner();
    let mut raw: HashMap<RawKind, Seen, FxBuildHasher> = HashMap::default();
    // Levels the rules that hit in these logs need, above Metadata, by (verb, group, resource).
    let mut hit_levels: BTreeMap<(String, String, String), Level> = BTreeMap::new();
    let mut total_bytes = 0u64;
    for event in analysis.requests() {
        total_bytes += u64::from(event.source.len);
        let hits = analysis.rule_hits(event.audit_id);
        for hit in hits {
            let needed = crate::rules::rule(hit.rule).map_or(Level::Metadata, |m| m.level);
            if needed > Level::Metadata && !event.non_resource {
                let key = (
                    interner.resolve(event.verb).to_string(),
                    interner.resolve(event.api_group).to_string(),
                    resource_pattern(event, interner),
                );
                let level = hit_levels.entry(key).or_insert(needed);
                *level = (*level).max(needed);
            }
        }
        let node = interner.list_contains(event.groups, "system:nodes");
        let Some(class) = routine(event, interner, node) else {
            continue;
        };
        let kind = (
            node,
            if node { Sym::EMPTY } else { event.user },
            class,
            event.verb,
            event.api_group,
            event.resource,
            event.subresource,
            if event.non_resource {
                event.request_uri
            } else {
                Sym::EMPTY
            },
        );
        let entry = raw.entry(kind).or_default();
        entry.hours.insert(event.received.div_euclid(3_600_000_000));
        entry.hit |= !hits.is_empty();
        entry.requests += 1;
        entry.bytes += u64::from(event.source.len);
    }
    let quiet = routine_kinds(raw, interner);
    let mut policy = Policy {
        omit_stages: vec![Stage::RequestReceived],
        ..Policy::default()
    };
    let mut comments: Vec<Vec<String>> = Vec::new();
    secret_bearing(&mut policy, &mut comments, &hit_levels);
    detection_writes(&mut policy, &mut comments, &hit_levels);
    quiet_rules(&mut policy, &mut comments, quiet, total_bytes);
    drop_unreachable(&mut policy, &mut comments);
    policy.rules.push(PolicyRule::at(Level::Metadata));
    comments.push(vec![
        "Everything else: who did what, without bodies.".to_string()
    ]);
    let simulation = volume::simulate(&policy, analysis, 20);
    let lints = lint::check(&super::read(&write::to_yaml(&policy, &[], &[])));
    let header = header(analysis, &simulation);
    let yaml = write::to_yaml(&policy, &header, &comments);
    Suggestion {
        yaml,
        policy,
        simulation,
        lints,
    }
}

/// The kinds seen in at least [`ROUTINE_HOURS`] hours that no rule hit, by sender and target.
fn routine_kinds(raw: HashMap<RawKind, Seen, FxBuildHasher>, interner: &Interner) -> QuietKinds {
    // The same path under different queries is one kind: merged by text first.
    let mut merged: BTreeMap<(Routine, Sender, Target, String), Seen> = BTreeMap::new();
    let raw: Vec<(RawKind, Seen)> = raw.into_iter().collect();
    for ((node, user, class, verb, group, resource, subresource, uri), seen) in raw {
        let sender = if node {
            Sender::Nodes
        } else {
            Sender::User(interner.resolve(user).to_string())
        };
        let target = if uri.is_empty() {
            let mut pattern = interner.resolve(resource).to_string();
            if !subresource.is_empty() {
                pattern.push('/');
                pattern.push_str(interner.resolve(subresource));
            }
            Target::Resource(interner.resolve(group).to_string(), pattern)
        } else {
            Target::Path(url_path(interner.resolve(uri)).into_owned())
        };
        let key = (class, sender, target, interner.resolve(verb).to_string());
        let entry = merged.entry(key).or_default();
        entry.hours.extend(seen.hours);
        entry.hit |= seen.hit;
        entry.requests += seen.requests;
        entry.bytes += seen.bytes;
    }
    let mut quiet = QuietKinds::new();
    for ((class, sender, target, verb), seen) in merged {
        if seen.hit || seen.hours.len() < ROUTINE_HOURS {
            continue;
        }
        let entry = quiet.entry((class, sender, target)).or_default();
        entry.verbs.insert(verb);
        entry.requests += seen.requests;
        entry.bytes += seen.bytes;
    }
    quiet
}

/// Removes the rules an earlier rule takes every request of (a quiet rule for writes that a
/// detection rule hit by someone else, say): they would never apply.
fn drop_unreachable(policy: &mut Policy, comments: &mut Vec<Vec<String>>) {
    let mut index = 0;
    while index < policy.rules.len() {
        if shadow::shadowed_by(&policy.rules, index).is_some() {
            policy.rules.remove(index);
            if index < comments.len() {
                let dropped = comments.remove(index);
                // A group's comment goes to the rule after it, when that one has none.
                if let Some(next) = comments.get_mut(index).filter(|c| c.is_empty()) {
                    *next = dropped;
                }
            }
        } else {
            index += 1;
        }
    }
}

/// `pods`, `pods/exec`.
fn resource_pattern(event: &Event, interner: &Interner) -> String {
    let resource = interner.resolve(event.resource);
    if event.subresource.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}/{}", interner.resolve(event.subresource))
    }
}

const WRITES: [&str; 3] = ["create", "update", "patch"];

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Rule 1: credentials never with bodies; config map writes only at the level rules that hit
/// in these logs need.
fn secret_bearing(
    policy: &mut Policy,
    comments: &mut Vec<Vec<String>>,
    hit_levels: &BTreeMap<(String, String, String), Level>,
) {
    let configmap_level = hit_levels
        .iter()
        .filter(|((verb, group, resource), _)| {
            group.is_empty() && resource == "configmaps" && WRITES.contains(&verb.as_str())
        })
        .map(|(_, level)| *level)
        .max();
    if let Some(level) = configmap_level {
        policy.rules.push(PolicyRule {
            verbs: strings(&WRITES),
            resources: vec![entry("", &["configmaps"])],
            ..PolicyRule::at(level)
        });
        comments.push(vec![format!(
            "Config map writes at {}: detection rules that hit in these logs read their bodies.",
            level_name(level)
        )]);
    }
    policy.rules.push(PolicyRule {
        resources: vec![
            entry("", &["secrets", "configmaps", "serviceaccounts/token"]),
            entry("authentication.k8s.io", &["tokenreviews"]),
        ],
        ..PolicyRule::at(Level::Metadata)
    });
    comments.push(vec![
        "Bodies of these hold secret values, tokens and credentials: who and what only."
            .to_string(),
    ]);
}

fn entry(group: &str, resources: &[&str]) -> GroupResources {
    GroupResources {
        group: group.to_string(),
        resources: strings(resources),
        ..GroupResources::default()
    }
}

/// The resources wanted at one level, by group, and the rules that want them.
#[derive(Default)]
struct Wanted {
    groups: BTreeMap<String, BTreeSet<String>>,
    rules: BTreeSet<&'static str>,
}

/// Rule 2: writes at the level the detection rules read them at.
fn detection_writes(
    policy: &mut Policy,
    comments: &mut Vec<Vec<String>>,
    hit_levels: &BTreeMap<(String, String, String), Level>,
) {
    // Per level: group → resources, and the rules behind them.
    let mut wanted: BTreeMap<Level, Wanted> = BTreeMap::new();
    let skip = |group: &str, resource: &str| {
        catalog::SECRET_BEARING
            .iter()
            .any(|(g, r, _)| *g == group && *r == resource)
    };
    for (meta, resources) in event_rule_scopes() {
        if meta.level <= Level::Metadata || meta.kind != RuleKind::Security || !meta.default_enabled
        {
            continue;
        }
        for resource in resources {
            for group in catalog::groups_of(resource) {
                if skip(group, resource) {
                    continue;
                }
                let wanted = wanted.entry(meta.level).or_default();
                wanted
                    .groups
                    .entry(group.to_string())
                    .or_default()
                    .insert(resource.to_string());
                wanted.rules.insert(meta.id);
            }
        }
    }
    for ((verb, group, resource), level) in hit_levels {
        if !WRITES.contains(&verb.as_str()) || skip(group, resource) {
            continue;
        }
        wanted
            .entry(*level)
            .or_default()
            .groups
            .entry(group.clone())
            .or_default()
            .insert(resource.clone());
    }
    // A resource wanted at two levels goes to the higher one only.
    let mut taken: BTreeSet<(String, String)> = BTreeSet::new();
    for (level, Wanted { groups, rules }) in wanted.into_iter().rev() {
        let mut resources = Vec::new();
        for (group, names) in groups {
            let names: Vec<String> = names
                .into_iter()
                .filter(|n| taken.insert((group.clone(), n.clone())))
                .collect();
            if !names.is_empty() {
                resources.push(GroupResources {
                    group,
                    resources: names,
                    ..GroupResources::default()
                });
            }
        }
        if resources.is_empty() {
            continue;
        }
        policy.rules.push(PolicyRule {
            verbs: strings(&WRITES),
            resources,
            ..PolicyRule::at(level)
        });
        let rules: Vec<&str> = rules.into_iter().collect();
        comments.push(vec![format!(
            "Writes whose bodies detection rules read at {}: {}.",
            level_name(level),
            if rules.is_empty() {
                "rules that hit in these logs".to_string()
            } else {
                rules.join(", ")
            }
        )]);
    }
}

/// Verbs, and whether the targets are paths.
type VerbsAndKind = (BTreeSet<String>, bool);

/// A sender's targets, by verbs.
type TargetSets = Vec<(VerbsAndKind, BTreeSet<Target>)>;

/// One sender's routine targets.
#[derive(Default)]
struct Targets {
    sets: BTreeMap<VerbsAndKind, BTreeSet<Target>>,
    requests: u64,
    bytes: u64,
}

/// The senders that share a set of targets.
#[derive(Default)]
struct Shared {
    senders: Vec<Sender>,
    requests: u64,
    bytes: u64,
}

/// Rule 3: the routine kinds at None, one rule per set of senders with the same targets.
fn quiet_rules(
    policy: &mut Policy,
    comments: &mut Vec<Vec<String>>,
    quiet: QuietKinds,
    total_bytes: u64,
) {
    // Per class and sender: its targets, by their verbs (and whether they are paths).
    let mut by_sender: BTreeMap<(Routine, Sender), Targets> = BTreeMap::new();
    for ((class, sender, target), kind) in quiet {
        let is_path = matches!(target, Target::Path(_));
        let entry = by_sender.entry((class, sender)).or_default();
        entry
            .sets
            .entry((kind.verbs, is_path))
            .or_default()
            .insert(target);
        entry.requests += kind.requests;
        entry.bytes += kind.bytes;
    }
    // Senders with the same targets share a rule.
    let mut rules: BTreeMap<(Routine, TargetSets), Shared> = BTreeMap::new();
    for ((class, sender), targets) in by_sender {
        let key = (class, targets.sets.into_iter().collect::<Vec<_>>());
        let entry = rules.entry(key).or_default();
        entry.senders.push(sender);
        entry.requests += targets.requests;
        entry.bytes += targets.bytes;
    }
    for ((class, targets), shared) in rules {
        let Shared {
            senders,
            requests,
            bytes,
        } = shared;
        let users: Vec<String> = senders
            .iter()
            .filter_map(|s| match s {
                Sender::User(u) => Some(u.clone()),
                Sender::Nodes => None,
            })
            .collect();
        let nodes = senders.contains(&Sender::Nodes);
        let mut made = Vec::new();
        for who in [
            nodes.then_some(None),
            (!users.is_empty()).then_some(Some(&users)),
        ]
        .into_iter()
        .flatten()
        {
            for ((verbs, is_path), set) in &targets {
                let mut rule = PolicyRule {
                    verbs: verbs.iter().cloned().collect(),
                    ..PolicyRule::at(DEFAULT_LEVEL)
                };
                match who {
                    None => rule.user_groups = vec!["system:nodes".to_string()],
                    Some(users) => rule.users = users.clone(),
                }
                if *is_path {
                    rule.non_resource_urls = set
                        .iter()
                        .filter_map(|t| match t {
                            Target::Path(p) => Some(p.clone()),
                            Target::Resource(..) => None,
                        })
                        .collect();
                } else {
                    let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
                    for target in set {
                        if let Target::Resource(group, resource) = target {
                            groups.entry(group).or_default().push(resource.clone());
                        }
                    }
                    rule.resources = groups
                        .into_iter()
                        .map(|(group, resources)| GroupResources {
                            group: group.to_string(),
                            resources,
                            ..GroupResources::default()
                        })
                        .collect();
                }
                made.push(rule);
            }
        }
        let share = 100.0 * bytes as f64 / total_bytes.max(1) as f64;
        for (i, rule) in made.into_iter().enumerate() {
            comments.push(if i == 0 {
                vec![format!(
                    "Routine: {} ({} requests, {share:.1} % of the bytes the logs hold, each kind \
                     seen in at least {ROUTINE_HOURS} hours, none ever hit by a detection rule).",
                    class.describe(),
                    requests
                )]
            } else {
                Vec::new()
            });
            policy.rules.push(rule);
        }
    }
}

fn header(analysis: &Analysis, simulation: &Simulation) -> Vec<String> {
    let mut lines = vec![
        "Audit policy suggested by `auditlens policy suggest`.".to_string(),
        format!(
            "Derived from {} requests, {} to {}.",
            analysis.requests().len(),
            simulation.first.as_deref().unwrap_or("-"),
            simulation.last.as_deref().unwrap_or("-"),
        ),
        format!(
            "Expected: {} events and {} a day, where the logs hold {} events and {} a day \
             ({:.0} % fewer bytes).",
            simulation.simulated_per_day.events,
            megabytes(simulation.simulated_per_day.bytes),
            simulation.observed_per_day.events,
            megabytes(simulation.observed_per_day.bytes),
            100.0
                * (1.0
                    - simulation.simulated.bytes as f64 / simulation.observed.bytes.max(1) as f64)
        ),
    ];
    let blind: Vec<String> = simulation
        .blind_rules
        .iter()
        .map(|b| {
            format!(
                "{} ({} of {} hits, needs {})",
                b.rule, b.lost, b.hits, b.level
            )
        })
        .collect();
    if blind.is_empty() {
        lines.push("Every detection rule hit in these logs still sees its requests.".to_string());
    } else {
        lines.push(format!(
            "Detection rules that would lose hits in these logs: {}.",
            blind.join(", ")
        ));
    }
    lines.push(
        "Check it with `auditlens policy check`; load it with --audit-policy-file.".to_string(),
    );
    lines
}

/// `12.3 MB`.
fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_an_earlier_rule_covers_are_dropped_with_their_comment_kept() {
        let writes = PolicyRule {
            verbs: strings(&WRITES),
            resources: vec![entry("", &["nodes/status"])],
            ..PolicyRule::at(Level::Request)
        };
        let quiet = |verbs: &[&str], group: &str| PolicyRule {
            verbs: strings(verbs),
            user_groups: vec![group.to_string()],
            resources: vec![entry("", &["nodes/status"])],
            ..PolicyRule::at(Level::None)
        };
        let mut policy = Policy {
            rules: vec![
                writes,
                quiet(&["patch"], "system:nodes"),
                quiet(&["get"], "system:nodes"),
            ],
            ..Policy::default()
        };
        let mut comments = vec![
            vec!["writes".to_string()],
            vec!["quiet".to_string()],
            vec![],
        ];
        drop_unreachable(&mut policy, &mut comments);
        assert_eq!(policy.rules.len(), 2);
        assert_eq!(policy.rules[1].verbs, ["get"]);
        assert_eq!(
            comments,
            [vec!["writes".to_string()], vec!["quiet".to_string()]]
        );
    }
}
