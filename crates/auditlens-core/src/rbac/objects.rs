//! The RBAC API objects (`rbac.authorization.k8s.io/v1`): roles, cluster roles and their
//! bindings, as kubectl prints them and as `kubectl apply` takes them, and the checks the API
//! server's validation makes on them.
//!
//! Reading is lenient where the API server is (absent and `null` lists are empty); writing
//! leaves out what is empty, so a generated object looks like one a person would write. What
//! the API server's validation would refuse is in [`super::validate`].

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
        assert!(super::super::validate::validate(&role).is_empty());
    }
}
