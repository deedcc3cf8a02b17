//! Requests the lints put to a policy to see what it does with them: the security-relevant
//! ones that must not go unlogged, those whose bodies hold credentials, routine system traffic
//! that should not be logged with bodies, and the writes whose bodies the detection rules read.
//!
//! Each is sent as several senders (a person, a workload's service account; for system traffic
//! the components that send it) and in several namespaces, because a policy may treat them
//! differently; a lint names every one the policy lets down.

use std::borrow::Cow;

use super::evaluate::{Groups, RequestAttributes};

/// Who sends a request.
#[derive(Clone, Copy, Debug)]
pub struct Sender {
    /// In words, for messages: `a person`.
    pub who: &'static str,
    pub user: &'static str,
    pub groups: &'static [&'static str],
}

pub const PERSON: Sender = Sender {
    who: "a person",
    user: "jane@example.com",
    groups: &["system:authenticated"],
};

pub const WORKLOAD: Sender = Sender {
    who: "a workload's service account",
    user: "system:serviceaccount:default:app",
    groups: &[
        "system:serviceaccounts",
        "system:serviceaccounts:default",
        "system:authenticated",
    ],
};

pub const ANONYMOUS: Sender = Sender {
    who: "an anonymous client",
    user: "system:anonymous",
    groups: &["system:unauthenticated"],
};

pub const KUBELET: Sender = Sender {
    who: "a kubelet",
    user: "system:node:node-1",
    groups: &["system:nodes", "system:authenticated"],
};

pub const CONTROLLER_MANAGER: Sender = Sender {
    who: "kube-controller-manager",
    user: "system:kube-controller-manager",
    groups: &["system:authenticated"],
};

pub const SCHEDULER: Sender = Sender {
    who: "kube-scheduler",
    user: "system:kube-scheduler",
    groups: &["system:authenticated"],
};

pub const KUBE_PROXY: Sender = Sender {
    who: "kube-proxy",
    user: "system:serviceaccount:kube-system:kube-proxy",
    groups: &[
        "system:serviceaccounts",
        "system:serviceaccounts:kube-system",
        "system:authenticated",
    ],
};

pub const CONTROLLER: Sender = Sender {
    who: "a controller's service account",
    user: "system:serviceaccount:kube-system:endpointslice-controller",
    groups: &[
        "system:serviceaccounts",
        "system:serviceaccounts:kube-system",
        "system:authenticated",
    ],
};

/// One request to put to the policy.
#[derive(Clone, Copy, Debug)]
pub struct Probe {
    pub verb: &'static str,
    pub group: &'static str,
    /// `pods/exec`, or a path (starting with `/`) for a non-resource request.
    pub resource: &'static str,
    /// `""` for cluster-scoped resources; several namespaces are tried for the others.
    pub namespaced: bool,
}

impl Probe {
    pub const fn new(verb: &'static str, group: &'static str, resource: &'static str) -> Probe {
        Probe {
            verb,
            group,
            resource,
            namespaced: true,
        }
    }

    pub const fn cluster(verb: &'static str, group: &'static str, resource: &'static str) -> Probe {
        Probe {
            verb,
            group,
            resource,
            namespaced: false,
        }
    }

    /// `create pods/exec`, as messages name it.
    pub fn describe(&self) -> String {
        format!("{} {}", self.verb, self.resource)
    }

    /// The attributes of this request sent by `sender` in `namespace`.
    pub fn attributes(
        &self,
        sender: &Sender,
        namespace: &'static str,
    ) -> RequestAttributes<'static> {
        let non_resource = self.resource.starts_with('/');
        let (resource, subresource) = self.resource.split_once('/').unwrap_or((self.resource, ""));
        RequestAttributes {
            user: Some(sender.user),
            groups: Groups::Strs(sender.groups),
            verb: self.verb,
            resource_request: !non_resource,
            api_group: if non_resource { "" } else { self.group },
            resource: if non_resource { "" } else { resource },
            subresource: if non_resource { "" } else { subresource },
            namespace: if self.namespaced && !non_resource {
                namespace
            } else {
                ""
            },
            name: if self.verb == "create" && subresource.is_empty() {
                ""
            } else {
                "probe"
            },
            path: Cow::Borrowed(if non_resource { self.resource } else { "" }),
        }
    }
}

/// Namespaces tried for namespaced requests.
pub const NAMESPACES: [&str; 2] = ["default", "kube-system"];

/// A kind of security-relevant request that must be logged (at least at `Metadata`).
pub struct SecurityClass {
    /// In words: `exec into pods`.
    pub what: &'static str,
    pub probes: &'static [Probe],
    pub senders: &'static [Sender],
}

const PEOPLE_AND_WORKLOADS: &[Sender] = &[PERSON, WORKLOAD];

pub const SECURITY: &[SecurityClass] = &[
    SecurityClass {
        what: "exec into pods",
        probes: &[
            Probe::new("create", "", "pods/exec"),
            Probe::new("get", "", "pods/exec"),
        ],
        senders: PEOPLE_AND_WORKLOADS,
    },
    SecurityClass {
        what: "attaching to pods",
        probes: &[
            Probe::new("create", "", "pods/attach"),
            Probe::new("get", "", "pods/attach"),
        ],
        senders: PEOPLE_AND_WORKLOADS,
    },
    SecurityClass {
        what: "port-forwarding to pods",
        probes: &[
            Probe::new("create", "", "pods/portforward"),
            Probe::new("get", "", "pods/portforward"),
        ],
        senders: PEOPLE_AND_WORKLOADS,
    },
    SecurityClass {
        what: "RBAC changes",
        probes: &[
            Probe::new("create", "rbac.authorization.k8s.io", "rolebindings"),
            Probe::new("update", "rbac.authorization.k8s.io", "roles"),
            Probe::new("patch", "rbac.authorization.k8s.io", "rolebindings"),
            Probe::cluster("create", "rbac.authorization.k8s.io", "clusterrolebindings"),
            Probe::cluster("update", "rbac.authorization.k8s.io", "clusterroles"),
            Probe::cluster("patch", "rbac.authorization.k8s.io", "clusterroles"),
            Probe::cluster("delete", "rbac.authorization.k8s.io", "clusterrolebindings"),
        ],
        senders: PEOPLE_AND_WORKLOADS,
    },
    SecurityClass {
        what: "service account token requests",
        probes: &[Probe::new("create", "", "serviceaccounts/token")],
        senders: PEOPLE_AND_WORKLOADS,
    },
    SecurityClass {
        what: "requests sent while impersonating (the policy judges them by their sender)",
        probes: &[
            Probe::new("get", "", "secrets"),
            Probe::new("list", "", "secrets"),
            Probe::cluster("list", "", "nodes"),
        ],
        senders: &[PERSON],
    },
    SecurityClass {
        what: "certificate signing requests",
        probes: &[
            Probe::cluster(
                "create",
                "certificates.k8s.io",
                "certificatesigningrequests",
            ),
            Probe::cluster(
                "update",
                "certificates.k8s.io",
                "certificatesigningrequests/approval",
            ),
        ],
        senders: PEOPLE_AND_WORKLOADS,
    },
    SecurityClass {
        what: "reading secrets",
        probes: &[
            Probe::new("get", "", "secrets"),
            Probe::new("list", "", "secrets"),
            Probe::new("watch", "", "secrets"),
        ],
        senders: &[PERSON, WORKLOAD, ANONYMOUS],
    },
    SecurityClass {
        what: "the kubelet API through the node proxy",
        probes: &[
            Probe::cluster("get", "", "nodes/proxy"),
            Probe::cluster("create", "", "nodes/proxy"),
        ],
        senders: PEOPLE_AND_WORKLOADS,
    },
    SecurityClass {
        what: "ephemeral debug containers",
        probes: &[Probe::new("patch", "", "pods/ephemeralcontainers")],
        senders: PEOPLE_AND_WORKLOADS,
    },
    SecurityClass {
        what: "admission webhook changes",
        probes: &[
            Probe::cluster(
                "create",
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations",
            ),
            Probe::cluster(
                "delete",
                "admissionregistration.k8s.io",
                "validatingwebhookconfigurations",
            ),
        ],
        senders: PEOPLE_AND_WORKLOADS,
    },
];

/// Requests whose bodies hold credentials, with the level from which the log holds them.
pub struct SecretBodies {
    pub what: &'static str,
    /// Requests carrying the credential in the request body (from `Request`).
    pub in_request: &'static [Probe],
    /// Requests carrying it in the response body (from `RequestResponse`).
    pub in_response: &'static [Probe],
    /// An error when true; configuration maps are a warning.
    pub error: bool,
}

pub const SECRET_BODIES: &[SecretBodies] = &[
    SecretBodies {
        what: "secret values",
        in_request: &[
            Probe::new("create", "", "secrets"),
            Probe::new("update", "", "secrets"),
            Probe::new("patch", "", "secrets"),
        ],
        in_response: &[
            Probe::new("get", "", "secrets"),
            Probe::new("list", "", "secrets"),
        ],
        error: true,
    },
    SecretBodies {
        what: "bearer tokens (token reviews)",
        in_request: &[Probe::cluster(
            "create",
            "authentication.k8s.io",
            "tokenreviews",
        )],
        in_response: &[],
        error: true,
    },
    SecretBodies {
        what: "service account tokens",
        in_request: &[],
        in_response: &[Probe::new("create", "", "serviceaccounts/token")],
        error: true,
    },
    SecretBodies {
        what: "configuration maps, which often hold credentials",
        in_request: &[
            Probe::new("create", "", "configmaps"),
            Probe::new("update", "", "configmaps"),
            Probe::new("patch", "", "configmaps"),
        ],
        in_response: &[
            Probe::new("get", "", "configmaps"),
            Probe::new("list", "", "configmaps"),
        ],
        error: false,
    },
];

/// Routine traffic of the control plane and the nodes: logged with bodies, it fills the log.
pub const ROUTINE: &[(Sender, Probe, &str)] = &[
    (
        KUBELET,
        Probe::new("get", "coordination.k8s.io", "leases"),
        "kube-node-lease",
    ),
    (
        KUBELET,
        Probe::new("update", "coordination.k8s.io", "leases"),
        "kube-node-lease",
    ),
    (
        CONTROLLER_MANAGER,
        Probe::new("update", "coordination.k8s.io", "leases"),
        "kube-system",
    ),
    (
        SCHEDULER,
        Probe::new("get", "coordination.k8s.io", "leases"),
        "kube-system",
    ),
    (KUBELET, Probe::cluster("get", "", "nodes"), ""),
    (KUBELET, Probe::cluster("patch", "", "nodes/status"), ""),
    (KUBELET, Probe::new("watch", "", "pods"), "default"),
    (KUBELET, Probe::new("create", "", "events"), "default"),
    (SCHEDULER, Probe::new("watch", "", "pods"), "default"),
    (SCHEDULER, Probe::cluster("list", "", "nodes"), ""),
    (
        CONTROLLER_MANAGER,
        Probe::new("list", "", "pods"),
        "default",
    ),
    (
        KUBE_PROXY,
        Probe::new("watch", "discovery.k8s.io", "endpointslices"),
        "default",
    ),
    (
        CONTROLLER,
        Probe::new("update", "discovery.k8s.io", "endpointslices"),
        "default",
    ),
    (ANONYMOUS, Probe::cluster("get", "", "/healthz"), ""),
    (ANONYMOUS, Probe::cluster("get", "", "/livez"), ""),
    (ANONYMOUS, Probe::cluster("get", "", "/readyz"), ""),
    (KUBELET, Probe::cluster("get", "", "/api"), ""),
    (CONTROLLER, Probe::cluster("get", "", "/apis"), ""),
];

/// Reads by people whose responses (whole lists of objects) a catch-all at `RequestResponse`
/// would log.
pub const READ_RESPONSES: &[Probe] = &[
    Probe::new("list", "", "pods"),
    Probe::new("watch", "apps", "deployments"),
    Probe::cluster("list", "", "nodes"),
];
