//! What the lints and the suggested policy know about Kubernetes itself: the built-in API
//! groups and the resources each serves (Kubernetes 1.30-1.33), which resources carry secrets
//! in their bodies, and which identities are the control plane's own.
//!
//! A group not listed here (a CRD's, an aggregated API's) is never judged: nothing is claimed
//! about resources this table does not know.

/// Each built-in group and its resources, with subresources as `resource/sub`.
pub const BUILTIN: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "bindings",
            "componentstatuses",
            "configmaps",
            "endpoints",
            "events",
            "limitranges",
            "namespaces",
            "namespaces/finalize",
            "namespaces/status",
            "nodes",
            "nodes/proxy",
            "nodes/status",
            "persistentvolumeclaims",
            "persistentvolumeclaims/status",
            "persistentvolumes",
            "persistentvolumes/status",
            "pods",
            "pods/attach",
            "pods/binding",
            "pods/ephemeralcontainers",
            "pods/eviction",
            "pods/exec",
            "pods/log",
            "pods/portforward",
            "pods/proxy",
            "pods/resize",
            "pods/status",
            "podtemplates",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "replicationcontrollers/status",
            "resourcequotas",
            "resourcequotas/status",
            "secrets",
            "serviceaccounts",
            "serviceaccounts/token",
            "services",
            "services/proxy",
            "services/status",
        ],
    ),
    (
        "admissionregistration.k8s.io",
        &[
            "mutatingadmissionpolicies",
            "mutatingadmissionpolicybindings",
            "mutatingwebhookconfigurations",
            "validatingadmissionpolicies",
            "validatingadmissionpolicies/status",
            "validatingadmissionpolicybindings",
            "validatingwebhookconfigurations",
        ],
    ),
    (
        "apiextensions.k8s.io",
        &[
            "customresourcedefinitions",
            "customresourcedefinitions/status",
        ],
    ),
    (
        "apiregistration.k8s.io",
        &["apiservices", "apiservices/status"],
    ),
    (
        "apps",
        &[
            "controllerrevisions",
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "statefulsets",
            "statefulsets/scale",
            "statefulsets/status",
        ],
    ),
    (
        "authentication.k8s.io",
        &["selfsubjectreviews", "tokenreviews"],
    ),
    (
        "authorization.k8s.io",
        &[
            "localsubjectaccessreviews",
            "selfsubjectaccessreviews",
            "selfsubjectrulesreviews",
            "subjectaccessreviews",
        ],
    ),
    (
        "autoscaling",
        &[
            "horizontalpodautoscalers",
            "horizontalpodautoscalers/status",
        ],
    ),
    (
        "batch",
        &["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
    ),
    (
        "certificates.k8s.io",
        &[
            "certificatesigningrequests",
            "certificatesigningrequests/approval",
            "certificatesigningrequests/status",
            "clustertrustbundles",
        ],
    ),
    ("coordination.k8s.io", &["leasecandidates", "leases"]),
    ("discovery.k8s.io", &["endpointslices"]),
    ("events.k8s.io", &["events"]),
    (
        "flowcontrol.apiserver.k8s.io",
        &[
            "flowschemas",
            "flowschemas/status",
            "prioritylevelconfigurations",
            "prioritylevelconfigurations/status",
        ],
    ),
    (
        "internal.apiserver.k8s.io",
        &["storageversions", "storageversions/status"],
    ),
    (
        "networking.k8s.io",
        &[
            "ingressclasses",
            "ingresses",
            "ingresses/status",
            "ipaddresses",
            "networkpolicies",
            "servicecidrs",
            "servicecidrs/status",
        ],
    ),
    ("node.k8s.io", &["runtimeclasses"]),
    (
        "policy",
        &["poddisruptionbudgets", "poddisruptionbudgets/status"],
    ),
    (
        "rbac.authorization.k8s.io",
        &[
            "clusterrolebindings",
            "clusterroles",
            "rolebindings",
            "roles",
        ],
    ),
    (
        "resource.k8s.io",
        &[
            "deviceclasses",
            "resourceclaims",
            "resourceclaims/status",
            "resourceclaimtemplates",
            "resourceslices",
        ],
    ),
    ("scheduling.k8s.io", &["priorityclasses"]),
    (
        "storage.k8s.io",
        &[
            "csidrivers",
            "csinodes",
            "csistoragecapacities",
            "storageclasses",
            "volumeattachments",
            "volumeattachments/status",
            "volumeattributesclasses",
        ],
    ),
    (
        "storagemigration.k8s.io",
        &[
            "storageversionmigrations",
            "storageversionmigrations/status",
        ],
    ),
];

/// Built-in resources that belong to no namespace.
pub const CLUSTER_SCOPED: &[&str] = &[
    "apiservices",
    "certificatesigningrequests",
    "clusterrolebindings",
    "clusterroles",
    "clustertrustbundles",
    "componentstatuses",
    "csidrivers",
    "csinodes",
    "customresourcedefinitions",
    "deviceclasses",
    "flowschemas",
    "ingressclasses",
    "ipaddresses",
    "mutatingadmissionpolicies",
    "mutatingadmissionpolicybindings",
    "mutatingwebhookconfigurations",
    "namespaces",
    "nodes",
    "persistentvolumes",
    "priorityclasses",
    "prioritylevelconfigurations",
    "resourceslices",
    "runtimeclasses",
    "selfsubjectaccessreviews",
    "selfsubjectreviews",
    "selfsubjectrulesreviews",
    "servicecidrs",
    "storageclasses",
    "storageversionmigrations",
    "storageversions",
    "subjectaccessreviews",
    "tokenreviews",
    "validatingadmissionpolicies",
    "validatingadmissionpolicybindings",
    "validatingwebhookconfigurations",
    "volumeattachments",
    "volumeattributesclasses",
];

/// Groups that no longer serve what they once did, with the group that does now.
pub const RETIRED: &[(&str, &str, &str)] = &[
    ("extensions", "deployments", "apps"),
    ("extensions", "daemonsets", "apps"),
    ("extensions", "replicasets", "apps"),
    ("extensions", "ingresses", "networking.k8s.io"),
    ("extensions", "networkpolicies", "networking.k8s.io"),
    ("extensions", "podsecuritypolicies", "policy"),
];

/// The resources of a built-in group; `None` for a group this table does not know.
pub fn group_resources(group: &str) -> Option<&'static [&'static str]> {
    BUILTIN
        .iter()
        .find(|(g, _)| *g == group)
        .map(|(_, resources)| *resources)
}

/// The built-in groups that serve `resource` (a plain resource or `resource/sub`).
pub fn groups_of(resource: &str) -> Vec<&'static str> {
    BUILTIN
        .iter()
        .filter(|(_, resources)| resources.contains(&resource))
        .map(|(g, _)| *g)
        .collect()
}

/// Requests whose bodies hold credentials: logged at `Request` or above, the log holds them.
pub const SECRET_BEARING: &[(&str, &str, &str)] = &[
    ("", "secrets", "secret values"),
    ("", "serviceaccounts/token", "service account tokens"),
    ("authentication.k8s.io", "tokenreviews", "bearer tokens"),
    (
        "",
        "configmaps",
        "configuration, which often holds credentials",
    ),
];

/// True for the users of the control plane's own components and node agents, whose routine
/// traffic a policy may quiet (never `system:anonymous`, never a person).
pub fn is_system_component(user: &str) -> bool {
    user.starts_with("system:")
        && !user.starts_with("system:anonymous")
        && !user.starts_with("system:unauthenticated")
        && !user.starts_with("system:bootstrap:")
}

/// Non-resource paths of health checks and API discovery.
pub fn is_probe_or_discovery(path: &str) -> bool {
    ["/healthz", "/livez", "/readyz"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
        || path == "/version"
        || path == "/api"
        || path == "/apis"
        || path.starts_with("/api/")
        || path.starts_with("/apis/")
        || path.starts_with("/openapi/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_consistent() {
        for (group, resources) in BUILTIN {
            assert!(
                resources.windows(2).all(|w| w[0] < w[1]),
                "{group}: resources out of order"
            );
            for resource in *resources {
                if let Some((base, _)) = resource.split_once('/') {
                    assert!(
                        resources.contains(&base),
                        "{group}: {resource} without {base}"
                    );
                }
            }
        }
        assert_eq!(groups_of("deployments"), ["apps"]);
        assert_eq!(groups_of("events"), ["", "events.k8s.io"]);
        assert!(group_resources("example.com").is_none());
        assert!(is_system_component("system:node:n1"));
        assert!(!is_system_component("system:anonymous"));
        assert!(!is_system_component("alice"));
    }
}
