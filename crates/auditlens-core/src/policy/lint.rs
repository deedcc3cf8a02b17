//! `auditlens policy check`: what is wrong with a policy, each finding with the rule, the field,
//! the line and a fix.
//!
//! Errors are policies kube-apiserver refuses, and policies that do not do what they say: a
//! field the server ignores (so `groups: ["*"]` leaves the entry at the core group), `*` in
//! `users` or `userGroups` (not a wildcard there), a resource named in a group that does not
//! serve it, a rule an earlier rule makes unreachable with another outcome, request bodies that
//! hold credentials, and security-relevant requests left unlogged. Warnings are costs and
//! blind spots: no catch-all rule, `RequestReceived` written for every request, routine system
//! traffic logged with bodies, writes logged below the level the detection rules read.
//!
//! The behavioural lints ask the policy itself: they evaluate the requests of `lint_requests`
//! (as several senders, in several namespaces) and report the rule that decided.

use serde::Serialize;

use super::catalog::{self, CLUSTER_SCOPED, RETIRED};
use super::evaluate::Decision;
use super::lint_requests::{
    Probe, Sender, NAMESPACES, PERSON, READ_RESPONSES, ROUTINE, SECRET_BODIES, SECURITY,
};
use super::{level_name, shadow, validate, Policy, PolicyFile, PolicyRule, StageSet};
use crate::model::{Level, Stage};
use crate::rules::{event_rule_scopes, RuleKind};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LintSeverity {
    Warning,
    Error,
}

/// One finding about a policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Lint {
    pub severity: LintSeverity,
    /// Stable: `refused`, `unknown-field`, `repeated-field`, `extra-document`, `wildcard-user`,
    /// `wrong-group`, `unknown-resource`, `shadowed`, `no-catch-all`, `request-received`,
    /// `secret-bodies`, `security-unlogged`, `noisy-system-traffic`, `response-bodies`,
    /// `detection-level`.
    pub code: &'static str,
    /// The rule concerned (0-based, as `rules[i]`).
    pub rule: Option<usize>,
    /// The field concerned: `rules[0].resources[0].groups`, or empty.
    pub field: String,
    /// 1-based line in the file; 0 when not known.
    pub line: u32,
    pub message: String,
    pub fix: String,
}

impl Lint {
    fn new(severity: LintSeverity, code: &'static str, rule: Option<usize>) -> Lint {
        Lint {
            severity,
            code,
            rule,
            field: String::new(),
            line: 0,
            message: String::new(),
            fix: String::new(),
        }
    }

    fn at(mut self, field: impl Into<String>, line: u32) -> Lint {
        self.field = field.into();
        self.line = line;
        self
    }

    fn says(mut self, message: impl Into<String>, fix: impl Into<String>) -> Lint {
        self.message = message.into();
        self.fix = fix.into();
        self
    }
}

use LintSeverity::{Error, Warning};

/// Every finding about a policy file, in the order of the file (then errors first).
pub fn check(file: &PolicyFile) -> Vec<Lint> {
    let mut lints = Vec::new();
    for refusal in &file.refused {
        lints.push(
            Lint::new(Error, "refused", refusal.rule)
                .at(refusal.field.clone(), refusal.line)
                .says(
                    format!(
                        "kube-apiserver refuses to start with this policy: {}",
                        refusal.message
                    ),
                    refusal.fix.clone(),
                ),
        );
    }
    file_notes(file, &mut lints);
    if let Some(policy) = &file.policy {
        let line_of = |index: usize| policy.rules.get(index).map_or(0, |r| r.line);
        for (index, rule) in policy.rules.iter().enumerate() {
            wildcard_users(index, rule, &mut lints);
            resource_groups(index, rule, &mut lints);
        }
        shadowed(policy, &mut lints);
        catch_all(policy, &mut lints);
        request_received(policy, &mut lints);
        // What the policy does with requests only means something for a policy that loads.
        if file.refused.is_empty() {
            secret_bodies(policy, &line_of, &mut lints);
            security_unlogged(policy, &line_of, &mut lints);
            routine_traffic(policy, &line_of, &mut lints);
            detection_levels(policy, &line_of, &mut lints);
        }
    }
    lints.sort_by(|a, b| {
        (
            a.line == 0,
            a.line,
            std::cmp::Reverse(a.severity),
            a.code,
            &a.field,
        )
            .cmp(&(
                b.line == 0,
                b.line,
                std::cmp::Reverse(b.severity),
                b.code,
                &b.field,
            ))
    });
    lints
}

/// True when any finding is an error.
pub fn has_errors(lints: &[Lint]) -> bool {
    lints.iter().any(|l| l.severity == Error)
}

fn file_notes(file: &PolicyFile, lints: &mut Vec<Lint>) {
    for ignored in &file.ignored {
        let matching = matches!(ignored.within, "rule" | "resources");
        let effect = match (ignored.within, ignored.key.as_str()) {
            ("resources", "groups" | "apiGroups" | "apiGroup") => {
                "so this entry keeps the default group \"\" (the core group) and matches core \
                 resources only"
                    .to_string()
            }
            ("rule", _) | ("resources", _) => {
                "so the rule matches as if it were not written".to_string()
            }
            _ => "it has no effect".to_string(),
        };
        let fix = match ignored.suggestion {
            Some("group") => "did you mean `group`? It takes one group per entry: write \
                              `group: \"*\"` for every group, or one entry per group"
                .to_string(),
            Some(meant) => format!("did you mean `{meant}`?"),
            None => "remove it, or move it where it belongs".to_string(),
        };
        lints.push(
            Lint::new(
                if matching { Error } else { Warning },
                "unknown-field",
                ignored.rule,
            )
            .at(ignored.field.clone(), ignored.line)
            .says(
                format!(
                    "`{}` is not a field of {}: kube-apiserver ignores it, {effect}",
                    ignored.key,
                    match ignored.within {
                        "rule" => "a rule",
                        "resources" => "a resources entry",
                        _ => "a Policy",
                    }
                ),
                fix,
            ),
        );
    }
    for repeated in &file.repeated {
        lints.push(
            Lint::new(Warning, "repeated-field", repeated.rule)
                .at(repeated.field.clone(), repeated.line)
                .says(
                    format!(
                        "`{}` is written twice (lines {} and {}): kube-apiserver keeps the last",
                        repeated.field, repeated.first_line, repeated.line
                    ),
                    "keep one of them",
                ),
        );
    }
    if file.extra_documents > 0 {
        lints.push(Lint::new(Warning, "extra-document", None).says(
            format!(
                "the file holds {} more YAML document(s) after the first: kube-apiserver reads \
                 only the first",
                file.extra_documents
            ),
            "keep the Policy alone in its file",
        ));
    }
}

fn wildcard_users(index: usize, rule: &PolicyRule, lints: &mut Vec<Lint>) {
    for (field, list, fix) in [
        (
            "users",
            &rule.users,
            "remove `users` to match every user (or list the user names)",
        ),
        (
            "userGroups",
            &rule.user_groups,
            "remove `userGroups` to match every user, or use system:authenticated (every \
             authenticated user) and system:unauthenticated",
        ),
    ] {
        if let Some(i) = list.iter().position(|u| u == "*") {
            lints.push(
                Lint::new(Error, "wildcard-user", Some(index))
                    .at(format!("rules[{index}].{field}[{i}]"), rule.line)
                    .says(
                        format!(
                            "\"*\" is not a wildcard in `{field}`: it matches only a {} literally \
                             named \"*\"",
                            if field == "users" { "user" } else { "group" }
                        ),
                        fix,
                    ),
            );
        }
    }
}

fn group_label(group: &str) -> String {
    if group.is_empty() {
        "\"\" (the core group)".to_string()
    } else {
        format!("`{group}`")
    }
}

fn resource_groups(index: usize, rule: &PolicyRule, lints: &mut Vec<Lint>) {
    for (e, entry) in rule.resources.iter().enumerate() {
        if entry.group == "*" {
            continue;
        }
        let known = catalog::group_resources(&entry.group);
        for (r, pattern) in entry.resources.iter().enumerate() {
            if pattern == "*" || pattern.starts_with("*/") {
                continue;
            }
            let field = format!("rules[{index}].resources[{e}].resources[{r}]");
            let base = pattern.split('/').next().unwrap_or(pattern);
            if let Some((_, _, now)) = RETIRED
                .iter()
                .find(|(g, res, _)| *g == entry.group && *res == base)
            {
                lints.push(
                    Lint::new(Error, "wrong-group", Some(index))
                        .at(field, entry.line)
                        .says(
                            format!(
                                "group `{}` no longer serves {base} (since Kubernetes 1.16-1.22): \
                                 this entry never matches them",
                                entry.group
                            ),
                            format!("use `group: {now}`"),
                        ),
                );
                continue;
            }
            let Some(resources) = known else {
                continue;
            };
            if resources.contains(&pattern.as_str())
                || (pattern.ends_with("/*") && resources.contains(&base))
            {
                continue;
            }
            if resources.contains(&base) {
                lints.push(
                    Lint::new(Warning, "unknown-resource", Some(index))
                        .at(field, entry.line)
                        .says(
                            format!(
                                "{base} has no subresource `{}` in Kubernetes: `{pattern}` \
                                 matches nothing",
                                pattern.split_once('/').map_or("", |(_, s)| s)
                            ),
                            format!(
                                "the subresources of {base} are: {}",
                                list_subresources(resources, base)
                            ),
                        ),
                );
                continue;
            }
            let elsewhere = catalog::groups_of(base);
            if !elsewhere.is_empty() {
                let groups: Vec<String> = elsewhere.iter().map(|g| group_label(g)).collect();
                let fix_group = if elsewhere[0].is_empty() {
                    "\"\"".to_string()
                } else {
                    elsewhere[0].to_string()
                };
                lints.push(
                    Lint::new(Error, "wrong-group", Some(index))
                        .at(field, entry.line)
                        .says(
                            format!(
                                "{base} are not in group {} but in {}: this entry never matches \
                                 them",
                                group_label(&entry.group),
                                groups.join(" and ")
                            ),
                            format!(
                                "write `group: {fix_group}` for {base}, in an entry of its own"
                            ),
                        ),
                );
                continue;
            }
            let near = resources
                .iter()
                .filter(|r| !r.contains('/'))
                .map(|r| (distance(base, r), *r))
                .filter(|(d, _)| *d <= 3)
                .min();
            lints.push(
                Lint::new(Warning, "unknown-resource", Some(index))
                    .at(field, entry.line)
                    .says(
                        format!(
                            "group {} serves no resource `{base}`: this pattern matches nothing",
                            group_label(&entry.group)
                        ),
                        match near {
                            Some((_, r)) => format!("did you mean `{r}`? Resources are plural"),
                            None => "resources are the plural names of `kubectl api-resources`"
                                .to_string(),
                        },
                    ),
            );
        }
    }
}

fn list_subresources(resources: &[&str], base: &str) -> String {
    let subs: Vec<&str> = resources
        .iter()
        .filter_map(|r| r.strip_prefix(base).and_then(|s| s.strip_prefix('/')))
        .collect();
    if subs.is_empty() {
        "none".to_string()
    } else {
        subs.join(", ")
    }
}

fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// The outcome of a rule: what it does to the requests it takes.
fn outcome(policy: &Policy, rule: &PolicyRule) -> (Level, StageSet, bool) {
    (
        rule.level,
        StageSet::of(&policy.omit_stages).union(StageSet::of(&rule.omit_stages)),
        rule.omit_managed_fields
            .unwrap_or(policy.omit_managed_fields),
    )
}

fn shadowed(policy: &Policy, lints: &mut Vec<Lint>) {
    for (index, rule) in policy.rules.iter().enumerate() {
        let Some(earlier) = shadow::shadowed_by(&policy.rules, index) else {
            continue;
        };
        let first = &policy.rules[earlier];
        let same = outcome(policy, first) == outcome(policy, rule);
        let (severity, what) = if same {
            (Warning, "it changes nothing: it gives the same level")
        } else {
            (Error, "its level never applies")
        };
        lints.push(
            Lint::new(severity, "shadowed", Some(index))
                .at(format!("rules[{index}]"), rule.line)
                .says(
                    format!(
                        "rule {index} never matches a request: rule {earlier} (line {}, level {}) \
                         comes first and takes every request it would match; {what}",
                        first.line,
                        validate::describe_level(first),
                    ),
                    if same {
                        format!("remove rule {index}")
                    } else {
                        format!("move rule {index} before rule {earlier}, or narrow rule {earlier}")
                    },
                ),
        );
    }
}

fn catch_all(policy: &Policy, lints: &mut Vec<Lint>) {
    if policy.rules.is_empty() || policy.rules.iter().any(PolicyRule::is_catch_all) {
        return;
    }
    let line = policy.rules.last().map_or(0, |r| r.line);
    lints.push(
        Lint::new(Warning, "no-catch-all", None)
            .at("rules", line)
            .says(
                "no rule matches every request: a request no rule matches is not logged at all \
                 (level None)",
                "end the rules with `- level: Metadata`",
            ),
    );
}

fn request_received(policy: &Policy, lints: &mut Vec<Lint>) {
    if policy.omit_stages.contains(&Stage::RequestReceived) {
        return;
    }
    let writing: Vec<usize> = policy
        .rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.level != Level::None && !r.omit_stages.contains(&Stage::RequestReceived))
        .map(|(i, _)| i)
        .collect();
    if writing.is_empty() {
        return;
    }
    lints.push(
        Lint::new(Warning, "request-received", None)
            .at("omitStages", 0)
            .says(
                format!(
                    "RequestReceived is not omitted: every request {} rule(s) log is written \
                     twice, once when it arrives and once when it completes (about 40 % more \
                     lines, nothing the completed event lacks)",
                    writing.len()
                ),
                "add `omitStages: [\"RequestReceived\"]` at the top level of the policy",
            ),
    );
}

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

fn secret_bodies(policy: &Policy, line_of: &dyn Fn(usize) -> u32, lints: &mut Vec<Lint>) {
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

fn security_unlogged(policy: &Policy, line_of: &dyn Fn(usize) -> u32, lints: &mut Vec<Lint>) {
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

fn routine_traffic(policy: &Policy, line_of: &dyn Fn(usize) -> u32, lints: &mut Vec<Lint>) {
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

fn detection_levels(policy: &Policy, line_of: &dyn Fn(usize) -> u32, lints: &mut Vec<Lint>) {
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
