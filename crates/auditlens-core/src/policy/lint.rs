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
//! The lints of the policy's text are here; those that ask the policy itself what it does with
//! requests (the requests of `lint_requests`, as several senders in several namespaces) are in
//! `lint_probed`, and report the rule that decided.

use serde::Serialize;

use super::catalog::{self, RETIRED};
use super::{lint_probed, shadow, validate, Policy, PolicyFile, PolicyRule, StageSet};
use crate::model::{Level, Stage};

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
    /// `wildcard-literal`, `wrong-group`, `unknown-resource`, `shadowed`, `no-catch-all`, `request-received`,
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
    pub(crate) fn new(severity: LintSeverity, code: &'static str, rule: Option<usize>) -> Lint {
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

    pub(crate) fn at(mut self, field: impl Into<String>, line: u32) -> Lint {
        self.field = field.into();
        self.line = line;
        self
    }

    pub(crate) fn says(mut self, message: impl Into<String>, fix: impl Into<String>) -> Lint {
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
            lint_probed::secret_bodies(policy, &line_of, &mut lints);
            lint_probed::security_unlogged(policy, &line_of, &mut lints);
            lint_probed::routine_traffic(policy, &line_of, &mut lints);
            lint_probed::detection_levels(policy, &line_of, &mut lints);
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
    let names: Vec<Vec<String>> = rule
        .resources
        .iter()
        .map(|e| e.resource_names.clone())
        .collect();
    let mut lists: Vec<(String, &[String], &str, &str, &'static str)> = vec![
        (
            "users".to_string(),
            &rule.users,
            "user",
            "remove `users` to match every user (or list the user names)",
            "wildcard-user",
        ),
        (
            "userGroups".to_string(),
            &rule.user_groups,
            "group",
            "remove `userGroups` to match every user, or use system:authenticated (every \
             authenticated user) and system:unauthenticated",
            "wildcard-user",
        ),
        (
            "verbs".to_string(),
            &rule.verbs,
            "verb",
            "remove `verbs` to match every verb",
            "wildcard-literal",
        ),
        (
            "namespaces".to_string(),
            &rule.namespaces,
            "namespace",
            "remove `namespaces` to match every namespace (and cluster-scoped requests)",
            "wildcard-literal",
        ),
    ];
    for (e, list) in names.iter().enumerate() {
        lists.push((
            format!("resources[{e}].resourceNames"),
            list,
            "object",
            "remove `resourceNames` to match objects of any name",
            "wildcard-literal",
        ));
    }
    for (field, list, what, fix, code) in lists {
        if let Some(i) = list.iter().position(|u| u == "*") {
            lints.push(
                Lint::new(Error, code, Some(index))
                    .at(format!("rules[{index}].{field}[{i}]"), rule.line)
                    .says(
                        format!(
                            "\"*\" is not a wildcard in `{}`: it matches only a {what} literally \
                             named \"*\"",
                            field.rsplit('.').next().unwrap_or(&field)
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
