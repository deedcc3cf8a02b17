//! The audit policy of the simulated cluster.
//!
//! It decides, per request, the level (how much of the request is recorded) and whether the
//! `RequestReceived` stage is written besides `ResponseComplete`. It follows the shape of the
//! policies that production clusters ship: bodies of secrets, config maps and token reviews are
//! never recorded, reads are recorded as metadata, writes with their request body, RBAC changes
//! with the response too; high-volume heartbeat traffic (leases, node status, probes, events)
//! omits `RequestReceived`, so with [`crate::SimConfig::stages`] on only part of the requests
//! get two lines, as with a real apiserver.

use crate::event::{Level, Request, Target};

/// Sets `request.level` and `request.two_stage`.
pub(crate) fn apply(request: &mut Request, stages_enabled: bool) {
    request.level = level(request);
    request.two_stage = stages_enabled && !omits_request_received(request);
}

fn level(request: &Request) -> Level {
    let Target::Resource {
        resource,
        subresource,
        ..
    } = &request.target
    else {
        return Level::Metadata;
    };
    if matches!(
        resource.plural,
        "secrets" | "configmaps" | "tokenreviews" | "leases" | "events"
    ) {
        return Level::Metadata;
    }
    match (resource.plural, *subresource) {
        ("pods", Some("exec" | "attach" | "portforward" | "log" | "proxy" | "status")) => {
            return Level::Metadata
        }
        ("nodes", Some("status")) => return Level::Metadata,
        (_, Some("status")) => return Level::Metadata,
        ("endpoints" | "endpointslices", _) => return Level::Metadata,
        _ => {}
    }
    if !request.is_write() {
        return Level::Metadata;
    }
    if resource.group == "rbac.authorization.k8s.io" {
        Level::RequestResponse
    } else {
        Level::Request
    }
}

fn omits_request_received(request: &Request) -> bool {
    match &request.target {
        Target::Path(path) => matches!(
            path.as_ref(),
            "/healthz" | "/livez" | "/readyz" | "/metrics"
        ),
        Target::Resource {
            resource,
            subresource,
            ..
        } => {
            matches!(resource.plural, "leases" | "events")
                || (resource.plural == "nodes" && request.identity.node_name().is_some())
                || (resource.plural == "pods" && *subresource == Some("status"))
        }
    }
}
