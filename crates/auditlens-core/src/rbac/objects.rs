//! The RBAC API objects (`rbac.authorization.k8s.io/v1`): roles, cluster roles and their
//! bindings, as kubectl prints them and as `kubectl apply` takes them, and the checks the API
//! server's validation makes on them.
//!
//! Reading is lenient where the API server is (absent and `null` lists are empty); writing
//! leaves out what is empty, so a generated object looks like one a person would write.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// The API group of the RBAC objects, and the `apiGroup` of User and Group subjects.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
/// The apiVersion written on generated objects.
pub const RBAC_API_VERSION: &str = "rbac.authorization.k8s.io/v1";

/// A `null` in the input reads as the type's default (an empty list or map).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// The metadata the authorizer and the outputs use.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub namespace: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
}

/// One rule: every verb of `verbs` on every resource of `resources` in every group of
/// `apiGroups` (limited to `resourceNames` when there are any), or every verb on every
/// `nonResourceURLs` path.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub api_groups: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resources: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resource_names: Vec<String>,
    #[serde(
        default,
        rename = "nonResourceURLs",
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub non_resource_urls: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub verbs: Vec<String>,
}

impl PolicyRule {
    /// True when any field holds `*` (or `*/subresource`). A path ending in `*` is a prefix,
    /// as in the API server's own discovery roles, not a wildcard.
    pub fn has_wildcard(&self) -> bool {
        let star = |list: &[String]| list.iter().any(|v| v == "*");
        star(&self.verbs)
            || star(&self.api_groups)
            || star(&self.non_resource_urls)
            || self
                .resources
                .iter()
                .any(|r| r == "*" || r.starts_with("*/"))
    }

    /// The rule in one line, as people read it: `get, list pods, services ("" group)`.
    pub fn describe(&self) -> String {
        let verbs = self.verbs.join(", ");
        if !self.non_resource_urls.is_empty() {
            return format!("{verbs} {}", self.non_resource_urls.join(", "));
        }
        let groups: Vec<&str> = self
            .api_groups
            .iter()
            .map(|g| if g.is_empty() { "core" } else { g.as_str() })
            .collect();
        let mut text = format!("{verbs} {}", self.resources.join(", "));
        if !self.resource_names.is_empty() {
            text.push_str(&format!(" named {}", self.resource_names.join(", ")));
        }
        text.push_str(&format!(" (group {})", groups.join(", ")));
        text
    }
}

/// A label selector of an aggregation rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub match_labels: BTreeMap<String, String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// `key operator values`: In, NotIn, Exists, DoesNotExist.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorRequirement {
    #[serde(default, deserialize_with = "null_as_default")]
    pub key: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub operator: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub values: Vec<String>,
}

/// The cluster roles whose rules a cluster role aggregates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregationRule {
    #[serde(default, deserialize_with = "null_as_default")]
    pub cluster_role_selectors: Vec<LabelSelector>,
}

/// Who a binding grants to: a `User`, a `Group` or a `ServiceAccount`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    #[serde(default, deserialize_with = "null_as_default")]
    pub kind: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub api_group: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub namespace: String,
}

impl Subject {
    pub fn user(name: &str) -> Subject {
        Subject {
            kind: "User".into(),
            api_group: RBAC_GROUP.into(),
            name: name.into(),
            namespace: String::new(),
        }
    }

    pub fn service_account(namespace: &str, name: &str) -> Subject {
        Subject {
            kind: "ServiceAccount".into(),
            api_group: String::new(),
            name: name.into(),
            namespace: namespace.into(),
        }
    }

    /// `User "alice"`, `Group "devs"`, `ServiceAccount "sa1/ns1"` (name first, as the API
    /// server writes it).
    pub fn describe(&self) -> String {
        super::authorizer::describe_subject(self, "")
    }
}

/// The role a binding grants.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRef {
    #[serde(default, deserialize_with = "null_as_default")]
    pub api_group: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub kind: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
}

impl RoleRef {
    pub fn cluster_role(name: &str) -> RoleRef {
        RoleRef {
            api_group: RBAC_GROUP.into(),
            kind: "ClusterRole".into(),
            name: name.into(),
        }
    }

    pub fn role(name: &str) -> RoleRef {
        RoleRef {
            api_group: RBAC_GROUP.into(),
            kind: "Role".into(),
            name: name.into(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "null_as_default")]
    pub rules: Vec<PolicyRule>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRole {
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation_rule: Option<AggregationRule>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub rules: Vec<PolicyRule>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleBinding {
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "null_as_default")]
    pub role_ref: RoleRef,
    #[serde(default, deserialize_with = "null_as_default")]
    pub subjects: Vec<Subject>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRoleBinding {
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "null_as_default")]
    pub role_ref: RoleRef,
    #[serde(default, deserialize_with = "null_as_default")]
    pub subjects: Vec<Subject>,
}

/// One RBAC object. Serialized with its `apiVersion` and `kind`, as `kubectl apply` takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Object {
    Role(Role),
    ClusterRole(ClusterRole),
    RoleBinding(RoleBinding),
    ClusterRoleBinding(ClusterRoleBinding),
}

impl Object {
    pub fn kind(&self) -> &'static str {
        match self {
            Object::Role(_) => "Role",
            Object::ClusterRole(_) => "ClusterRole",
            Object::RoleBinding(_) => "RoleBinding",
            Object::ClusterRoleBinding(_) => "ClusterRoleBinding",
        }
    }

    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Object::Role(o) => &o.metadata,
            Object::ClusterRole(o) => &o.metadata,
            Object::RoleBinding(o) => &o.metadata,
            Object::ClusterRoleBinding(o) => &o.metadata,
        }
    }

    /// `ClusterRole "x"`, `Role "ns/x"`.
    pub fn describe(&self) -> String {
        let meta = self.metadata();
        if meta.namespace.is_empty() {
            format!("{} \"{}\"", self.kind(), meta.name)
        } else {
            format!("{} \"{}/{}\"", self.kind(), meta.namespace, meta.name)
        }
    }
}

/// An object with its `apiVersion` and `kind` in front, for serialization.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Typed<'a, T> {
    api_version: &'static str,
    kind: &'static str,
    #[serde(flatten)]
    object: &'a T,
}

impl Serialize for Object {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let kind = self.kind();
        let api_version = RBAC_API_VERSION;
        match self {
            Object::Role(object) => Typed {
                api_version,
                kind,
                object,
            }
            .serialize(serializer),
            Object::ClusterRole(object) => Typed {
                api_version,
                kind,
                object,
            }
            .serialize(serializer),
            Object::RoleBinding(object) => Typed {
                api_version,
                kind,
                object,
            }
            .serialize(serializer),
            Object::ClusterRoleBinding(object) => Typed {
                api_version,
                kind,
                object,
            }
            .serialize(serializer),
        }
    }
}

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
    fn objects_serialize_with_api_version_and_kind_first() {
        let role = Object::Role(Role {
            metadata: ObjectMeta {
                name: "r".into(),
                namespace: "ns1".into(),
                ..ObjectMeta::default()
            },
            rules: vec![rule(&["get"], &[""], &["pods"], &[])],
        });
        assert_eq!(
            serde_json::to_string(&role).unwrap(),
            r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"r","namespace":"ns1"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get"]}]}"#
        );
        assert!(validate(&role).is_empty());
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
