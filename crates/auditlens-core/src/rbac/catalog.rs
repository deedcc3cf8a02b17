//! The built-in resources of the Kubernetes API (v1.30): which exist, whether they live in a
//! namespace, and which verbs they serve. The comparison with granted RBAC counts permissions
//! against this catalog (plus any resource the logs or the granted rules name), so that a
//! wildcard (`*` verbs on `*` resources) counts as everything it reaches, not as one entry.

/// The usual verbs of a resource collection.
pub const CRUD: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];
const READ: &[&str] = &["get", "list", "watch"];
const STATUS: &[&str] = &["get", "update", "patch"];
const CREATE: &[&str] = &["create"];
const CONNECT: &[&str] = &["get", "create"];
const PROXY: &[&str] = &["get", "create", "update", "patch", "delete"];
const LOG: &[&str] = &["get"];
const ROLES: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "bind",
    "escalate",
];
const IMPERSONATE: &[&str] = &["impersonate"];
const SERVICE_ACCOUNTS: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "impersonate",
];
const SIGNERS: &[&str] = &["approve", "sign", "attest"];

/// One resource (or `resource/subresource`) of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub group: &'static str,
    pub resource: &'static str,
    pub namespaced: bool,
    pub verbs: &'static [&'static str],
}

const fn ns(group: &'static str, resource: &'static str, verbs: &'static [&'static str]) -> Entry {
    Entry {
        group,
        resource,
        namespaced: true,
        verbs,
    }
}

const fn cluster(
    group: &'static str,
    resource: &'static str,
    verbs: &'static [&'static str],
) -> Entry {
    Entry {
        group,
        resource,
        namespaced: false,
        verbs,
    }
}

/// The built-in resources and subresources.
pub const BUILT_IN: &[Entry] = &[
    ns("", "bindings", CREATE),
    ns("", "configmaps", CRUD),
    ns("", "endpoints", CRUD),
    ns("", "events", CRUD),
    ns("", "limitranges", CRUD),
    ns("", "persistentvolumeclaims", CRUD),
    ns("", "persistentvolumeclaims/status", STATUS),
    ns("", "pods", CRUD),
    ns("", "pods/attach", CONNECT),
    ns("", "pods/binding", CREATE),
    ns("", "pods/ephemeralcontainers", STATUS),
    ns("", "pods/eviction", CREATE),
    ns("", "pods/exec", CONNECT),
    ns("", "pods/log", LOG),
    ns("", "pods/portforward", CONNECT),
    ns("", "pods/proxy", PROXY),
    ns("", "pods/resize", STATUS),
    ns("", "pods/status", STATUS),
    ns("", "podtemplates", CRUD),
    ns("", "replicationcontrollers", CRUD),
    ns("", "replicationcontrollers/scale", STATUS),
    ns("", "replicationcontrollers/status", STATUS),
    ns("", "resourcequotas", CRUD),
    ns("", "resourcequotas/status", STATUS),
    ns("", "secrets", CRUD),
    ns("", "serviceaccounts", SERVICE_ACCOUNTS),
    ns("", "serviceaccounts/token", CREATE),
    ns("", "services", CRUD),
    ns("", "services/proxy", PROXY),
    ns("", "services/status", STATUS),
    cluster("", "componentstatuses", &["get", "list"]),
    cluster("", "namespaces", CRUD),
    cluster("", "namespaces/finalize", &["update"]),
    cluster("", "namespaces/status", STATUS),
    cluster("", "nodes", CRUD),
    cluster("", "nodes/proxy", PROXY),
    cluster("", "nodes/status", STATUS),
    cluster("", "persistentvolumes", CRUD),
    cluster("", "persistentvolumes/status", STATUS),
    // What impersonation is checked against.
    cluster("", "users", IMPERSONATE),
    cluster("", "groups", IMPERSONATE),
    cluster("authentication.k8s.io", "uids", IMPERSONATE),
    cluster("authentication.k8s.io", "userextras", IMPERSONATE),
    cluster("authentication.k8s.io", "tokenreviews", CREATE),
    cluster("authentication.k8s.io", "selfsubjectreviews", CREATE),
    ns("authorization.k8s.io", "localsubjectaccessreviews", CREATE),
    cluster("authorization.k8s.io", "selfsubjectaccessreviews", CREATE),
    cluster("authorization.k8s.io", "selfsubjectrulesreviews", CREATE),
    cluster("authorization.k8s.io", "subjectaccessreviews", CREATE),
    cluster(
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
        CRUD,
    ),
    cluster(
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
        CRUD,
    ),
    cluster(
        "admissionregistration.k8s.io",
        "validatingadmissionpolicies",
        CRUD,
    ),
    cluster(
        "admissionregistration.k8s.io",
        "validatingadmissionpolicies/status",
        STATUS,
    ),
    cluster(
        "admissionregistration.k8s.io",
        "validatingadmissionpolicybindings",
        CRUD,
    ),
    cluster("apiextensions.k8s.io", "customresourcedefinitions", CRUD),
    cluster(
        "apiextensions.k8s.io",
        "customresourcedefinitions/status",
        STATUS,
    ),
    cluster("apiregistration.k8s.io", "apiservices", CRUD),
    cluster("apiregistration.k8s.io", "apiservices/status", STATUS),
    ns("apps", "controllerrevisions", CRUD),
    ns("apps", "daemonsets", CRUD),
    ns("apps", "daemonsets/status", STATUS),
    ns("apps", "deployments", CRUD),
    ns("apps", "deployments/scale", STATUS),
    ns("apps", "deployments/status", STATUS),
    ns("apps", "replicasets", CRUD),
    ns("apps", "replicasets/scale", STATUS),
    ns("apps", "replicasets/status", STATUS),
    ns("apps", "statefulsets", CRUD),
    ns("apps", "statefulsets/scale", STATUS),
    ns("apps", "statefulsets/status", STATUS),
    ns("autoscaling", "horizontalpodautoscalers", CRUD),
    ns("autoscaling", "horizontalpodautoscalers/status", STATUS),
    ns("batch", "cronjobs", CRUD),
    ns("batch", "cronjobs/status", STATUS),
    ns("batch", "jobs", CRUD),
    ns("batch", "jobs/status", STATUS),
    cluster("certificates.k8s.io", "certificatesigningrequests", CRUD),
    cluster(
        "certificates.k8s.io",
        "certificatesigningrequests/approval",
        STATUS,
    ),
    cluster(
        "certificates.k8s.io",
        "certificatesigningrequests/status",
        STATUS,
    ),
    cluster("certificates.k8s.io", "signers", SIGNERS),
    ns("coordination.k8s.io", "leases", CRUD),
    ns("discovery.k8s.io", "endpointslices", CRUD),
    ns("events.k8s.io", "events", CRUD),
    cluster("flowcontrol.apiserver.k8s.io", "flowschemas", CRUD),
    cluster("flowcontrol.apiserver.k8s.io", "flowschemas/status", STATUS),
    cluster(
        "flowcontrol.apiserver.k8s.io",
        "prioritylevelconfigurations",
        CRUD,
    ),
    cluster(
        "flowcontrol.apiserver.k8s.io",
        "prioritylevelconfigurations/status",
        STATUS,
    ),
    ns("metrics.k8s.io", "pods", READ),
    cluster("metrics.k8s.io", "nodes", READ),
    cluster("networking.k8s.io", "ingressclasses", CRUD),
    ns("networking.k8s.io", "ingresses", CRUD),
    ns("networking.k8s.io", "ingresses/status", STATUS),
    ns("networking.k8s.io", "networkpolicies", CRUD),
    cluster("node.k8s.io", "runtimeclasses", CRUD),
    ns("policy", "poddisruptionbudgets", CRUD),
    ns("policy", "poddisruptionbudgets/status", STATUS),
    cluster("rbac.authorization.k8s.io", "clusterrolebindings", CRUD),
    cluster("rbac.authorization.k8s.io", "clusterroles", ROLES),
    ns("rbac.authorization.k8s.io", "rolebindings", CRUD),
    ns("rbac.authorization.k8s.io", "roles", ROLES),
    cluster("scheduling.k8s.io", "priorityclasses", CRUD),
    ns("storage.k8s.io", "csistoragecapacities", CRUD),
    cluster("storage.k8s.io", "csidrivers", CRUD),
    cluster("storage.k8s.io", "csinodes", CRUD),
    cluster("storage.k8s.io", "storageclasses", CRUD),
    cluster("storage.k8s.io", "volumeattachments", CRUD),
    cluster("storage.k8s.io", "volumeattachments/status", STATUS),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_listed_once_per_scope() {
        let mut seen = std::collections::BTreeSet::new();
        for e in BUILT_IN {
            assert!(
                seen.insert((e.group, e.resource, e.namespaced)),
                "{} {} twice",
                e.group,
                e.resource
            );
            assert!(!e.verbs.is_empty());
        }
    }
}
