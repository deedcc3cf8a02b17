//! Who sends requests: authenticated identities and the client programs that use them.
//!
//! An [`Identity`] is what the authenticator produced (`user` in the audit event), rendered to
//! JSON once. An [`Actor`] is one client program using an identity: the identity plus the user
//! agent and source address its requests carry, and the RBAC binding that usually lets it in.
//! kube-controller-manager, for example, is one identity behind two actors (leader election and
//! shared informers), and a stolen token is a second actor for an existing identity.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::value::RawValue;

use crate::json::{raw, Json};

/// An authenticated user as the audit event's `user` field shows it.
#[derive(Debug)]
pub(crate) struct Identity {
    pub username: Arc<str>,
    /// The pre-rendered `user` object: username, uid, groups, extra.
    pub user: Arc<RawValue>,
    /// The pre-rendered form used under `impersonatedUser`: username and groups.
    pub impersonated: Arc<RawValue>,
}

impl Identity {
    pub(crate) fn new(
        username: &str,
        uid: Option<&str>,
        groups: &[&str],
        extra: &[(&'static str, &str)],
    ) -> Arc<Self> {
        let groups_json = Json::Arr(groups.iter().map(|g| Json::from(g.to_string())).collect());
        let mut user = Json::object(Vec::new()).with("username", username.to_string());
        if let Some(uid) = uid {
            user = user.with("uid", uid.to_string());
        }
        user = user.with("groups", groups_json.clone());
        if !extra.is_empty() {
            let mut extra_json = Json::object(Vec::new());
            for (key, value) in extra {
                extra_json = extra_json.with(*key, vec![Json::from(value.to_string())]);
            }
            user = user.with("extra", extra_json);
        }
        let impersonated = Json::object(Vec::new())
            .with("username", username.to_string())
            .with("groups", groups_json);
        Arc::new(Identity {
            username: Arc::from(username),
            user: raw(&user),
            impersonated: raw(&impersonated),
        })
    }

    /// A service account token. Tokens mounted into a pod are bound to it, and the
    /// authenticator reports the pod in `extra`; tokens from the TokenRequest API without a
    /// bound object (like kube-controller-manager's) carry no pod.
    pub(crate) fn service_account(
        namespace: &str,
        name: &str,
        uid: &str,
        pod: Option<(&str, &str)>,
    ) -> Arc<Self> {
        let username = format!("system:serviceaccount:{namespace}:{name}");
        let ns_group = format!("system:serviceaccounts:{namespace}");
        let groups = [
            "system:serviceaccounts",
            ns_group.as_str(),
            "system:authenticated",
        ];
        match pod {
            Some((pod_name, pod_uid)) => Identity::new(
                &username,
                Some(uid),
                &groups,
                &[
                    ("authentication.kubernetes.io/pod-name", pod_name),
                    ("authentication.kubernetes.io/pod-uid", pod_uid),
                ],
            ),
            None => Identity::new(&username, Some(uid), &groups, &[]),
        }
    }

    /// A kubelet's client certificate: `system:node:<name>` in `system:nodes`.
    pub(crate) fn node(name: &str) -> Arc<Self> {
        Identity::new(
            &format!("system:node:{name}"),
            None,
            &["system:nodes", "system:authenticated"],
            &[],
        )
    }

    pub(crate) fn anonymous() -> Arc<Self> {
        Identity::new("system:anonymous", None, &["system:unauthenticated"], &[])
    }

    /// The node name of a `system:node:` identity.
    pub(crate) fn node_name(&self) -> Option<&str> {
        self.username.strip_prefix("system:node:")
    }
}

/// Index of an [`Actor`] in the world's actor table.
pub(crate) type ActorId = usize;

/// One client program: an identity, how its requests look, and why they are usually allowed.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub identity: Arc<Identity>,
    pub user_agent: Arc<str>,
    pub ip: IpAddr,
    /// `authorization.k8s.io/reason` of this actor's allowed requests.
    pub reason: Arc<str>,
    /// While `label_budget` is positive, this actor's requests are labelled with `label`: how a
    /// scenario marks "the first requests of the new node" without following it around.
    pub label: Option<u16>,
    pub label_budget: u32,
}

impl Actor {
    pub(crate) fn new(
        identity: Arc<Identity>,
        user_agent: Arc<str>,
        ip: IpAddr,
        reason: Arc<str>,
    ) -> Self {
        Actor {
            identity,
            user_agent,
            ip,
            reason,
            label: None,
            label_budget: 0,
        }
    }
}

/// `RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "r" to Group "g"`.
pub(crate) fn cluster_binding(binding: &str, role: &str, subject: &Subject<'_>) -> Arc<str> {
    Arc::from(format!(
        "RBAC: allowed by ClusterRoleBinding \"{binding}\" of ClusterRole \"{role}\" to {subject}"
    ))
}

/// `RBAC: allowed by RoleBinding "b/ns" of ClusterRole "r" to Group "g"`.
pub(crate) fn namespace_binding(
    binding: &str,
    namespace: &str,
    role: &str,
    subject: &Subject<'_>,
) -> Arc<str> {
    Arc::from(format!(
        "RBAC: allowed by RoleBinding \"{binding}/{namespace}\" of ClusterRole \"{role}\" to {subject}"
    ))
}

/// The subject an RBAC decision names.
pub(crate) enum Subject<'a> {
    User(&'a str),
    Group(&'a str),
    ServiceAccount { namespace: &'a str, name: &'a str },
}

impl std::fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::User(name) => write!(f, "User \"{name}\""),
            Subject::Group(name) => write!(f, "Group \"{name}\""),
            Subject::ServiceAccount { namespace, name } => {
                write!(f, "ServiceAccount \"{name}/{namespace}\"")
            }
        }
    }
}

/// The reason the apiserver gives for allowing discovery to any authenticated client.
pub(crate) fn discovery_reason() -> Arc<str> {
    cluster_binding(
        "system:discovery",
        "system:discovery",
        &Subject::Group("system:authenticated"),
    )
}

/// The reason health and version endpoints are open to unauthenticated clients.
pub(crate) fn public_info_reason() -> Arc<str> {
    cluster_binding(
        "system:public-info-viewer",
        "system:public-info-viewer",
        &Subject::Group("system:unauthenticated"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_account_user_json() {
        let sa = Identity::service_account(
            "monitoring",
            "prometheus",
            "u-1",
            Some(("prometheus-0", "p-1")),
        );
        assert_eq!(
            sa.user.get(),
            r#"{"username":"system:serviceaccount:monitoring:prometheus","uid":"u-1","groups":["system:serviceaccounts","system:serviceaccounts:monitoring","system:authenticated"],"extra":{"authentication.kubernetes.io/pod-name":["prometheus-0"],"authentication.kubernetes.io/pod-uid":["p-1"]}}"#
        );
        assert_eq!(Identity::node("n1").node_name(), Some("n1"));
        let reason = namespace_binding(
            "developers-edit",
            "dev",
            "edit",
            &Subject::Group("oidc:developers"),
        );
        assert_eq!(
            &*reason,
            r#"RBAC: allowed by RoleBinding "developers-edit/dev" of ClusterRole "edit" to Group "oidc:developers""#
        );
    }
}
