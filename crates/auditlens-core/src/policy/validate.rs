//! The checks kube-apiserver makes before it starts with a policy
//! (`k8s.io/apiserver/pkg/apis/audit/validation`), each reported as the server words it:
//! a level that is missing or not one of the four, a stage that does not exist, a non-resource
//! URL that does not start with `/` or has a `*` before its end, a group that is not a DNS
//! subdomain (`rbac.authorization.k8s.io/v1` is a group *and* a version), `resourceNames`
//! without `resources`, and a rule with both `nonResourceURLs` and resources or namespaces.
//!
//! Like the server, the group check names the field `rules[i].resources.group` (without the
//! entry's index); our own `field` carries the index.

use super::{level_name, Policy, PolicyError, PolicyRule};
use crate::model::{Level, Stage};

const STAGES_ALLOWED: &str =
    "allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic";
const LEVELS_SUPPORTED: &str =
    "supported values: \"None\", \"Metadata\", \"Request\", \"RequestResponse\"";

/// Every reason the server would give for refusing `policy` (empty when it accepts it).
pub fn validate(policy: &Policy) -> Vec<PolicyError> {
    validate_named(policy, &[])
}

/// [`validate`], with the text of each stage that is not one, by its field
/// (`rules[0].omitStages[1]`), as the file wrote it.
pub(crate) fn validate_named(
    policy: &Policy,
    stage_texts: &[(String, String)],
) -> Vec<PolicyError> {
    let mut errors = Vec::new();
    let names = StageTexts(stage_texts);
    stages(
        &policy.omit_stages,
        "omitStages",
        None,
        0,
        names,
        &mut errors,
    );
    for (index, rule) in policy.rules.iter().enumerate() {
        validate_rule(index, rule, names, &mut errors);
    }
    errors
}

#[derive(Clone, Copy)]
struct StageTexts<'a>(&'a [(String, String)]);

impl StageTexts<'_> {
    fn of(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, t)| t.as_str())
    }
}

fn error(field: String, rule: Option<usize>, line: u32, message: String, fix: &str) -> PolicyError {
    PolicyError {
        field,
        rule,
        line,
        message,
        fix: fix.to_string(),
    }
}

fn validate_rule(
    index: usize,
    rule: &PolicyRule,
    names: StageTexts<'_>,
    errors: &mut Vec<PolicyError>,
) {
    let at = format!("rules[{index}]");
    let some = Some(index);
    match rule.level {
        Level::Unknown if rule.level_text.is_empty() => errors.push(error(
            format!("{at}.level"),
            some,
            rule.line,
            format!("{at}.level: Required value"),
            "give the rule a level: None, Metadata, Request or RequestResponse",
        )),
        Level::Unknown => errors.push(error(
            format!("{at}.level"),
            some,
            rule.line,
            format!(
                "{at}.level: Unsupported value: {:?}: {LEVELS_SUPPORTED}",
                rule.level_text
            ),
            "levels are None, Metadata, Request and RequestResponse, written exactly so",
        )),
        _ => {}
    }
    for (i, url) in rule.non_resource_urls.iter().enumerate() {
        if url == "*" {
            continue;
        }
        let field = format!("{at}.nonResourceURLs[{i}]");
        if !url.starts_with('/') {
            errors.push(error(
                field.clone(),
                some,
                rule.line,
                format!(
                    "{field}: Invalid value: {url:?}: non-resource URL rules must begin with a \
                     '/' character"
                ),
                "write the path from its root, e.g. /healthz",
            ));
        }
        let mut before_last = url.chars();
        before_last.next_back();
        if before_last.as_str().contains('*') {
            errors.push(error(
                field.clone(),
                some,
                rule.line,
                format!(
                    "{field}: Invalid value: {url:?}: non-resource URL wildcards '*' must be the \
                     final character of the rule"
                ),
                "a `*` may only end the path: /logs* matches every path starting with /logs",
            ));
        }
    }
    for (i, entry) in rule.resources.iter().enumerate() {
        if !entry.group.is_empty() && entry.group != "*" {
            let problems = dns_subdomain_problems(&entry.group);
            if !problems.is_empty() {
                errors.push(error(
                    format!("{at}.resources[{i}].group"),
                    some,
                    entry.line,
                    format!(
                        "{at}.resources.group: Invalid value: {:?}: {}",
                        entry.group,
                        problems.join(",")
                    ),
                    "a group is a name such as apps or rbac.authorization.k8s.io, without a \
                     version; \"\" is the core group and \"*\" every group",
                ));
            }
        }
        if !entry.resource_names.is_empty() && entry.resources.is_empty() {
            errors.push(error(
                format!("{at}.resources[{i}].resourceNames"),
                some,
                entry.line,
                format!(
                    "{at}.resources.resourceNames: Invalid value: {}: using resourceNames \
                     requires at least one resource",
                    go_strings(&entry.resource_names)
                ),
                "name the resources these names belong to, e.g. resources: [\"configmaps\"]",
            ));
        }
    }
    stages(
        &rule.omit_stages,
        &format!("{at}.omitStages"),
        some,
        rule.line,
        names,
        errors,
    );
    if !rule.non_resource_urls.is_empty()
        && (!rule.resources.is_empty() || !rule.namespaces.is_empty())
    {
        errors.push(error(
            format!("{at}.nonResourceURLs"),
            some,
            rule.line,
            format!(
                "{at}.nonResourceURLs: Invalid value: {}: rules cannot apply to both regular \
                 resources and non-resource URLs",
                go_strings(&rule.non_resource_urls)
            ),
            "split it into two rules: one with resources and namespaces, one with \
             nonResourceURLs",
        ));
    }
}

fn stages(
    stages: &[Stage],
    at: &str,
    rule: Option<usize>,
    line: u32,
    names: StageTexts<'_>,
    errors: &mut Vec<PolicyError>,
) {
    for (i, stage) in stages.iter().enumerate() {
        if *stage == Stage::Unknown {
            let field = format!("{at}[{i}]");
            let text = names.of(&field).unwrap_or("");
            errors.push(error(
                field.clone(),
                rule,
                line,
                format!("{field}: Invalid value: {text:?}: {STAGES_ALLOWED}"),
                "stages are RequestReceived, ResponseStarted, ResponseComplete and Panic",
            ));
        }
    }
}

/// `[]string{"a", "b"}`, as Go prints a value in a validation message.
fn go_strings(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

/// Why `name` is not a lowercase RFC 1123 subdomain (at most 253 characters, dot-separated
/// labels of lowercase letters, digits and inner hyphens); empty when it is one.
pub fn dns_subdomain_problems(name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if name.len() > 253 {
        problems.push("must be no more than 253 characters".to_string());
    }
    let valid_label = |label: &str| {
        let bytes = label.as_bytes();
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        match (bytes.first(), bytes.last()) {
            (Some(&first), Some(&last)) => {
                alnum(first) && alnum(last) && bytes.iter().all(|&b| alnum(b) || b == b'-')
            }
            _ => false,
        }
    };
    if !name.split('.').all(valid_label) {
        problems.push(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \
             '-' or '.', and must start and end with an alphanumeric character (e.g. \
             'example.com', regex used for validation is \
             '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                .to_string(),
        );
    }
    problems
}

/// The level a rule gives, for messages.
pub fn describe_level(rule: &PolicyRule) -> &str {
    if rule.level == Level::Unknown {
        &rule.level_text
    } else {
        level_name(rule.level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_dns_subdomains() {
        for good in ["apps", "rbac.authorization.k8s.io", "a-b.c1", "0"] {
            assert!(dns_subdomain_problems(good).is_empty(), "{good}");
        }
        for bad in [
            "Apps",
            "rbac.authorization.k8s.io/v1",
            "-a",
            "a-",
            "a..b",
            ".a",
            "a_b",
        ] {
            assert_eq!(dns_subdomain_problems(bad).len(), 1, "{bad}");
        }
        assert_eq!(dns_subdomain_problems(&"a".repeat(254)).len(), 1);
        assert_eq!(
            go_strings(&["x".into(), "y".into()]),
            "[]string{\"x\", \"y\"}"
        );
    }
}
