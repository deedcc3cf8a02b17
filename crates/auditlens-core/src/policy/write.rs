//! A [`Policy`] as a YAML file kube-apiserver loads as it is, with comments.
//!
//! Every string is written double-quoted with JSON escapes (a JSON string is a valid YAML
//! double-quoted scalar), so no name from a log can change the file's structure or be read
//! as a boolean or a number; comments are stripped of line breaks and control characters for
//! the same reason.

use std::fmt::Write as _;

use super::{level_name, Policy, PolicyRule, API_VERSION};

/// Lists longer than this are written one item per line.
const INLINE_ITEMS: usize = 6;

/// The policy as YAML: `header` lines as comments first, `comments[i]` above rule `i`.
pub fn to_yaml(policy: &Policy, header: &[String], comments: &[Vec<String>]) -> String {
    let mut out = String::new();
    for line in header {
        comment(&mut out, "", line);
    }
    let _ = writeln!(out, "apiVersion: {API_VERSION}");
    out.push_str("kind: Policy\n");
    if !policy.omit_stages.is_empty() {
        let stages: Vec<&str> = policy.omit_stages.iter().map(|s| s.as_str()).collect();
        list(&mut out, "", "omitStages", &stages);
    }
    if policy.omit_managed_fields {
        out.push_str("omitManagedFields: true\n");
    }
    out.push_str("rules:\n");
    for (index, rule) in policy.rules.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        for line in comments.get(index).map_or(&[][..], Vec::as_slice) {
            comment(&mut out, "  ", line);
        }
        write_rule(&mut out, rule);
    }
    out
}

fn write_rule(out: &mut String, rule: &PolicyRule) {
    let _ = writeln!(out, "  - level: {}", level_name(rule.level));
    let pad = "    ";
    list(out, pad, "users", &rule.users);
    list(out, pad, "userGroups", &rule.user_groups);
    list(out, pad, "verbs", &rule.verbs);
    if !rule.resources.is_empty() {
        let _ = writeln!(out, "{pad}resources:");
        for entry in &rule.resources {
            let _ = writeln!(out, "{pad}  - group: {}", quote(&entry.group));
            list(out, "        ", "resources", &entry.resources);
            list(out, "        ", "resourceNames", &entry.resource_names);
        }
    }
    list(out, pad, "namespaces", &rule.namespaces);
    list(out, pad, "nonResourceURLs", &rule.non_resource_urls);
    if !rule.omit_stages.is_empty() {
        let stages: Vec<&str> = rule.omit_stages.iter().map(|s| s.as_str()).collect();
        list(out, pad, "omitStages", &stages);
    }
    if let Some(omit) = rule.omit_managed_fields {
        let _ = writeln!(out, "{pad}omitManagedFields: {omit}");
    }
}

fn list<S: AsRef<str>>(out: &mut String, pad: &str, key: &str, items: &[S]) {
    if items.is_empty() {
        return;
    }
    if items.len() <= INLINE_ITEMS {
        let quoted: Vec<String> = items.iter().map(|i| quote(i.as_ref())).collect();
        let _ = writeln!(out, "{pad}{key}: [{}]", quoted.join(", "));
    } else {
        let _ = writeln!(out, "{pad}{key}:");
        for item in items {
            let _ = writeln!(out, "{pad}  - {}", quote(item.as_ref()));
        }
    }
}

/// A double-quoted YAML scalar.
fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

fn comment(out: &mut String, pad: &str, text: &str) {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let clean = clean.trim_end();
    if clean.is_empty() {
        let _ = writeln!(out, "{pad}#");
    } else {
        let _ = writeln!(out, "{pad}# {clean}");
    }
}

#[cfg(test)]
mod tests {
    use super::super::{read, GroupResources};
    use super::*;
    use crate::model::{Level, Stage};

    #[test]
    fn written_policies_read_back_the_same() {
        let policy = Policy {
            rules: vec![
                PolicyRule {
                    users: vec![
                        "system:node:a\n- level: None".into(),
                        "yes".into(),
                        "1".into(),
                    ],
                    verbs: vec!["get".into()],
                    resources: vec![GroupResources {
                        group: String::new(),
                        resources: (0..8).map(|i| format!("r{i}")).collect(),
                        resource_names: vec!["x".into()],
                        line: 0,
                    }],
                    omit_stages: vec![Stage::Panic],
                    omit_managed_fields: Some(true),
                    ..PolicyRule::at(Level::None)
                },
                PolicyRule {
                    non_resource_urls: vec!["/healthz*".into()],
                    ..PolicyRule::at(Level::None)
                },
                PolicyRule::at(Level::Metadata),
            ],
            omit_stages: vec![Stage::RequestReceived],
            omit_managed_fields: true,
        };
        let text = to_yaml(
            &policy,
            &["a header\nwith: a break".into()],
            &[vec!["first".into()], vec![], vec!["last".into()]],
        );
        let file = read(&text);
        assert!(file.loads(), "{text}\n{:?}", file.refused);
        assert!(file.ignored.is_empty() && file.repeated.is_empty());
        let mut back = file.policy.unwrap();
        for rule in &mut back.rules {
            rule.line = 0;
            rule.level_text.clear();
            for entry in &mut rule.resources {
                entry.line = 0;
            }
        }
        let mut expected = policy.clone();
        for rule in &mut expected.rules {
            rule.level_text.clear();
        }
        assert_eq!(back, expected, "{text}");
        assert!(
            text.starts_with("# a header with: a break\napiVersion"),
            "{text}"
        );
    }
}
