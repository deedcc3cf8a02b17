//! The API server's RBAC authorizer over a [`Policy`]: which bindings apply to a user in a
//! namespace, and whether their rules allow a request.
//!
//! As in the API server, a request is allowed when a rule of a role bound to the user allows
//! it: the cluster role of any ClusterRoleBinding naming the user, one of its groups, or its
//! service account; then, for a request in a namespace, the Role or ClusterRole of any
//! RoleBinding in that namespace naming them. A ServiceAccount subject of a RoleBinding without
//! a namespace means the binding's namespace. Nothing else matches: no `*` subjects, no
//! inheritance between namespaces. A binding whose role is missing grants nothing. Anything
//! RBAC does not allow is "no opinion", which with RBAC as the only authorizer is a denial.

use std::collections::BTreeMap;

use super::matching::{rule_allows, Attributes};
use super::objects::{ClusterRoleBinding, PolicyRule, RoleBinding, RoleRef, Subject};
use super::policy::Policy;

/// The prefix of service-account usernames.
pub const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// A binding that applies, with the subject that made it apply and its role's rules.
#[derive(Clone, Copy, Debug)]
pub struct Grant<'p> {
    pub binding: Binding<'p>,
    pub subject: &'p Subject,
    pub rules: &'p [PolicyRule],
}

/// A ClusterRoleBinding (its rules apply everywhere) or a RoleBinding (in its namespace).
#[derive(Clone, Copy, Debug)]
pub enum Binding<'p> {
    Cluster(&'p ClusterRoleBinding),
    Namespaced(&'p RoleBinding),
}

impl<'p> Binding<'p> {
    pub fn role_ref(&self) -> &'p RoleRef {
        match self {
            Binding::Cluster(b) => &b.role_ref,
            Binding::Namespaced(b) => &b.role_ref,
        }
    }

    /// The namespace its rules apply in; empty for everywhere.
    pub fn namespace(&self) -> &'p str {
        match self {
            Binding::Cluster(_) => "",
            Binding::Namespaced(b) => &b.metadata.namespace,
        }
    }

    /// `ClusterRoleBinding "x"`, `RoleBinding "x/ns"` (as the API server names them).
    pub fn describe(&self) -> String {
        match self {
            Binding::Cluster(b) => format!("ClusterRoleBinding {:?}", b.metadata.name),
            Binding::Namespaced(b) => format!(
                "RoleBinding \"{}/{}\"",
                b.metadata.name, b.metadata.namespace
            ),
        }
    }
}

impl Grant<'_> {
    /// The API server's reason for a request this grant allows:
    /// `RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "y" to User "alice"`.
    pub fn reason(&self) -> String {
        let role = self.binding.role_ref();
        format!(
            "RBAC: allowed by {} of {} {:?} to {}",
            self.binding.describe(),
            role.kind,
            role.name,
            describe_subject(self.subject, self.binding.namespace())
        )
    }
}

/// `User "alice"`, `Group "devs"`, `ServiceAccount "sa1/ns1"` (name first, as the API server
/// writes it), with a RoleBinding's namespace for a ServiceAccount subject without one.
pub fn describe_subject(subject: &Subject, binding_namespace: &str) -> String {
    if subject.kind == "ServiceAccount" {
        let namespace = if subject.namespace.is_empty() {
            binding_namespace
        } else {
            &subject.namespace
        };
        format!("ServiceAccount \"{}/{namespace}\"", subject.name)
    } else {
        format!("{} {:?}", subject.kind, subject.name)
    }
}

/// The outcome of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// For an allowed request, which binding allowed it (the API server's wording).
    pub reason: String,
}

/// RBAC over one policy. See the module docs.
///
/// Bindings are indexed by the users and groups their subjects name, so that a request looks
/// only at the bindings that can apply to it; they are still visited in the API server's order.
#[derive(Clone, Debug, Default)]
pub struct Authorizer {
    policy: Policy,
    cluster_roles: BTreeMap<String, usize>,
    roles: BTreeMap<(String, String), usize>,
    /// ClusterRoleBindings by subject key (see [`subject_key`]).
    cluster_bindings: BTreeMap<String, Vec<usize>>,
    /// RoleBindings by namespace, then by subject key.
    role_bindings: BTreeMap<String, BTreeMap<String, Vec<usize>>>,
}

/// The key a subject is indexed under: `u:<username>` for a User or a ServiceAccount (its
/// username, with `namespace` for one without its own), `g:<group>` for a Group. None for a
/// subject that matches nobody.
fn subject_key(subject: &Subject, namespace: &str) -> Option<String> {
    match subject.kind.as_str() {
        "User" => Some(format!("u:{}", subject.name)),
        "Group" => Some(format!("g:{}", subject.name)),
        "ServiceAccount" => {
            let ns = if subject.namespace.is_empty() {
                namespace
            } else {
                &subject.namespace
            };
            (!ns.is_empty()).then(|| format!("u:{SERVICE_ACCOUNT_PREFIX}{ns}:{}", subject.name))
        }
        _ => None,
    }
}

/// The bindings of `index` that may apply to `user` with `groups`, in their order.
fn candidates(index: &BTreeMap<String, Vec<usize>>, user: &str, groups: &[&str]) -> Vec<usize> {
    let mut found: Vec<usize> = index
        .get(&format!("u:{user}"))
        .into_iter()
        .flatten()
        .copied()
        .collect();
    for group in groups {
        found.extend(
            index
                .get(&format!("g:{group}"))
                .into_iter()
                .flatten()
                .copied(),
        );
    }
    found.sort_unstable();
    found.dedup();
    found
}

impl Authorizer {
    /// An authorizer over `policy` (aggregated cluster roles already hold their rules).
    pub fn new(policy: Policy) -> Authorizer {
        let cluster_roles = policy
            .cluster_roles
            .iter()
            .enumerate()
            .map(|(i, r)| (r.metadata.name.clone(), i))
            .collect();
        let roles = policy
            .roles
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.metadata.namespace.clone(), r.metadata.name.clone()), i))
            .collect();
        let mut cluster_bindings: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, binding) in policy.cluster_role_bindings.iter().enumerate() {
            for key in binding.subjects.iter().filter_map(|s| subject_key(s, "")) {
                cluster_bindings.entry(key).or_default().push(i);
            }
        }
        let mut role_bindings: BTreeMap<String, BTreeMap<String, Vec<usize>>> = BTreeMap::new();
        for (i, binding) in policy.role_bindings.iter().enumerate() {
            let namespace = &binding.metadata.namespace;
            for key in binding
                .subjects
                .iter()
                .filter_map(|s| subject_key(s, namespace))
            {
                role_bindings
                    .entry(namespace.clone())
                    .or_default()
                    .entry(key)
                    .or_default()
                    .push(i);
            }
        }
        Authorizer {
            policy,
            cluster_roles,
            roles,
            cluster_bindings,
            role_bindings,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The rules a binding's role reference resolves to (none for a missing role or a kind
    /// other than Role and ClusterRole).
    pub fn role_rules(&self, role_ref: &RoleRef, binding_namespace: &str) -> Option<&[PolicyRule]> {
        match role_ref.kind.as_str() {
            "ClusterRole" => self
                .cluster_roles
                .get(&role_ref.name)
                .and_then(|&i| self.policy.cluster_roles.get(i))
                .map(|r| r.rules.as_slice()),
            "Role" if !binding_namespace.is_empty() => self
                .roles
                .get(&(binding_namespace.to_string(), role_ref.name.clone()))
                .and_then(|&i| self.policy.roles.get(i))
                .map(|r| r.rules.as_slice()),
            _ => None,
        }
    }

    /// Every binding that applies to `user` (with `groups`) for a request in `namespace`
    /// (empty: cluster-scoped), cluster bindings first, in the order the API server visits them.
    pub fn grants<'p>(&'p self, user: &str, groups: &[&str], namespace: &str) -> Vec<Grant<'p>> {
        let mut grants = Vec::new();
        for i in candidates(&self.cluster_bindings, user, groups) {
            let Some(binding) = self.policy.cluster_role_bindings.get(i) else {
                continue;
            };
            let Some(subject) = applies_to(user, groups, &binding.subjects, "") else {
                continue;
            };
            if let Some(rules) = self.role_rules(&binding.role_ref, "") {
                grants.push(Grant {
                    binding: Binding::Cluster(binding),
                    subject,
                    rules,
                });
            }
        }
        if namespace.is_empty() {
            return grants;
        }
        let index = self.role_bindings.get(namespace);
        for i in index
            .map(|index| candidates(index, user, groups))
            .unwrap_or_default()
        {
            let Some(binding) = self.policy.role_bindings.get(i) else {
                continue;
            };
            let Some(subject) = applies_to(user, groups, &binding.subjects, namespace) else {
                continue;
            };
            if let Some(rules) = self.role_rules(&binding.role_ref, namespace) {
                grants.push(Grant {
                    binding: Binding::Namespaced(binding),
                    subject,
                    rules,
                });
            }
        }
        grants
    }

    /// Every rule that applies to `user` (with `groups`) in `namespace`.
    pub fn rules_for(&self, user: &str, groups: &[&str], namespace: &str) -> Vec<PolicyRule> {
        self.grants(user, groups, namespace)
            .into_iter()
            .flat_map(|g| g.rules.iter().cloned())
            .collect()
    }

    /// Whether RBAC allows the request, and by which binding.
    pub fn authorize(&self, attributes: &Attributes<'_>) -> Decision {
        let grants = self.grants(attributes.user, &attributes.groups, attributes.namespace);
        for grant in grants {
            if grant.rules.iter().any(|rule| rule_allows(attributes, rule)) {
                return Decision {
                    allowed: true,
                    reason: grant.reason(),
                };
            }
        }
        Decision {
            allowed: false,
            reason: String::new(),
        }
    }

    /// Whether RBAC allows the request.
    pub fn allows(&self, attributes: &Attributes<'_>) -> bool {
        self.authorize(attributes).allowed
    }
}

/// The first of `subjects` that names the user, one of its groups or its service account, in
/// a binding of `namespace` (empty for a ClusterRoleBinding).
pub fn applies_to<'s>(
    user: &str,
    groups: &[&str],
    subjects: &'s [Subject],
    namespace: &str,
) -> Option<&'s Subject> {
    subjects
        .iter()
        .find(|subject| subject_applies(user, groups, subject, namespace))
}

fn subject_applies(user: &str, groups: &[&str], subject: &Subject, namespace: &str) -> bool {
    match subject.kind.as_str() {
        "User" => user == subject.name,
        "Group" => groups.contains(&subject.name.as_str()),
        "ServiceAccount" => {
            let sa_namespace = if subject.namespace.is_empty() {
                namespace
            } else {
                &subject.namespace
            };
            !sa_namespace.is_empty() && is_service_account(user, sa_namespace, &subject.name)
        }
        _ => false,
    }
}

/// True when `user` is `system:serviceaccount:<namespace>:<name>`.
fn is_service_account(user: &str, namespace: &str, name: &str) -> bool {
    user.strip_prefix(SERVICE_ACCOUNT_PREFIX)
        .and_then(|rest| rest.strip_prefix(namespace))
        .and_then(|rest| rest.strip_prefix(':'))
        == Some(name)
}
