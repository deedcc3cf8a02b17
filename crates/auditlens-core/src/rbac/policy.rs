//! A set of RBAC objects read from a file: what `kubectl get roles,clusterroles,rolebindings,
//! clusterrolebindings -A -o json` (or `-o yaml`) prints, a `List` of them, a single object, or
//! a manifest of several YAML documents.
//!
//! Reading settles what the API server would: a Role or RoleBinding without a namespace goes to
//! `default` (as `kubectl apply` puts it), a later object of the same kind and name replaces an
//! earlier one, and aggregated cluster roles get the rules they aggregate. What the file holds
//! that the API server would refuse or that RBAC ignores is kept as a note naming the document,
//! the object and the field; a file that cannot be read at all is an error naming the line.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::aggregate::aggregate;
use super::objects::{
    null_as_default, AggregationRule, ClusterRole, ClusterRoleBinding, Object, ObjectMeta,
    PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use super::validate::validate;
use super::RbacError;

/// Lists nested deeper than this are not read (a real `List` holds objects, not lists).
const MAX_LIST_DEPTH: usize = 4;

/// RBAC objects, as the authorizer reads them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Policy {
    pub roles: Vec<Role>,
    pub cluster_roles: Vec<ClusterRole>,
    pub role_bindings: Vec<RoleBinding>,
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
}

/// A policy read from a file, with what reading it noticed.
#[derive(Clone, Debug, Default)]
pub struct ParsedPolicy {
    pub policy: Policy,
    /// Objects the file held that are not RBAC objects, invalid fields, duplicates, bindings to
    /// roles the file does not hold: one sentence each.
    pub notes: Vec<String>,
}

/// Any object of a manifest: the fields of the four RBAC kinds and of a `List`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    #[serde(default, deserialize_with = "null_as_default")]
    api_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    kind: String,
    #[serde(default, deserialize_with = "null_as_default")]
    metadata: ObjectMeta,
    #[serde(default, deserialize_with = "null_as_default")]
    rules: Vec<PolicyRule>,
    #[serde(default)]
    aggregation_rule: Option<AggregationRule>,
    #[serde(default, deserialize_with = "null_as_default")]
    subjects: Vec<Subject>,
    #[serde(default)]
    role_ref: Option<RoleRef>,
    #[serde(default)]
    items: Option<Vec<Option<Manifest>>>,
}

impl Policy {
    /// Reads `text` (JSON or YAML), the contents of the file called `file`.
    pub fn parse(file: &str, text: &str) -> Result<ParsedPolicy, RbacError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let documents: Vec<Option<Manifest>> = if text.trim_start().starts_with('[') {
            serde_json::from_str(text).map_err(|e| json_error(file, &e))?
        } else if looks_like_json(text) {
            // One object, or several one after the other.
            serde_json::Deserializer::from_str(text)
                .into_iter::<Option<Manifest>>()
                .collect::<Result<_, _>>()
                .map_err(|e| json_error(file, &e))?
        } else {
            serde_saphyr::from_multiple::<Option<Manifest>>(text)
                .map_err(|e| RbacError::new(yaml_error(file, &e)))?
        };
        let mut reader = Reader::default();
        for (index, document) in documents.into_iter().enumerate() {
            if let Some(document) = document {
                reader.take(&format!("document {}", index + 1), document, 0);
            }
        }
        if reader.objects.is_empty() {
            return Err(RbacError::new(format!(
                "{file} holds no Role, ClusterRole, RoleBinding or ClusterRoleBinding{}",
                reader.skipped_summary()
            )));
        }
        Ok(reader.finish(file))
    }

    /// A policy of these objects (later ones of the same kind and name replace earlier ones;
    /// aggregated cluster roles get their rules).
    pub fn from_objects(objects: impl IntoIterator<Item = Object>) -> ParsedPolicy {
        let mut reader = Reader::default();
        for object in objects {
            reader.objects.push((String::new(), object));
        }
        reader.finish("")
    }

    /// How many objects of each kind, in one line: `3 Roles, 70 ClusterRoles, ...`.
    pub fn describe(&self) -> String {
        format!(
            "{} Roles, {} ClusterRoles, {} RoleBindings, {} ClusterRoleBindings",
            self.roles.len(),
            self.cluster_roles.len(),
            self.role_bindings.len(),
            self.cluster_role_bindings.len()
        )
    }
}

fn looks_like_json(text: &str) -> bool {
    matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['))
}

fn json_error(file: &str, error: &serde_json::Error) -> RbacError {
    let message = error.to_string();
    let what = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(what, _)| what);
    RbacError::new(format!(
        "{file}: line {}, column {}: {what}",
        error.line(),
        error.column()
    ))
}

fn yaml_error(file: &str, error: &serde_saphyr::Error) -> String {
    // The library's own rendering quotes the offending lines; the first line says what and
    // where, which is what a terminal and the page want.
    let message = error.to_string();
    let first = message.lines().next().unwrap_or("").trim();
    match error.location() {
        Some(at) if at.line() > 0 => {
            format!(
                "{file}: line {}, column {}: {first}",
                at.line(),
                at.column()
            )
        }
        _ => format!("{file}: {first}"),
    }
}

#[derive(Default)]
struct Reader {
    /// Each object with where it was (`document 2, item 5`).
    objects: Vec<(String, Object)>,
    notes: Vec<String>,
    /// Kinds of the objects skipped, with how many.
    skipped: BTreeMap<String, u64>,
}

impl Reader {
    fn take(&mut self, at: &str, manifest: Manifest, depth: usize) {
        let kind = manifest.kind.clone();
        let object = match kind.as_str() {
            "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => {
                if !manifest.api_version.is_empty()
                    && !manifest
                        .api_version
                        .starts_with("rbac.authorization.k8s.io/")
                {
                    self.notes.push(format!(
                        "{at}: {kind} {:?} has apiVersion {:?}, not rbac.authorization.k8s.io; skipped",
                        manifest.metadata.name, manifest.api_version
                    ));
                    return;
                }
                self.object(at, manifest)
            }
            _ if manifest.items.is_some() => {
                if depth >= MAX_LIST_DEPTH {
                    self.notes
                        .push(format!("{at}: lists nested this deep are not read"));
                    return;
                }
                let items = manifest.items.unwrap_or_default();
                for (index, item) in items.into_iter().enumerate() {
                    if let Some(item) = item {
                        self.take(&format!("{at}, item {}", index + 1), item, depth + 1);
                    }
                }
                return;
            }
            "" => {
                self.notes
                    .push(format!("{at}: an object without a kind; skipped"));
                return;
            }
            other => {
                *self.skipped.entry(other.to_string()).or_default() += 1;
                return;
            }
        };
        self.objects.push((at.to_string(), object));
    }

    fn object(&mut self, at: &str, manifest: Manifest) -> Object {
        let mut metadata = manifest.metadata;
        let namespaced = matches!(manifest.kind.as_str(), "Role" | "RoleBinding");
        if namespaced && metadata.namespace.is_empty() {
            self.notes.push(format!(
                "{at}: {} {:?} has no namespace; taken as namespace \"default\", as kubectl apply would",
                manifest.kind, metadata.name
            ));
            metadata.namespace = "default".into();
        }
        if !namespaced && !metadata.namespace.is_empty() {
            metadata.namespace.clear();
        }
        let role_ref = manifest.role_ref.unwrap_or_default();
        match manifest.kind.as_str() {
            "Role" => Object::Role(Role {
                metadata,
                rules: manifest.rules,
            }),
            "ClusterRole" => Object::ClusterRole(ClusterRole {
                metadata,
                aggregation_rule: manifest.aggregation_rule,
                rules: manifest.rules,
            }),
            "RoleBinding" => Object::RoleBinding(RoleBinding {
                metadata,
                role_ref,
                subjects: manifest.subjects,
            }),
            _ => Object::ClusterRoleBinding(ClusterRoleBinding {
                metadata,
                role_ref,
                subjects: manifest.subjects,
            }),
        }
    }

    fn skipped_summary(&self) -> String {
        if self.skipped.is_empty() {
            return String::new();
        }
        let kinds: Vec<String> = self
            .skipped
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        format!(" (it holds {})", kinds.join(", "))
    }

    fn finish(mut self, file: &str) -> ParsedPolicy {
        let prefix = |at: &str| {
            if at.is_empty() {
                String::new()
            } else {
                format!("{at}: ")
            }
        };
        if !self.skipped.is_empty() {
            let summary = self.skipped_summary();
            self.notes.push(format!(
                "{file}: objects that are not RBAC objects were skipped{summary}"
            ));
        }
        // Later objects of the same kind, namespace and name replace earlier ones.
        let mut latest: BTreeMap<(&'static str, String, String), usize> = BTreeMap::new();
        for (i, (at, object)) in self.objects.iter().enumerate() {
            let meta = object.metadata();
            let key = (object.kind(), meta.namespace.clone(), meta.name.clone());
            if latest.insert(key, i).is_some() {
                self.notes.push(format!(
                    "{}{} appears more than once; the last one is used",
                    prefix(at),
                    object.describe()
                ));
            }
        }
        let mut policy = Policy::default();
        for (i, (at, object)) in self.objects.into_iter().enumerate() {
            let meta = object.metadata();
            let key = (object.kind(), meta.namespace.clone(), meta.name.clone());
            if latest.get(&key) != Some(&i) {
                continue;
            }
            for problem in validate(&object) {
                self.notes
                    .push(format!("{}{}: {problem}", prefix(&at), object.describe()));
            }
            match object {
                Object::Role(o) => policy.roles.push(o),
                Object::ClusterRole(o) => policy.cluster_roles.push(o),
                Object::RoleBinding(o) => policy.role_bindings.push(o),
                Object::ClusterRoleBinding(o) => policy.cluster_role_bindings.push(o),
            }
        }
        self.notes.extend(aggregate(&mut policy.cluster_roles));
        self.notes.extend(missing_roles(&policy));
        ParsedPolicy {
            policy,
            notes: self.notes,
        }
    }
}

/// A note per binding whose role is not in the policy (it grants nothing, as in the cluster).
fn missing_roles(policy: &Policy) -> Vec<String> {
    let cluster_roles: std::collections::BTreeSet<&str> = policy
        .cluster_roles
        .iter()
        .map(|r| r.metadata.name.as_str())
        .collect();
    let roles: std::collections::BTreeSet<(&str, &str)> = policy
        .roles
        .iter()
        .map(|r| (r.metadata.namespace.as_str(), r.metadata.name.as_str()))
        .collect();
    let mut notes = Vec::new();
    let mut check = |binding: String, namespace: &str, role_ref: &RoleRef| {
        let found = match role_ref.kind.as_str() {
            "ClusterRole" => cluster_roles.contains(role_ref.name.as_str()),
            "Role" => roles.contains(&(namespace, role_ref.name.as_str())),
            _ => return,
        };
        if !found {
            notes.push(format!(
                "{binding} refers to {} {:?}, which is not in the file: it grants nothing here",
                role_ref.kind, role_ref.name
            ));
        }
    };
    for b in &policy.cluster_role_bindings {
        check(
            format!("ClusterRoleBinding {:?}", b.metadata.name),
            "",
            &b.role_ref,
        );
    }
    for b in &policy.role_bindings {
        check(
            format!(
                "RoleBinding \"{}/{}\"",
                b.metadata.namespace, b.metadata.name
            ),
            &b.metadata.namespace,
            &b.role_ref,
        );
    }
    notes
}
