//! The audit trail: who created, changed or deleted the objects people look for afterwards
//! (deployments, daemonsets, services, configmaps, namespaces, service accounts, roles,
//! bindings, secrets). Informational hits, switched off together with `disabled = ["k8s.activity"]`.
//!
//! Each rule is a row of [`TRAILS`]; one generic check reads its row.

use super::context::Ctx;
use super::{meta, EventRule, RuleKind::Activity};
use crate::model::Level::Metadata;
use crate::report::Severity::Info;

const FAMILY: &str = "activity";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Created,
    Changed,
    Deleted,
}

struct Trail {
    change: Change,
    resources: &'static [&'static str],
    /// What the object is called in messages.
    noun: &'static str,
    /// Leave out `system:` identities.
    people_only: bool,
    /// Leave out kube-system, where the control plane keeps its own secrets.
    skip_kube_system: bool,
}

const fn trail(change: Change, resources: &'static [&'static str], noun: &'static str) -> Trail {
    Trail {
        change,
        resources,
        noun,
        people_only: false,
        skip_kube_system: false,
    }
}

const DEPLOYMENTS: &[&str] = &["deployments"];
const SERVICES: &[&str] = &["services"];
const CONFIGMAPS: &[&str] = &["configmaps"];
const NAMESPACES: &[&str] = &["namespaces"];
const SERVICEACCOUNTS: &[&str] = &["serviceaccounts"];
const ROLES: &[&str] = &["roles", "clusterroles"];
const BINDINGS: &[&str] = &["rolebindings", "clusterrolebindings"];
const SECRETS: &[&str] = &["secrets"];
const DAEMONSETS: &[&str] = &["daemonsets"];

const SECRET_TRAIL: Trail = Trail {
    change: Change::Created,
    resources: SECRETS,
    noun: "secret",
    people_only: true,
    skip_kube_system: true,
};

static TRAILS: [Trail; 21] = [
    trail(Change::Created, DEPLOYMENTS, "deployment"),
    trail(Change::Deleted, DEPLOYMENTS, "deployment"),
    trail(Change::Created, SERVICES, "service"),
    trail(Change::Deleted, SERVICES, "service"),
    trail(Change::Created, CONFIGMAPS, "configmap"),
    trail(Change::Deleted, CONFIGMAPS, "configmap"),
    trail(Change::Created, NAMESPACES, "namespace"),
    Trail {
        people_only: true,
        ..trail(Change::Deleted, NAMESPACES, "namespace")
    },
    trail(Change::Created, SERVICEACCOUNTS, "service account"),
    trail(Change::Deleted, SERVICEACCOUNTS, "service account"),
    trail(Change::Created, ROLES, "role"),
    trail(Change::Deleted, ROLES, "role"),
    trail(Change::Created, BINDINGS, "binding"),
    trail(Change::Deleted, BINDINGS, "binding"),
    trail(Change::Changed, BINDINGS, "binding"),
    SECRET_TRAIL,
    Trail {
        change: Change::Deleted,
        ..SECRET_TRAIL
    },
    Trail {
        change: Change::Changed,
        ..SECRET_TRAIL
    },
    Trail {
        people_only: true,
        ..trail(Change::Changed, ROLES, "role")
    },
    trail(Change::Created, DAEMONSETS, "daemonset"),
    trail(Change::Deleted, DAEMONSETS, "daemonset"),
];

fn check<const I: usize>(ctx: &Ctx<'_>) -> Option<String> {
    let t = &TRAILS[I];
    let verb_matches = match t.change {
        Change::Created => ctx.creates(),
        Change::Changed => ctx.verb_in(&["update", "patch"]),
        Change::Deleted => ctx.verb == "delete",
    };
    if !verb_matches || !ctx.on_object() || !ctx.not_refused() {
        return None;
    }
    if (t.people_only && ctx.system_user())
        || (t.skip_kube_system && ctx.namespace == "kube-system")
    {
        return None;
    }
    let done = match t.change {
        Change::Created => "created",
        Change::Changed => "changed",
        Change::Deleted => "deleted",
    };
    let kind = match ctx.resource {
        "clusterroles" => "clusterrole",
        "clusterrolebindings" => "clusterrolebinding",
        "rolebindings" => "rolebinding",
        _ => t.noun,
    };
    let outcome = if ctx.outcome_unknown() {
        " (outcome not logged)"
    } else {
        ""
    };
    Some(format!(
        "{} {done} {kind} {}{outcome}",
        ctx.user,
        ctx.object()
    ))
}

macro_rules! activity {
    ($index:literal, $id:literal, $title:literal, $what:literal, $techniques:expr) => {
        EventRule {
            meta: meta(
                $id,
                $title,
                $what,
                FAMILY,
                Activity,
                Info,
                $techniques,
                Metadata,
            ),
            resources: TRAILS[$index].resources,
            check: check::<$index>,
        }
    };
}

pub static RULES: &[EventRule] = &[
    activity!(
        0,
        "k8s.activity.deployment.created",
        "Deployment created",
        "A Deployment was created.",
        &["T1610"]
    ),
    activity!(
        1,
        "k8s.activity.deployment.deleted",
        "Deployment deleted",
        "A Deployment was deleted: a service may be down.",
        &["T1485"]
    ),
    activity!(
        2,
        "k8s.activity.service.created",
        "Service created",
        "A Service was created.",
        &[]
    ),
    activity!(
        3,
        "k8s.activity.service.deleted",
        "Service deleted",
        "A Service was deleted.",
        &[]
    ),
    activity!(
        4,
        "k8s.activity.configmap.created",
        "ConfigMap created",
        "A ConfigMap was created.",
        &[]
    ),
    activity!(
        5,
        "k8s.activity.configmap.deleted",
        "ConfigMap deleted",
        "A ConfigMap was deleted.",
        &[]
    ),
    activity!(
        6,
        "k8s.activity.namespace.created",
        "Namespace created",
        "A namespace was created.",
        &[]
    ),
    activity!(
        7,
        "k8s.activity.namespace.deleted",
        "Namespace deleted",
        "A namespace and everything in it was deleted by a person (not a system identity).",
        &["T1485"]
    ),
    activity!(
        8,
        "k8s.activity.serviceaccount.created",
        "Service account created",
        "A service account was created.",
        &["T1136"]
    ),
    activity!(
        9,
        "k8s.activity.serviceaccount.deleted",
        "Service account deleted",
        "A service account was deleted.",
        &[]
    ),
    activity!(
        10,
        "k8s.activity.role.created",
        "Role or ClusterRole created",
        "A Role or ClusterRole was created.",
        &["T1098.006"]
    ),
    activity!(
        11,
        "k8s.activity.role.deleted",
        "Role or ClusterRole deleted",
        "A Role or ClusterRole was deleted.",
        &[]
    ),
    activity!(
        12,
        "k8s.activity.binding.created",
        "RoleBinding or ClusterRoleBinding created",
        "A RoleBinding or ClusterRoleBinding was created.",
        &["T1098.006"]
    ),
    activity!(
        13,
        "k8s.activity.binding.deleted",
        "RoleBinding or ClusterRoleBinding deleted",
        "A RoleBinding or ClusterRoleBinding was deleted.",
        &[]
    ),
    activity!(
        14,
        "k8s.activity.binding.changed",
        "RoleBinding or ClusterRoleBinding changed",
        "A RoleBinding or ClusterRoleBinding was updated or patched.",
        &["T1098.006"]
    ),
    activity!(
        15,
        "k8s.activity.secret.created",
        "Secret created",
        "A Secret was created by a person, outside kube-system.",
        &[]
    ),
    activity!(
        16,
        "k8s.activity.secret.deleted",
        "Secret deleted",
        "A Secret was deleted by a person, outside kube-system.",
        &[]
    ),
    activity!(
        17,
        "k8s.activity.secret.changed",
        "Secret changed",
        "A Secret was updated or patched by a person, outside kube-system.",
        &[]
    ),
    activity!(
        18,
        "k8s.activity.role.changed",
        "Role or ClusterRole changed",
        "A Role or ClusterRole was updated or patched by a person (not a system identity).",
        &["T1098.006"]
    ),
    activity!(
        19,
        "k8s.activity.daemonset.created",
        "DaemonSet created",
        "A DaemonSet was created: a pod on every node.",
        &["T1610"]
    ),
    activity!(
        20,
        "k8s.activity.daemonset.deleted",
        "DaemonSet deleted",
        "A DaemonSet was deleted: an agent on every node (logging, security, networking) may be gone.",
        &["T1562.001"]
    ),
];
