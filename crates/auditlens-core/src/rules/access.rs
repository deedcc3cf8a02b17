//! Who gets in and how: interactive access to pods (exec, attach, port-forward), anonymous and
//! impersonated requests, refused requests, credentials minted through the API (TokenRequest,
//! certificate signing requests), the kubelet reached through the API server, permission
//! discovery and known attack tools.
//!
//! All of these are judged on request metadata (verb, resource, user, URI, user agent,
//! response), so they work on Metadata-level logs.

use super::context::{is_control_plane, Ctx};
use super::{meta, EventRule, RuleKind::Security, RuleMeta};
use crate::model::Level::Metadata;
use crate::report::Severity::{High, Low, Medium};

const FAMILY: &str = "access";

pub static RULES: &[EventRule] = &[
    EventRule {
        meta: meta(
            "k8s.pod.exec",
            "Exec or attach into a pod",
            "Someone opens a command or an attached terminal in a running container \
             (pods/exec, pods/attach).",
            FAMILY,
            Security,
            Medium,
            &["T1609"],
            Metadata,
        ),
        resources: &["pods"],
        check: pod_exec,
    },
    EventRule {
        meta: meta(
            "k8s.pod.portforward",
            "Port-forward to a pod",
            "Someone tunnels a port of a pod to their machine (pods/portforward), reaching \
             services the network would not let them reach.",
            FAMILY,
            Security,
            Low,
            &["T1572"],
            Metadata,
        ),
        resources: &["pods"],
        check: portforward,
    },
    EventRule {
        meta: meta(
            "k8s.anonymous.allowed",
            "Anonymous request allowed",
            "An unauthenticated request (system:anonymous) was allowed, other than a health \
             check: anonymous access is granted more than it should be.",
            FAMILY,
            Security,
            High,
            &["T1078.001"],
            Metadata,
        ),
        resources: &[],
        check: anonymous_allowed,
    },
    EventRule {
        meta: meta(
            "k8s.anonymous.pod_write",
            "Anonymous attempt to create or change pods",
            "An unauthenticated request tries to create, update or patch a pod, whatever the \
             answer: someone probes the API for a way to run code.",
            FAMILY,
            Security,
            High,
            &["T1610", "T1078.001"],
            Metadata,
        ),
        resources: &["pods"],
        check: anonymous_pod_write,
    },
    EventRule {
        meta: meta(
            "k8s.impersonation.privileged",
            "Impersonating a privileged identity",
            "An allowed request impersonates a cluster administrator or control-plane identity \
             (system:masters, cluster-admin, system:admin, controller-manager, a node, a \
             kube-system service account).",
            FAMILY,
            Security,
            High,
            &["T1134"],
            Metadata,
        ),
        resources: &[],
        check: impersonation_privileged,
    },
    EventRule {
        meta: meta(
            "k8s.impersonation.any",
            "Impersonation",
            "An allowed request acts as another user (--as): the actor's own permissions are \
             not what was used.",
            FAMILY,
            Security,
            Low,
            &["T1550.001"],
            Metadata,
        ),
        resources: &[],
        check: impersonation_any,
    },
    EventRule {
        meta: meta(
            "k8s.access.denied",
            "Request refused",
            "The API server refused a request: 401 (authentication failed, an expired or \
             stolen token) or 403 (not authorized).",
            FAMILY,
            Security,
            Low,
            &["T1078"],
            Metadata,
        ),
        resources: &[],
        check: access_denied,
    },
    EventRule {
        meta: meta(
            "k8s.serviceaccount.token_request",
            "Service account token minted",
            "A token for a service account is created through the TokenRequest API \
             (serviceaccounts/token) by someone other than a kubelet, or by the control plane \
             for an account outside its own namespaces.",
            FAMILY,
            Security,
            Medium,
            &["T1528", "T1552.007"],
            Metadata,
        ),
        resources: &["serviceaccounts"],
        check: token_request,
    },
    EventRule {
        meta: meta(
            "k8s.csr.created_or_approved",
            "Certificate signing request created or approved",
            "A client certificate signing request is created, approved or changed by someone \
             other than a node or the control plane: a certificate outlives any token.",
            FAMILY,
            Security,
            Medium,
            &["T1649", "T1098"],
            Metadata,
        ),
        resources: &["certificatesigningrequests"],
        check: csr,
    },
    EventRule {
        meta: meta(
            "k8s.node.proxy",
            "Kubelet reached through the API server",
            "A request goes through nodes/proxy to a kubelet (pods, exec, configuration, logs \
             of every workload on the node), other than metrics and health scrapes.",
            FAMILY,
            Security,
            Medium,
            &["T1611", "T1613"],
            Metadata,
        ),
        resources: &["nodes"],
        check: node_proxy,
    },
    EventRule {
        meta: meta(
            "k8s.discovery.permission_enumeration",
            "Own permissions enumerated",
            "Someone lists their own permissions (selfsubjectrulesreviews, `kubectl auth can-i \
             --list`), or a service account or node checks one (selfsubjectaccessreviews).",
            FAMILY,
            Security,
            Low,
            &["T1613", "T1069"],
            Metadata,
        ),
        resources: &["selfsubjectrulesreviews", "selfsubjectaccessreviews"],
        check: permission_enumeration,
    },
    EventRule {
        meta: meta(
            "k8s.client.offensive_tool",
            "Known attack or scanning tool",
            "The user agent names a Kubernetes attack, secret-hunting or reconnaissance tool \
             (rakkess, trufflehog, azurehound, kube-hunter, peirates, ...).",
            FAMILY,
            Security,
            Medium,
            &["T1613", "T1609"],
            Metadata,
        ),
        resources: &[],
        check: offensive_tool,
    },
    EventRule {
        meta: RuleMeta {
            default_enabled: false,
            ..meta(
                "k8s.identity.default_admin",
                "Default administrator account used",
                "A request by an account that installers create with full rights (admin, \
                 kubernetes-admin, minikube-user): shared, unaccountable access. Off by \
                 default; switch on with `enabled`.",
                FAMILY,
                Security,
                Low,
                &["T1078.001"],
                Metadata,
            )
        },
        resources: &[],
        check: default_admin,
    },
];

fn outcome(ctx: &Ctx<'_>) -> String {
    if ctx.failed() {
        format!(" (refused, {})", ctx.code())
    } else if ctx.outcome_unknown() {
        " (outcome not logged)".to_string()
    } else {
        String::new()
    }
}

fn pod_exec(ctx: &Ctx<'_>) -> Option<String> {
    if !matches!(ctx.subresource, "exec" | "attach") || !ctx.verb_in(&["create", "get"]) {
        return None;
    }
    let command = super::exec::command_line(ctx.uri)
        .map(|c| format!(": {c}"))
        .unwrap_or_default();
    Some(format!(
        "{} used {} on pod {}{}{command}",
        ctx.user,
        ctx.subresource,
        ctx.object(),
        outcome(ctx)
    ))
}

fn portforward(ctx: &Ctx<'_>) -> Option<String> {
    if ctx.subresource != "portforward" {
        return None;
    }
    let ports = ctx
        .uri
        .split_once('?')
        .map(|(_, q)| {
            form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k == "ports")
                .map(|(_, v)| v.into_owned())
                .collect::<Vec<_>>()
                .join(",")
        })
        .filter(|p| !p.is_empty())
        .map(|p| format!(" (ports {p})"))
        .unwrap_or_default();
    Some(format!(
        "{} port-forwarded to pod {}{ports}{}",
        ctx.user,
        ctx.object(),
        outcome(ctx)
    ))
}

fn health_check(uri: &str) -> bool {
    let path = uri.split('?').next().unwrap_or(uri);
    matches!(path, "/healthz" | "/livez" | "/readyz" | "/version")
        || path.starts_with("/healthz/")
        || path.starts_with("/livez/")
        || path.starts_with("/readyz/")
}

fn anonymous_allowed(ctx: &Ctx<'_>) -> Option<String> {
    if !ctx.anonymous() || !ctx.allowed() || health_check(ctx.uri) {
        return None;
    }
    Some(format!(
        "anonymous request allowed: {} {} ({})",
        ctx.verb,
        ctx.uri,
        ctx.event_reason()
    ))
}

fn anonymous_pod_write(ctx: &Ctx<'_>) -> Option<String> {
    if !ctx.anonymous() || !ctx.writes() || !ctx.on_object() {
        return None;
    }
    Some(format!(
        "anonymous {} of pod {}{}",
        ctx.verb,
        ctx.object(),
        outcome(ctx)
    ))
}

/// Why an identity counts as privileged when impersonated.
fn privileged_identity(user: &str, groups: &[&str]) -> Option<String> {
    const USERS: &[&str] = &[
        "admin",
        "cluster-admin",
        "kubernetes-admin",
        "system:admin",
        "system:anonymous",
        "system:apiserver",
        "system:kube-controller-manager",
        "system:kube-proxy",
        "system:kube-scheduler",
        "system:volume-scheduler",
    ];
    const GROUPS: &[&str] = &["system:masters", "system:cluster-admins", "cluster-admin"];
    if USERS.contains(&user)
        || user.starts_with("system:node:")
        || user.starts_with("system:serviceaccount:kube-system:")
    {
        return Some(user.to_string());
    }
    groups
        .iter()
        .find(|g| GROUPS.contains(g))
        .map(|g| format!("{user} in group {g}"))
}

fn impersonates(ctx: &Ctx<'_>) -> bool {
    !ctx.impersonated.is_empty() && ctx.allowed()
}

fn impersonation_privileged(ctx: &Ctx<'_>) -> Option<String> {
    if !impersonates(ctx) || !ctx.verb_in(&["create", "delete", "get", "list", "patch", "update"]) {
        return None;
    }
    if ctx.control_plane() || ctx.node() || ctx.impersonated.starts_with("eks:") {
        return None;
    }
    let who = privileged_identity(ctx.impersonated, ctx.impersonated_groups())?;
    Some(format!(
        "{} impersonated {who} to {} {}",
        ctx.user,
        ctx.verb,
        ctx.resource_or_uri()
    ))
}

fn impersonation_any(ctx: &Ctx<'_>) -> Option<String> {
    if !impersonates(ctx) {
        return None;
    }
    Some(format!(
        "{} acted as {} to {} {}",
        ctx.user,
        ctx.impersonated,
        ctx.verb,
        ctx.resource_or_uri()
    ))
}

fn access_denied(ctx: &Ctx<'_>) -> Option<String> {
    let why = match ctx.code() {
        401 => "authentication failed (401)",
        403 => "forbidden (403)",
        _ => return None,
    };
    Some(format!(
        "{} was refused: {why} for {} {}",
        if ctx.user.is_empty() {
            "an unauthenticated client"
        } else {
            ctx.user
        },
        ctx.verb,
        ctx.resource_or_uri()
    ))
}

fn token_request(ctx: &Ctx<'_>) -> Option<String> {
    if ctx.subresource != "token" || !ctx.creates() {
        return None;
    }
    // Kubelets mint tokens for the pods they run; controllers for their own accounts in the
    // control plane's namespaces. A controller minting one for an application's account is not
    // its job.
    if ctx.node() || ctx.user.is_empty() || (ctx.control_plane() && ctx.in_system_namespace()) {
        return None;
    }
    Some(format!(
        "{} minted a token for service account {}{}",
        ctx.user,
        ctx.object(),
        outcome(ctx)
    ))
}

fn csr(ctx: &Ctx<'_>) -> Option<String> {
    if !ctx.writes() || !ctx.allowed() {
        return None;
    }
    if ctx.control_plane() || ctx.node() || ctx.user.starts_with("system:bootstrap:") {
        return None;
    }
    let what = match (ctx.verb, ctx.subresource) {
        ("create", "") => "created",
        (_, "approval") => "approved (or denied)",
        (_, "status") => "changed the status of",
        _ => "changed",
    };
    Some(format!(
        "{} {what} certificate signing request {}",
        ctx.user,
        ctx.object()
    ))
}

fn node_proxy(ctx: &Ctx<'_>) -> Option<String> {
    if ctx.subresource != "proxy" {
        return None;
    }
    if is_control_plane(ctx.user) || ctx.node() {
        return None;
    }
    const SCRAPES: &[&str] = &["metrics", "healthz", "stats/summary", "/stats"];
    if SCRAPES.iter().any(|s| ctx.uri.contains(s)) {
        return None;
    }
    let path = ctx
        .uri
        .split_once("/proxy")
        .map_or("", |(_, rest)| rest)
        .split('?')
        .next()
        .unwrap_or("");
    Some(format!(
        "{} reached the kubelet of node {} through the API server: {} {}{}",
        ctx.user,
        ctx.object(),
        ctx.verb,
        if path.is_empty() { "/" } else { path },
        outcome(ctx)
    ))
}

fn permission_enumeration(ctx: &Ctx<'_>) -> Option<String> {
    if !ctx.creates() || !ctx.allowed() {
        return None;
    }
    let effective = ctx.effective();
    let workload =
        effective.starts_with("system:serviceaccount:") || effective.starts_with("system:node:");
    match ctx.resource {
        "selfsubjectrulesreviews" => Some(format!(
            "{} listed their own permissions{}",
            effective,
            namespace_note(ctx)
        )),
        "selfsubjectaccessreviews" if workload && !ctx.control_plane() => Some(format!(
            "{effective} checked one of its own permissions (selfsubjectaccessreviews)"
        )),
        _ => None,
    }
}

fn namespace_note(ctx: &Ctx<'_>) -> String {
    if ctx.namespace.is_empty() {
        String::new()
    } else {
        format!(" in namespace {}", ctx.namespace)
    }
}

/// Tokens of user agents that belong to attack and reconnaissance tools.
pub const OFFENSIVE_TOOLS: &[&str] = &[
    "access_matrix",
    "trufflehog",
    "azurehound",
    "micro-scanner",
    "kube-hunter",
    "peirates",
    "kdigger",
    "kubiscan",
    "kubestriker",
];

/// The first of [`OFFENSIVE_TOOLS`] a user agent names, ignoring ASCII case.
pub(super) fn offensive_tool_in(user_agent: &str) -> Option<&'static str> {
    let agent = user_agent.to_ascii_lowercase();
    OFFENSIVE_TOOLS.iter().copied().find(|t| agent.contains(t))
}

fn offensive_tool(ctx: &Ctx<'_>) -> Option<String> {
    let tool = ctx.agent.offensive_tool?;
    Some(format!(
        "{} used {tool} (user agent {:?}): {} {}",
        ctx.user,
        ctx.user_agent,
        ctx.verb,
        ctx.resource_or_uri()
    ))
}

fn default_admin(ctx: &Ctx<'_>) -> Option<String> {
    const DEFAULT_ADMINS: &[&str] = &[
        "admin",
        "kubernetes-admin",
        "kubernetes-admin@kubernetes",
        "kubernetes-admin@cluster.local",
        "minikube-user",
    ];
    if !DEFAULT_ADMINS.contains(&ctx.user) {
        return None;
    }
    Some(format!(
        "default administrator {} used: {} {}",
        ctx.user,
        ctx.verb,
        ctx.resource_or_uri()
    ))
}
