//! RBAC changes that widen someone's power: roles granting wildcards, writes, exec or the
//! escalation verbs, bindings to cluster-admin or to anonymous users, edits of the built-in
//! `system:` roles, and service accounts writing RBAC or created where the system lives.
//!
//! Role and binding contents come from the request body (Request level); the role as stored
//! after a patch comes from the response body (RequestResponse level).

use super::bodies::Role;
use super::context::Ctx;
use super::{meta, EventRule, RuleKind::Security};
use crate::model::Level::{Metadata, Request, RequestResponse};
use crate::report::Severity::{Critical, High, Low, Medium};

const FAMILY: &str = "rbac";
const ROLES: &[&str] = &["roles", "clusterroles"];
const BINDINGS: &[&str] = &["rolebindings", "clusterrolebindings"];
const RBAC_OBJECTS: &[&str] = &[
    "roles",
    "clusterroles",
    "rolebindings",
    "clusterrolebindings",
];
const WRITE_VERBS: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];

pub static RULES: &[EventRule] = &[
    EventRule {
        meta: meta(
            "k8s.rbac.binding.cluster_admin",
            "Binding to cluster-admin",
            "A RoleBinding or ClusterRoleBinding to the cluster-admin role is created: its \
             subjects get every right on the cluster (or namespace).",
            FAMILY,
            Security,
            High,
            &["T1098.006"],
            Request,
        ),
        resources: BINDINGS,
        check: cluster_admin_binding,
    },
    EventRule {
        meta: meta(
            "k8s.rbac.role.wildcard",
            "Role with wildcards created",
            "A Role or ClusterRole is created with `*` as a resource or a verb.",
            FAMILY,
            Security,
            High,
            &["T1098.006"],
            Request,
        ),
        resources: ROLES,
        check: wildcard_role,
    },
    EventRule {
        meta: meta(
            "k8s.rbac.role.write",
            "Role with write privileges created",
            "A Role or ClusterRole is created that can create, update, patch or delete \
             (wildcard verbs are reported by k8s.rbac.role.wildcard instead).",
            FAMILY,
            Security,
            Low,
            &["T1098.006"],
            Request,
        ),
        resources: ROLES,
        check: write_role,
    },
    EventRule {
        meta: meta(
            "k8s.rbac.role.pod_exec",
            "Role granting pod exec created",
            "A Role or ClusterRole is created that grants pods/exec or pods/attach: a shell in \
             any pod it reaches.",
            FAMILY,
            Security,
            Medium,
            &["T1098.006", "T1609"],
            Request,
        ),
        resources: ROLES,
        check: pod_exec_role,
    },
    EventRule {
        meta: meta(
            "k8s.rbac.system_role_changed",
            "Built-in system role changed or deleted",
            "A Role or ClusterRole named `system:...` is created, changed or deleted by \
             someone other than the control plane (system:coredns excepted).",
            FAMILY,
            Security,
            High,
            &["T1098.006"],
            Metadata,
        ),
        resources: ROLES,
        check: system_role_changed,
    },
    EventRule {
        meta: meta(
            "k8s.rbac.role.escalation",
            "Role granting escalation rights",
            "A Role or ClusterRole is created or changed to grant escalate, bind or \
             impersonate, the right to write RBAC objects, or (on a change) wildcards.",
            FAMILY,
            Security,
            High,
            &["T1098.006"],
            Request,
        ),
        resources: ROLES,
        check: escalation_role,
    },
    EventRule {
        meta: meta(
            "k8s.rbac.role.wildcard_elevated",
            "Existing role widened to everything",
            "A patch or update leaves a Role or ClusterRole with a rule of `*` verbs on `*` \
             resources: cluster-admin in all but name. Read from the stored role in the \
             response (RequestResponse level), else from a full update's request.",
            FAMILY,
            Security,
            High,
            &["T1098.006"],
            RequestResponse,
        ),
        resources: ROLES,
        check: wildcard_elevated,
    },
    EventRule {
        meta: meta(
            "k8s.rbac.binding.anonymous",
            "Role bound to anonymous users",
            "A binding grants a role to system:anonymous or system:unauthenticated: anyone who \
             reaches the API server gets it.",
            FAMILY,
            Security,
            Critical,
            &["T1098.006", "T1078.001"],
            Request,
        ),
        resources: BINDINGS,
        check: anonymous_binding,
    },
    EventRule {
        meta: meta(
            "k8s.rbac.binding.serviceaccount",
            "Role bound to a service account",
            "A RoleBinding or ClusterRoleBinding is created for a service account: its token, \
             mounted in pods, carries the role.",
            FAMILY,
            Security,
            Low,
            &["T1098.006"],
            Request,
        ),
        resources: BINDINGS,
        check: serviceaccount_binding,
    },
    EventRule {
        meta: meta(
            "k8s.rbac.write_by_serviceaccount",
            "Service account changing RBAC",
            "A service account outside the control plane creates, changes or deletes roles or \
             bindings: a workload token used to grant rights.",
            FAMILY,
            Security,
            Medium,
            &["T1098.006"],
            Metadata,
        ),
        resources: RBAC_OBJECTS,
        check: write_by_serviceaccount,
    },
    EventRule {
        meta: meta(
            "k8s.serviceaccount.kube_namespace",
            "Service account created in a system namespace",
            "A service account not known to the control plane is created in a namespace the \
             control plane keeps (kube-system, kube-public, kube-node-lease, GKE's gke-system, \
             gke-managed-* and gmp-*), where it can hide among the controllers.",
            FAMILY,
            Security,
            Medium,
            &["T1136", "T1078"],
            Metadata,
        ),
        resources: &["serviceaccounts"],
        check: serviceaccount_kube_namespace,
    },
];

fn kind(ctx: &Ctx<'_>) -> &'static str {
    match ctx.resource {
        "roles" => "role",
        "clusterroles" => "clusterrole",
        "rolebindings" => "rolebinding",
        "clusterrolebindings" => "clusterrolebinding",
        _ => "object",
    }
}

fn did(ctx: &Ctx<'_>) -> String {
    let done = match ctx.verb {
        "create" => "created",
        "update" => "updated",
        "patch" => "patched",
        "delete" => "deleted",
        "deletecollection" => "deleted all of",
        other => other,
    };
    if ctx.failed() {
        format!("tried to {} (refused, {})", ctx.verb, ctx.code())
    } else {
        done.to_string()
    }
}

/// The role created by this request (create of a role object with a body).
fn created_role<'c>(ctx: &'c Ctx<'_>) -> Option<&'c Role> {
    (ctx.creates() && ctx.on_object())
        .then(|| ctx.role())
        .flatten()
}

/// The rules of a role, for messages: `[pods: get,list] [*: *]`.
fn rules_label(role: &Role) -> String {
    role.rules()
        .map(|r| {
            let join =
                |v: &Option<Vec<String>>| v.iter().flatten().cloned().collect::<Vec<_>>().join(",");
            let targets = if r.resources.is_some() {
                join(&r.resources)
            } else {
                join(&r.non_resource_urls)
            };
            format!("[{targets}: {}]", join(&r.verbs))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn cluster_admin_binding(ctx: &Ctx<'_>) -> Option<String> {
    if !(ctx.creates() && ctx.on_object()) {
        return None;
    }
    let binding = ctx.binding()?;
    (binding.role() == "cluster-admin").then(|| {
        format!(
            "{} {} {} {} binding cluster-admin to {}",
            ctx.user,
            did(ctx),
            kind(ctx),
            ctx.object(),
            binding.subject_list()
        )
    })
}

fn wildcard_role(ctx: &Ctx<'_>) -> Option<String> {
    let role = created_role(ctx)?;
    let wild = role.resources().any(|r| r == "*") || role.verbs().any(|v| v == "*");
    wild.then(|| {
        format!(
            "{} {} {} {} with wildcards: {}",
            ctx.user,
            did(ctx),
            kind(ctx),
            ctx.object(),
            rules_label(role)
        )
    })
}

fn write_role(ctx: &Ctx<'_>) -> Option<String> {
    let role = created_role(ctx)?;
    let mut verbs: Vec<&str> = role.verbs().filter(|v| WRITE_VERBS.contains(v)).collect();
    verbs.sort_unstable();
    verbs.dedup();
    (!verbs.is_empty()).then(|| {
        format!(
            "{} {} {} {} with write verbs {}: {}",
            ctx.user,
            did(ctx),
            kind(ctx),
            ctx.object(),
            verbs.join(", "),
            rules_label(role)
        )
    })
}

fn pod_exec_role(ctx: &Ctx<'_>) -> Option<String> {
    let role = created_role(ctx)?;
    let mut found: Vec<&str> = role
        .resources()
        .filter(|r| matches!(*r, "pods/exec" | "pods/attach"))
        .collect();
    found.dedup();
    (!found.is_empty()).then(|| {
        format!(
            "{} {} {} {} granting {}: {}",
            ctx.user,
            did(ctx),
            kind(ctx),
            ctx.object(),
            found.join(", "),
            rules_label(role)
        )
    })
}

fn system_role_changed(ctx: &Ctx<'_>) -> Option<String> {
    if !(ctx.writes() || ctx.deletes()) || !ctx.on_object() {
        return None;
    }
    let name = ctx.object_name();
    if !name.starts_with("system:")
        || matches!(
            name.as_str(),
            "system:coredns" | "system:managed-certificate-controller"
        )
    {
        return None;
    }
    if ctx.control_plane() || ctx.user.is_empty() {
        return None;
    }
    Some(format!(
        "{} {} built-in {} {}",
        ctx.user,
        did(ctx),
        kind(ctx),
        ctx.object()
    ))
}

fn escalation_role(ctx: &Ctx<'_>) -> Option<String> {
    if !ctx.writes() || !ctx.on_object() {
        return None;
    }
    let role = ctx.role()?;
    let mut grants = Vec::new();
    let mut special: Vec<&str> = role
        .verbs()
        .filter(|v| matches!(*v, "escalate" | "bind" | "impersonate"))
        .collect();
    special.sort_unstable();
    special.dedup();
    if !special.is_empty() {
        grants.push(format!("verbs {}", special.join(", ")));
    }
    for rule in role.rules() {
        let rbac: Vec<&str> = rule
            .resources
            .iter()
            .flatten()
            .map(String::as_str)
            .filter(|r| RBAC_OBJECTS.contains(r))
            .collect();
        let writes = rule
            .verbs
            .iter()
            .flatten()
            .any(|v| WRITE_VERBS.contains(&v.as_str()));
        if !rbac.is_empty() && writes {
            grants.push(format!("write access to {}", rbac.join(", ")));
        }
    }
    if !ctx.creates() && (role.verbs().any(|v| v == "*") || role.resources().any(|r| r == "*")) {
        grants.push("wildcards".to_string());
    }
    (!grants.is_empty()).then(|| {
        format!(
            "{} {} {} {} granting {}: {}",
            ctx.user,
            did(ctx),
            kind(ctx),
            ctx.object(),
            grants.join("; "),
            rules_label(role)
        )
    })
}

fn wildcard_elevated(ctx: &Ctx<'_>) -> Option<String> {
    if !ctx.verb_in(&["update", "patch"]) || !ctx.on_object() || !ctx.allowed() {
        return None;
    }
    if matches!(ctx.source_ip, "127.0.0.1" | "::1") {
        return None;
    }
    let role = ctx
        .response_role()
        .filter(|r| r.rules.is_some())
        .or_else(|| (ctx.verb == "update").then(|| ctx.role()).flatten())?;
    let everything = role.rules().any(|r| {
        r.verbs.iter().flatten().any(|v| v == "*") && r.resources.iter().flatten().any(|v| v == "*")
    });
    everything.then(|| {
        format!(
            "{} {} {} {}, which now grants every verb on every resource: {}",
            ctx.user,
            did(ctx),
            kind(ctx),
            ctx.object(),
            rules_label(role)
        )
    })
}

fn anonymous_binding(ctx: &Ctx<'_>) -> Option<String> {
    if !ctx.writes() || !ctx.on_object() {
        return None;
    }
    let binding = ctx.binding()?;
    let anonymous: Vec<String> = binding
        .subjects()
        .filter(|s| matches!(s.name(), "system:anonymous" | "system:unauthenticated"))
        .map(|s| s.label())
        .collect();
    (!anonymous.is_empty()).then(|| {
        format!(
            "{} {} {} {} granting {} to {}",
            ctx.user,
            did(ctx),
            kind(ctx),
            ctx.object(),
            binding.role(),
            anonymous.join(", ")
        )
    })
}

fn serviceaccount_binding(ctx: &Ctx<'_>) -> Option<String> {
    if !(ctx.creates() && ctx.on_object()) || ctx.control_plane() || !ctx.allowed() {
        return None;
    }
    let binding = ctx.binding()?;
    let accounts: Vec<String> = binding
        .subjects()
        .filter(|s| s.kind() == "ServiceAccount")
        .map(|s| s.label())
        .collect();
    (!accounts.is_empty()).then(|| {
        format!(
            "{} {} {} {} granting {} to {}",
            ctx.user,
            did(ctx),
            kind(ctx),
            ctx.object(),
            binding.role(),
            accounts.join(", ")
        )
    })
}

fn write_by_serviceaccount(ctx: &Ctx<'_>) -> Option<String> {
    if !(ctx.writes() || ctx.deletes()) || !ctx.allowed() {
        return None;
    }
    if !ctx.service_account() || ctx.control_plane() {
        return None;
    }
    Some(format!(
        "service account {} {} {} {}",
        ctx.user,
        did(ctx),
        kind(ctx),
        ctx.object()
    ))
}

/// Service accounts the control plane creates in kube-system itself.
const KNOWN_SYSTEM_ACCOUNTS: &[&str] = &[
    "attachdetach-controller",
    "bootstrap-signer",
    "certificate-controller",
    "clusterrole-aggregation-controller",
    "coredns",
    "cronjob-controller",
    "daemon-set-controller",
    "default",
    "deployment-controller",
    "disruption-controller",
    "endpoint-controller",
    "endpointslice-controller",
    "endpointslicemirroring-controller",
    "ephemeral-volume-controller",
    "expand-controller",
    "generic-garbage-collector",
    "horizontal-pod-autoscaler",
    "job-controller",
    "kube-dns",
    "kube-proxy",
    "namespace-controller",
    "node-controller",
    "persistent-volume-binder",
    "pod-garbage-collector",
    "pv-protection-controller",
    "pvc-protection-controller",
    "replicaset-controller",
    "replication-controller",
    "resourcequota-controller",
    "root-ca-cert-publisher",
    "service-account-controller",
    "service-controller",
    "statefulset-controller",
    "token-cleaner",
    "ttl-after-finished-controller",
    "ttl-controller",
];

fn serviceaccount_kube_namespace(ctx: &Ctx<'_>) -> Option<String> {
    if !(ctx.creates() && ctx.on_object() && ctx.not_refused()) {
        return None;
    }
    if !ctx.in_system_namespace() {
        return None;
    }
    let name = ctx.object_name();
    if KNOWN_SYSTEM_ACCOUNTS.contains(&name.as_str()) {
        return None;
    }
    Some(format!(
        "{} created service account {} in {}",
        ctx.user,
        ctx.object(),
        ctx.namespace
    ))
}
