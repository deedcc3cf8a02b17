//! The API surface the simulated cluster serves: resources with their groups and versions,
//! and the release strings that end up in user agents.

use std::fmt;
use std::sync::Arc;

/// One API resource as `objectRef` and `requestURI` name it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Resource {
    /// Plural lower-case name: `deployments`.
    pub plural: &'static str,
    /// API group, empty for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub namespaced: bool,
}

impl Resource {
    /// `deployments.apps`, or `pods` for the core group: the form error messages use.
    pub(crate) fn qualified(&self) -> Qualified<'_> {
        Qualified(self)
    }

    /// The URI prefix up to the version: `/api/v1` or `/apis/apps/v1`.
    pub(crate) fn api_prefix(&self) -> ApiPrefix<'_> {
        ApiPrefix(self)
    }
}

pub(crate) struct Qualified<'a>(&'a Resource);

impl fmt::Display for Qualified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.plural)?;
        if !self.0.group.is_empty() {
            f.write_str(".")?;
            f.write_str(self.0.group)?;
        }
        Ok(())
    }
}

pub(crate) struct ApiPrefix<'a>(&'a Resource);

impl fmt::Display for ApiPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.group.is_empty() {
            write!(f, "/api/{}", self.0.version)
        } else {
            write!(f, "/apis/{}/{}", self.0.group, self.0.version)
        }
    }
}

macro_rules! resources {
    ($($ident:ident = $plural:literal, $group:literal, $version:literal, $namespaced:literal;)*) => {
        $(pub(crate) static $ident: Resource = Resource {
            plural: $plural,
            group: $group,
            version: $version,
            namespaced: $namespaced,
        };)*
    };
}

resources! {
    PODS = "pods", "", "v1", true;
    SERVICES = "services", "", "v1", true;
    ENDPOINTS = "endpoints", "", "v1", true;
    CONFIGMAPS = "configmaps", "", "v1", true;
    SECRETS = "secrets", "", "v1", true;
    SERVICEACCOUNTS = "serviceaccounts", "", "v1", true;
    EVENTS = "events", "", "v1", true;
    PVCS = "persistentvolumeclaims", "", "v1", true;
    RESOURCEQUOTAS = "resourcequotas", "", "v1", true;
    NODES = "nodes", "", "v1", false;
    NAMESPACES = "namespaces", "", "v1", false;
    PVS = "persistentvolumes", "", "v1", false;
    DEPLOYMENTS = "deployments", "apps", "v1", true;
    REPLICASETS = "replicasets", "apps", "v1", true;
    STATEFULSETS = "statefulsets", "apps", "v1", true;
    DAEMONSETS = "daemonsets", "apps", "v1", true;
    JOBS = "jobs", "batch", "v1", true;
    CRONJOBS = "cronjobs", "batch", "v1", true;
    LEASES = "leases", "coordination.k8s.io", "v1", true;
    ENDPOINTSLICES = "endpointslices", "discovery.k8s.io", "v1", true;
    CORE_EVENTS_V1 = "events", "events.k8s.io", "v1", true;
    INGRESSES = "ingresses", "networking.k8s.io", "v1", true;
    INGRESSCLASSES = "ingressclasses", "networking.k8s.io", "v1", false;
    HPAS = "horizontalpodautoscalers", "autoscaling", "v2", true;
    PDBS = "poddisruptionbudgets", "policy", "v1", true;
    ROLES = "roles", "rbac.authorization.k8s.io", "v1", true;
    ROLEBINDINGS = "rolebindings", "rbac.authorization.k8s.io", "v1", true;
    CLUSTERROLES = "clusterroles", "rbac.authorization.k8s.io", "v1", false;
    CLUSTERROLEBINDINGS = "clusterrolebindings", "rbac.authorization.k8s.io", "v1", false;
    SELF_SUBJECT_ACCESS_REVIEWS = "selfsubjectaccessreviews", "authorization.k8s.io", "v1", false;
    SELF_SUBJECT_RULES_REVIEWS = "selfsubjectrulesreviews", "authorization.k8s.io", "v1", false;
    CSRS = "certificatesigningrequests", "certificates.k8s.io", "v1", false;
    STORAGECLASSES = "storageclasses", "storage.k8s.io", "v1", false;
    CSIDRIVERS = "csidrivers", "storage.k8s.io", "v1", false;
    CSINODES = "csinodes", "storage.k8s.io", "v1", false;
    RUNTIMECLASSES = "runtimeclasses", "node.k8s.io", "v1", false;
    PRIORITYCLASSES = "priorityclasses", "scheduling.k8s.io", "v1", false;
    VALIDATING_WEBHOOKS = "validatingwebhookconfigurations", "admissionregistration.k8s.io", "v1", false;
    POD_METRICS = "pods", "metrics.k8s.io", "v1beta1", true;
    CERTIFICATES = "certificates", "cert-manager.io", "v1", true;
    CERTIFICATE_REQUESTS = "certificaterequests", "cert-manager.io", "v1", true;
    ARGO_APPLICATIONS = "applications", "argoproj.io", "v1alpha1", true;
}

/// A Kubernetes release as a client's user agent shows it: version and abbreviated commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Release {
    pub version: &'static str,
    pub commit: &'static str,
}

/// The cluster's control plane and kubelets before the upgrade.
pub(crate) const CLUSTER_RELEASE: Release = Release {
    version: "v1.29.4",
    commit: "55019c8",
};
/// The release the kubelet fleet moves to in the `fleet-upgrade` scenario.
pub(crate) const UPGRADE_RELEASE: Release = Release {
    version: "v1.30.1",
    commit: "6911225",
};
/// kubectl builds seen on people's laptops and CI runners.
pub(crate) const KUBECTL_1_29_3: Release = Release {
    version: "v1.29.3",
    commit: "6813625",
};
pub(crate) const KUBECTL_1_29_2: Release = Release {
    version: "v1.29.2",
    commit: "4b8e819",
};
pub(crate) const KUBECTL_1_28_4: Release = Release {
    version: "v1.28.4",
    commit: "bae2c62",
};
pub(crate) const KUBECTL_1_28_2: Release = Release {
    version: "v1.28.2",
    commit: "89a4ea3",
};
pub(crate) const KUBECTL_1_30_0: Release = Release {
    version: "v1.30.0",
    commit: "7c48c2b",
};

/// `component/v1.29.4 (os/arch) kubernetes/55019c8` followed by `suffix` (which, when not
/// empty, starts with `/`), the user agent client-go builds from its binary name.
pub(crate) fn client_go_agent(
    component: &str,
    release: Release,
    platform: &str,
    suffix: &str,
) -> Arc<str> {
    Arc::from(format!(
        "{component}/{} ({platform}) kubernetes/{}{suffix}",
        release.version, release.commit
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_prefixes() {
        assert_eq!(DEPLOYMENTS.qualified().to_string(), "deployments.apps");
        assert_eq!(PODS.qualified().to_string(), "pods");
        assert_eq!(
            LEASES.api_prefix().to_string(),
            "/apis/coordination.k8s.io/v1"
        );
        assert_eq!(SECRETS.api_prefix().to_string(), "/api/v1");
        assert_eq!(
            &*client_go_agent("kubelet", CLUSTER_RELEASE, "linux/amd64", ""),
            "kubelet/v1.29.4 (linux/amd64) kubernetes/55019c8"
        );
    }
}
