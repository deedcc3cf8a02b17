//! The checks the API server's validation makes on RBAC objects: names, rules, role references
//! and subjects. Generated objects must pass them; a granted file's objects that fail them are
//! noted.

use super::objects::{Object, PolicyRule, RoleRef, Subject, RBAC_GROUP};

/// What the API server's validation would refuse in an object, one message per problem, each
/// naming the field (`rules[2].resourceNames: ...`). Empty when the object is valid.
pub fn validate(object: &Object) -> Vec<String> {
    let mut problems = Vec::new();
    let meta = object.metadata();
    check_name("metadata.name", &meta.name, &mut problems);
    let namespaced = matches!(object, Object::Role(_) | Object::RoleBinding(_));
    if namespaced && !is_dns_label(&meta.namespace) {
        problems.push(format!(
            "metadata.namespace: {:?} is not a valid namespace name",
            meta.namespace
        ));
    }
    if !namespaced && !meta.namespace.is_empty() {
        problems.push(format!(
            "metadata.namespace: a {} is not namespaced",
            object.kind()
        ));
    }
    for key in meta.annotations.keys() {
        if !is_qualified_name(key) {
            problems.push(format!("metadata.annotations: {key:?} is not a valid key"));
        }
    }
    match object {
        Object::Role(role) => validate_rules(&role.rules, true, &mut problems),
        Object::ClusterRole(role) => validate_rules(&role.rules, false, &mut problems),
        Object::RoleBinding(b) => validate_binding(&b.role_ref, &b.subjects, true, &mut problems),
        Object::ClusterRoleBinding(b) => {
            validate_binding(&b.role_ref, &b.subjects, false, &mut problems)
        }
    }
    problems
}

fn check_name(field: &str, name: &str, problems: &mut Vec<String>) {
    // Role and binding names need only be valid path segments.
    if name.is_empty() {
        problems.push(format!("{field}: a name is required"));
    } else if name == "." || name == ".." || name.contains(['/', '%']) {
        problems.push(format!(
            "{field}: {name:?} may not be '.' or '..' or contain '/' or '%'"
        ));
    }
}

fn validate_rules(rules: &[PolicyRule], namespaced: bool, problems: &mut Vec<String>) {
    for (i, rule) in rules.iter().enumerate() {
        let at = format!("rules[{i}]");
        if rule.verbs.is_empty() {
            problems.push(format!("{at}.verbs: at least one verb is required"));
        }
        if !rule.non_resource_urls.is_empty() {
            if namespaced {
                problems.push(format!(
                    "{at}.nonResourceURLs: namespaced rules cannot apply to non-resource URLs"
                ));
            }
            if !rule.api_groups.is_empty()
                || !rule.resources.is_empty()
                || !rule.resource_names.is_empty()
            {
                problems.push(format!(
                    "{at}.nonResourceURLs: a rule cannot apply to both resources and non-resource URLs"
                ));
            }
            continue;
        }
        if rule.api_groups.is_empty() {
            problems.push(format!(
                "{at}.apiGroups: at least one API group is required"
            ));
        }
        if rule.resources.is_empty() {
            problems.push(format!("{at}.resources: at least one resource is required"));
        }
        if !rule.resource_names.is_empty() && rule.resources.len() > 1 {
            problems.push(format!(
                "{at}.resourceNames: resource names cannot apply to several resources"
            ));
        }
    }
}

fn validate_binding(
    role_ref: &RoleRef,
    subjects: &[Subject],
    namespaced: bool,
    problems: &mut Vec<String>,
) {
    if role_ref.api_group != RBAC_GROUP {
        problems.push(format!(
            "roleRef.apiGroup: {:?} is not {RBAC_GROUP}",
            role_ref.api_group
        ));
    }
    let kinds: &[&str] = if namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if !kinds.contains(&role_ref.kind.as_str()) {
        problems.push(format!(
            "roleRef.kind: {:?} is not {}",
            role_ref.kind,
            kinds.join(" or ")
        ));
    }
    check_name("roleRef.name", &role_ref.name, problems);
    for (i, subject) in subjects.iter().enumerate() {
        let at = format!("subjects[{i}]");
        if subject.name.is_empty() {
            problems.push(format!("{at}.name: a name is required"));
        }
        match subject.kind.as_str() {
            "ServiceAccount" => {
                if !subject.api_group.is_empty() {
                    problems.push(format!(
                        "{at}.apiGroup: a ServiceAccount subject has apiGroup \"\""
                    ));
                }
                if !namespaced && subject.namespace.is_empty() {
                    problems.push(format!("{at}.namespace: a namespace is required"));
                }
                if !subject.name.is_empty() && !is_dns_subdomain(&subject.name) {
                    problems.push(format!(
                        "{at}.name: {:?} is not a valid service account name",
                        subject.name
                    ));
                }
            }
            "User" | "Group" => {
                if subject.api_group != RBAC_GROUP {
                    problems.push(format!(
                        "{at}.apiGroup: a {} subject has apiGroup {RBAC_GROUP}",
                        subject.kind
                    ));
                }
            }
            other => problems.push(format!(
                "{at}.kind: {other:?} is not User, Group or ServiceAccount"
            )),
        }
    }
}

/// A DNS-1123 label: a namespace name.
pub fn is_dns_label(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// A DNS-1123 subdomain: dot-separated labels, at most 253 characters.
pub fn is_dns_subdomain(text: &str) -> bool {
    text.len() <= 253 && text.split('.').all(is_dns_label)
}

/// An annotation or label key: an optional DNS subdomain prefix and `/`, then a name of at most
/// 63 alphanumerics, `-`, `_` and `.`, starting and ending alphanumeric.
fn is_qualified_name(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let bytes = name.as_bytes();
    prefix.is_none_or(is_dns_subdomain)
        && !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::objects::{ClusterRoleBinding, ObjectMeta, Role};

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
        let own = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        PolicyRule {
            verbs: own(verbs),
            api_groups: own(groups),
            resources: own(resources),
            resource_names: own(names),
            non_resource_urls: Vec::new(),
        }
    }

    #[test]
    fn validation_names_each_problem_and_its_field() {
        let role = Object::Role(Role {
            metadata: ObjectMeta {
                name: "a/b".into(),
                namespace: "Not_A_Namespace".into(),
                ..ObjectMeta::default()
            },
            rules: vec![
                rule(&[], &[""], &["pods", "secrets"], &["x"]),
                PolicyRule {
                    verbs: vec!["get".into()],
                    non_resource_urls: vec!["/healthz".into()],
                    ..PolicyRule::default()
                },
            ],
        });
        let problems = validate(&role);
        for expected in [
            "metadata.name",
            "metadata.namespace",
            "rules[0].verbs",
            "rules[0].resourceNames",
            "rules[1].nonResourceURLs",
        ] {
            assert!(
                problems.iter().any(|p| p.starts_with(expected)),
                "{expected} in {problems:?}"
            );
        }
        let binding = Object::ClusterRoleBinding(ClusterRoleBinding {
            metadata: ObjectMeta {
                name: "b".into(),
                ..ObjectMeta::default()
            },
            role_ref: RoleRef::role("r"),
            subjects: vec![
                Subject {
                    kind: "ServiceAccount".into(),
                    name: "sa".into(),
                    ..Subject::default()
                },
                Subject {
                    kind: "User".into(),
                    name: "alice".into(),
                    ..Subject::default()
                },
                Subject {
                    kind: "Robot".into(),
                    name: "r2".into(),
                    ..Subject::default()
                },
            ],
        });
        let problems = validate(&binding);
        for expected in [
            "roleRef.kind",
            "subjects[0].namespace",
            "subjects[1].apiGroup",
            "subjects[2].kind",
        ] {
            assert!(
                problems.iter().any(|p| p.starts_with(expected)),
                "{expected} in {problems:?}"
            );
        }
        let good = Object::ClusterRoleBinding(ClusterRoleBinding {
            metadata: ObjectMeta {
                name: "auditlens:sa:ns1:sa1".into(),
                ..ObjectMeta::default()
            },
            role_ref: RoleRef::cluster_role("auditlens:sa:ns1:sa1"),
            subjects: vec![Subject::service_account("ns1", "sa1"), Subject::user("bob")],
        });
        assert_eq!(validate(&good), Vec::<String>::new());
    }

    #[test]
    fn qualified_names_and_dns_names() {
        assert!(is_qualified_name("auditlens/first-seen"));
        assert!(is_qualified_name("app.kubernetes.io/name"));
        assert!(!is_qualified_name("-x"));
        assert!(!is_qualified_name("a b/c"));
        assert!(is_dns_label("kube-system"));
        assert!(!is_dns_label("Kube"));
        assert!(!is_dns_label(""));
        assert!(is_dns_subdomain("a.b-c"));
        assert!(!is_dns_subdomain("a..b"));
    }
}
