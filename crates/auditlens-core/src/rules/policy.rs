//! The site's own policy: who may use the API, which images may run, which namespaces may
//! exist, which nodes may join. Each rule runs only when its list is configured
//! (`[allowed]` in [`super::RuleConfig`]); without a list nothing is judged.

use super::config::{glob, image_matches};
use super::context::Ctx;
use super::{meta, EventRule, RuleKind::Policy};
use crate::model::Level::{Metadata, Request};
use crate::report::Severity::{High, Medium};

const FAMILY: &str = "policy";

pub static RULES: &[EventRule] = &[
    EventRule {
        meta: meta(
            "k8s.policy.user_not_allowed",
            "User outside the allowed list",
            "A request by a user that is not on the site's list of allowed users \
             (`allowed.users`; `system:` identities are not judged).",
            FAMILY,
            Policy,
            Medium,
            &["T1078"],
            Metadata,
        ),
        resources: &[],
        check: user_not_allowed,
    },
    EventRule {
        meta: meta(
            "k8s.policy.image_not_allowed",
            "Image outside the allowed list",
            "A pod or workload runs a container image that is not on the site's list of \
             allowed images (`allowed.images`).",
            FAMILY,
            Policy,
            Medium,
            &["T1610"],
            Request,
        ),
        resources: &[
            "pods",
            "deployments",
            "daemonsets",
            "statefulsets",
            "replicasets",
            "replicationcontrollers",
            "jobs",
            "cronjobs",
        ],
        check: image_not_allowed,
    },
    EventRule {
        meta: meta(
            "k8s.policy.namespace_not_allowed",
            "Namespace outside the allowed list",
            "A namespace is created that is not on the site's list of namespaces \
             (`allowed.namespaces`).",
            FAMILY,
            Policy,
            Medium,
            &["T1610"],
            Metadata,
        ),
        resources: &["namespaces"],
        check: namespace_not_allowed,
    },
    EventRule {
        meta: meta(
            "k8s.policy.node_not_allowed",
            "Node outside the allowed list joined",
            "A node that is not on the site's list of nodes (`allowed.nodes`) registered with \
             the cluster.",
            FAMILY,
            Policy,
            High,
            &["T1078"],
            Metadata,
        ),
        resources: &["nodes"],
        check: node_joined,
    },
    EventRule {
        meta: meta(
            "k8s.policy.node_join_failed",
            "Node outside the allowed list tried to join",
            "A node that is not on the site's list of nodes (`allowed.nodes`) tried to \
             register and was refused.",
            FAMILY,
            Policy,
            Medium,
            &["T1078"],
            Metadata,
        ),
        resources: &["nodes"],
        check: node_join_failed,
    },
];

fn listed(list: &[String], value: &str) -> bool {
    list.iter().any(|p| glob(p, value))
}

fn user_not_allowed(ctx: &Ctx<'_>) -> Option<String> {
    let allowed = ctx.config.allowed.users.as_ref()?;
    if ctx.user.is_empty() || ctx.system_user() || listed(allowed, ctx.user) {
        return None;
    }
    Some(format!(
        "{} is not an allowed user: {} {}",
        ctx.user,
        ctx.verb,
        ctx.resource_or_uri()
    ))
}

fn image_not_allowed(ctx: &Ctx<'_>) -> Option<String> {
    let allowed = ctx.config.allowed.images.as_ref()?;
    if !ctx.on_object() {
        return None;
    }
    let judged = if ctx.resource == "pods" {
        ctx.creates()
    } else {
        ctx.writes()
    };
    if !judged {
        return None;
    }
    let spec = ctx.pod_spec()?;
    let mut outside: Vec<String> = spec
        .all_containers()
        .filter(|c| !allowed.iter().any(|p| image_matches(p, c.image())))
        .map(|c| format!("{} ({})", c.name(), c.image()))
        .collect();
    outside.dedup();
    (!outside.is_empty()).then(|| {
        format!(
            "{} {} {} {} with images outside the allowed list: {}",
            ctx.user,
            ctx.verb,
            ctx.carrier(),
            ctx.object(),
            outside.join(", ")
        )
    })
}

fn namespace_not_allowed(ctx: &Ctx<'_>) -> Option<String> {
    let allowed = ctx.config.allowed.namespaces.as_ref()?;
    if !(ctx.creates() && ctx.on_object()) {
        return None;
    }
    let name = ctx.object_name();
    (!listed(allowed, &name)).then(|| {
        format!(
            "{} created namespace {} outside the allowed list",
            ctx.user,
            if name.is_empty() { "(unnamed)" } else { &name }
        )
    })
}

/// A node registration by a node outside the list, with whether it succeeded.
fn node_outside(ctx: &Ctx<'_>) -> Option<String> {
    let allowed = ctx.config.allowed.nodes.as_ref()?;
    if !(ctx.creates() && ctx.on_object()) {
        return None;
    }
    let name = ctx.object_name();
    (!listed(allowed, &name)).then_some(name)
}

fn node_joined(ctx: &Ctx<'_>) -> Option<String> {
    if !ctx.succeeded() {
        return None;
    }
    let name = node_outside(ctx)?;
    Some(format!(
        "node {name} joined the cluster (registered by {}) but is not on the allowed list",
        ctx.user
    ))
}

fn node_join_failed(ctx: &Ctx<'_>) -> Option<String> {
    if !ctx.failed() {
        return None;
    }
    let name = node_outside(ctx)?;
    Some(format!(
        "node {name} (not on the allowed list) tried to join the cluster as {} and was refused \
         ({})",
        ctx.user,
        ctx.code()
    ))
}
