//! Where requests come from: system identities acting from the internet, and requests that
//! match the user's own indicator lists.
//!
//! Nodes, control-plane components and the providers' system users talk to the API server from
//! inside the cluster's network or from their cloud provider's own addresses. One of their
//! credentials used from any other public address has most likely been stolen. The providers'
//! published ranges ship with the core as a dated snapshot ([`crate::net`]), so the judgement
//! is made offline; `[trusted] networks` adds the site's own.

use super::context::{is_control_plane, Ctx};
use super::{meta, EventRule, RuleKind::Security};
use crate::model::Level::Metadata;
use crate::net::{cloud_provider_of, cloud_ranges_taken, is_global, parse_ip};
use crate::report::Severity::High;

const FAMILY: &str = "network";

pub static RULES: &[EventRule] = &[
    EventRule {
        meta: meta(
            "k8s.network.system_identity_public_ip",
            "System identity acting from a public address",
            "A node, a control-plane component or another `system:` identity made a request \
             from a public IP address outside the cloud providers' published ranges (AWS, \
             Google Cloud, Azure; a dated snapshot ships with auditlens) and outside the site's \
             `trusted.networks`: its credentials are most likely used by someone else.",
            FAMILY,
            Security,
            High,
            &["T1078", "T1528"],
            Metadata,
        ),
        resources: &[],
        check: system_identity_public_ip,
    },
    EventRule {
        meta: meta(
            "k8s.network.indicator",
            "Request matching an indicator list",
            "A request came from an address, or with a user agent, on one of the site's \
             indicator lists (`[[indicators]]`: an exported Tor exit list, known scanners); the \
             finding names the list. Runs only when lists are configured.",
            FAMILY,
            Security,
            High,
            &["T1090", "T1595"],
            Metadata,
        ),
        resources: &[],
        check: indicator,
    },
];

/// Identities that belong to the cluster's machinery rather than to people or workloads:
/// `system:` users (nodes, components, bootstrap tokens) but not the anonymous user, service
/// accounts of the control plane's namespaces but not those of workloads, and the managed
/// providers' system users.
fn system_identity(user: &str) -> bool {
    if is_control_plane(user) {
        return true;
    }
    user.starts_with("system:")
        && !user.starts_with("system:serviceaccount:")
        && user != "system:anonymous"
}

fn system_identity_public_ip(ctx: &Ctx<'_>) -> Option<String> {
    if !system_identity(ctx.user) {
        return None;
    }
    let trusted = &ctx.config.trusted.networks;
    let ip = ctx
        .source_ips()
        .filter_map(parse_ip)
        .find(|&ip| is_global(ip) && !trusted.contains(ip) && cloud_provider_of(ip).is_none())?;
    Some(format!(
        "{} acted from {ip}, a public address outside the AWS, Google Cloud and Azure ranges \
         (published as of {}) and the trusted networks: {} {}{}",
        ctx.user,
        cloud_ranges_taken(),
        ctx.verb,
        ctx.resource_or_uri(),
        outcome(ctx)
    ))
}

fn indicator(ctx: &Ctx<'_>) -> Option<String> {
    for list in &ctx.config.indicators {
        let from = ctx
            .source_ips()
            .filter_map(parse_ip)
            .find(|&ip| list.networks.contains(ip));
        let what = match (from, list.user_agent_match(ctx.user_agent)) {
            (Some(ip), _) => format!("from {ip}"),
            (None, Some(pattern)) => {
                format!("with user agent {:?} (matches {pattern:?})", ctx.user_agent)
            }
            (None, None) => continue,
        };
        return Some(format!(
            "request {what}, on the indicator list {:?}: {} {} {}{}",
            list.name,
            if ctx.user.is_empty() {
                "(no user)"
            } else {
                ctx.user
            },
            ctx.verb,
            ctx.resource_or_uri(),
            outcome(ctx)
        ));
    }
    None
}

/// How the request ended, when it is known and not a success.
fn outcome(ctx: &Ctx<'_>) -> String {
    if ctx.failed() {
        format!(" (refused, {})", ctx.code())
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_identities_are_the_cluster_machinery() {
        for user in [
            "system:node:ip-10-0-1-5.ec2.internal",
            "system:kube-proxy",
            "system:kube-controller-manager",
            "system:bootstrap:abcdef",
            "system:serviceaccount:kube-system:replicaset-controller",
            "eks:certificate-controller",
            "aksService",
        ] {
            assert!(system_identity(user), "{user}");
        }
        for user in [
            "system:anonymous",
            "system:serviceaccount:shop:api",
            "alice@example.com",
            "kubernetes-admin",
            "",
        ] {
            assert!(!system_identity(user), "{user}");
        }
    }
}
