//! How sensitive an action is, whoever does it: reading secrets, exec into a pod, changing
//! RBAC, minting tokens, impersonating, changing admission webhooks, proxying to kubelets,
//! deleting the event trail, probing one's own permissions.
//!
//! The weight is what the action would add to a score if the identity had never done it; the
//! scorer scales it down by how routine the action is for the identity (a kubelet creates
//! service-account tokens all day), so the table states risk, not suspicion.

/// A sensitive action: how much it weighs and what to call it in an explanation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sensitivity {
    /// 0..1, the most the action adds to a score when it is new for the identity.
    pub weight: f32,
    /// Words for the explanation: "exec into a pod".
    pub what: &'static str,
}

const WRITE_VERBS: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];
const READ_VERBS: &[&str] = &["get", "list", "watch"];

fn is_write(verb: &str) -> bool {
    WRITE_VERBS.contains(&verb)
}

fn is_read(verb: &str) -> bool {
    READ_VERBS.contains(&verb)
}

/// The sensitivity of `verb` on `resource/subresource` in API group `group`, or `None` for
/// ordinary actions. `cluster_wide` is true when the request names no namespace.
pub fn classify(
    verb: &str,
    group: &str,
    resource: &str,
    subresource: &str,
    cluster_wide: bool,
) -> Option<Sensitivity> {
    let s = |weight: f32, what: &'static str| Some(Sensitivity { weight, what });
    match (group, resource, subresource) {
        ("", "pods", "exec") => s(0.55, "exec into a pod"),
        ("", "pods", "attach") => s(0.55, "attach to a pod"),
        ("", "pods", "portforward") => s(0.5, "port-forward to a pod"),
        ("", "pods", "ephemeralcontainers") if is_write(verb) => {
            s(0.5, "add an ephemeral container")
        }
        ("", "nodes", "proxy") => s(0.55, "proxy to a kubelet"),
        ("", "services", "proxy") | ("", "pods", "proxy") => s(0.3, "proxy to a workload"),
        ("", "serviceaccounts", "token") => s(0.45, "request a service-account token"),
        ("", "secrets", "") if is_read(verb) && cluster_wide => {
            s(0.5, "read secrets across all namespaces")
        }
        ("", "secrets", "") if is_read(verb) => s(0.35, "read secrets"),
        ("", "secrets", "") if is_write(verb) => s(0.3, "change secrets"),
        ("", "events", "") | ("events.k8s.io", "events", "")
            if verb == "delete" || verb == "deletecollection" =>
        {
            s(0.5, "delete events")
        }
        ("rbac.authorization.k8s.io", "clusterrolebindings", "") if is_write(verb) => {
            s(0.6, "change cluster role bindings")
        }
        ("rbac.authorization.k8s.io", "clusterroles", "") if is_write(verb) => {
            s(0.5, "change cluster roles")
        }
        ("rbac.authorization.k8s.io", "rolebindings" | "roles", "") if is_write(verb) => {
            s(0.45, "change RBAC roles or bindings")
        }
        ("rbac.authorization.k8s.io", _, _) if verb == "bind" || verb == "escalate" => {
            s(0.6, "bind or escalate RBAC roles")
        }
        (_, "users" | "groups" | "serviceaccounts" | "userextras", _) if verb == "impersonate" => {
            s(0.55, "impersonate")
        }
        ("admissionregistration.k8s.io", _, "") if is_write(verb) => {
            s(0.55, "change admission webhooks or policies")
        }
        ("certificates.k8s.io", "certificatesigningrequests", "approval") => {
            s(0.55, "approve a certificate signing request")
        }
        ("certificates.k8s.io", "certificatesigningrequests", "") if verb == "create" => {
            s(0.3, "create a certificate signing request")
        }
        ("authorization.k8s.io", "selfsubjectrulesreviews", "") => {
            s(0.3, "enumerate its own permissions")
        }
        ("authorization.k8s.io", "selfsubjectaccessreviews", "") => {
            s(0.25, "probe its own permissions")
        }
        ("", "namespaces", "") if verb == "delete" => s(0.35, "delete a namespace"),
        ("", "nodes", "") if verb == "delete" => s(0.3, "delete a node"),
        ("", "configmaps", "") if is_read(verb) && cluster_wide => {
            s(0.25, "read config maps across all namespaces")
        }
        _ => None,
    }
}

/// Usernames and groups whose impersonation is a privilege escalation.
pub fn privileged_identity(user: &str, groups: &[&str]) -> bool {
    groups.contains(&"system:masters")
        || matches!(
            user,
            "system:admin" | "kubernetes-admin" | "cluster-admin" | "admin"
        )
        || user.starts_with("system:serviceaccount:kube-system:")
        || user.starts_with("system:kube-")
        || user.starts_with("system:node:")
}

/// Paths an anonymous client is normally allowed to read (health and version probes).
pub fn public_path(path: &str) -> bool {
    matches!(
        path,
        "/healthz"
            | "/livez"
            | "/readyz"
            | "/version"
            | "/version/"
            | "/.well-known/openid-configuration"
            | "/openid/v1/jwks"
    ) || path.starts_with("/healthz/")
        || path.starts_with("/livez/")
        || path.starts_with("/readyz/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        assert_eq!(
            classify("create", "", "pods", "exec", false).unwrap().what,
            "exec into a pod"
        );
        assert!(classify("get", "", "pods", "", false).is_none());
        let wide = classify("list", "", "secrets", "", true).unwrap();
        let one = classify("get", "", "secrets", "", false).unwrap();
        assert!(wide.weight > one.weight);
        assert!(classify(
            "create",
            "rbac.authorization.k8s.io",
            "clusterrolebindings",
            "",
            true
        )
        .is_some());
        assert!(classify(
            "get",
            "rbac.authorization.k8s.io",
            "clusterrolebindings",
            "",
            true
        )
        .is_none());
        assert!(classify("deletecollection", "", "events", "", false).is_some());
        assert!(privileged_identity("bob", &["system:masters"]));
        assert!(!privileged_identity("bob", &["oidc:dev"]));
        assert!(public_path("/readyz/etcd") && !public_path("/api/v1/secrets"));
    }
}
