//! Which requests are routine and low-value enough for a suggested policy to drop: the classes
//! (lease traffic, event and status writes, endpoint updates, health checks and discovery,
//! reads of resources that hold no secrets), who may send them (system components; for
//! discovery and reads, the control plane and the nodes only), and which resources are never
//! dropped whoever asks. `suggest.rs` then keeps the kinds seen often enough and never hit by a
//! detection rule.

use super::catalog::{self, is_probe_or_discovery};
use super::evaluate::url_path;
use crate::intern::Interner;
use crate::model::Event;

/// Why a routine request may be dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Routine {
    Leases,
    EventWrites,
    StatusWrites,
    EndpointWrites,
    Discovery,
    Reads,
}

impl Routine {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Routine::Leases => "lease renewals and reads (leader election, node heartbeats)",
            Routine::EventWrites => "events written by components",
            Routine::StatusWrites => "status updates by controllers and kubelets",
            Routine::EndpointWrites => "endpoint updates by their controllers",
            Routine::Discovery => "health checks and API discovery by the control plane",
            Routine::Reads => "reads by the control plane and the nodes",
        }
    }
}

/// Resources never dropped, whoever reads them.
fn sensitive(group: &str, resource: &str) -> bool {
    catalog::SECRET_BEARING
        .iter()
        .any(|(g, r, _)| *g == group && r.split('/').next() == Some(resource))
        || matches!(resource, "serviceaccounts" | "namespaces")
        || matches!(
            group,
            "rbac.authorization.k8s.io"
                | "certificates.k8s.io"
                | "admissionregistration.k8s.io"
                | "authentication.k8s.io"
                | "authorization.k8s.io"
                | "apiextensions.k8s.io"
                | "apiregistration.k8s.io"
        )
}

/// The control plane's own identities and the nodes', whose reads may be dropped.
fn control_plane(user: &str, node: bool) -> bool {
    node || user.starts_with("system:kube-")
        || user == "system:apiserver"
        || user.starts_with("system:serviceaccount:kube-system:")
}

/// The routine class of a request, if any.
pub(crate) fn routine(event: &Event, interner: &Interner, node: bool) -> Option<Routine> {
    let user = interner.resolve(event.user);
    if !catalog::is_system_component(user) {
        return None;
    }
    let verb = interner.resolve(event.verb);
    if event.non_resource {
        let path = url_path(interner.resolve(event.request_uri));
        return (verb == "get" && control_plane(user, node) && is_probe_or_discovery(&path))
            .then_some(Routine::Discovery);
    }
    let group = interner.resolve(event.api_group);
    let resource = interner.resolve(event.resource);
    let subresource = interner.resolve(event.subresource);
    let write = matches!(verb, "create" | "update" | "patch");
    if group == "coordination.k8s.io" && resource == "leases" && verb != "delete" {
        return Some(Routine::Leases);
    }
    if sensitive(group, resource) {
        return None;
    }
    if resource == "events" && matches!(group, "" | "events.k8s.io") && write {
        return Some(Routine::EventWrites);
    }
    if subresource == "status" && matches!(verb, "update" | "patch") {
        return Some(Routine::StatusWrites);
    }
    if matches!(resource, "endpoints" | "endpointslices") && (write || verb == "delete") {
        return Some(Routine::EndpointWrites);
    }
    if matches!(verb, "get" | "watch") && subresource.is_empty() && control_plane(user, node) {
        return Some(Routine::Reads);
    }
    None
}
