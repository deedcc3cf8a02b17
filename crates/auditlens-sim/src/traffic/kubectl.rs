//! The kubectl commands people type, as the requests kubectl sends for them.
//!
//! A command is picked from a weighted table ([`ORDINARY`] for a workday, [`LOOKING`] for
//! troubleshooting) and turned into kubectl's request sequence: `kubectl logs` reads the pod
//! then its log, `kubectl apply` reads then patches, `kubectl exec` reads the pod then upgrades
//! a connection. Each request goes through the person's RBAC ([`authorize`]); a denied step
//! ends the command, as kubectl stops at the first error.

use std::sync::Arc;

use rand::Rng;

use crate::catalog::*;
use crate::clock::{MILLI, MINUTE, SECOND};
use crate::event::{Request, Target};
use crate::identity::{cluster_binding, namespace_binding, Subject};
use crate::json::{obj, Json};
use crate::traffic::people::Role;
use crate::world::{SimRng, World};

/// A kubectl command a person types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    GetPods,
    GetDeployments,
    GetPodYaml,
    DescribePod,
    Logs,
    FollowLogs,
    GetServices,
    GetConfigMaps,
    GetEvents,
    ApplyConfigMap,
    ApplyDeployment,
    RolloutRestart,
    Exec,
    PortForward,
    Top,
    GetNodes,
    GetSecrets,
    AuthCanI,
    GetNamespaces,
    Scale,
    DeletePod,
}

/// What people do at work, with weights.
pub(crate) const ORDINARY: [(Command, u32); 21] = [
    (Command::GetPods, 60),
    (Command::GetDeployments, 20),
    (Command::GetPodYaml, 12),
    (Command::DescribePod, 16),
    (Command::Logs, 24),
    (Command::FollowLogs, 6),
    (Command::GetServices, 8),
    (Command::GetConfigMaps, 6),
    (Command::GetEvents, 8),
    (Command::ApplyConfigMap, 2),
    (Command::ApplyDeployment, 1),
    (Command::RolloutRestart, 1),
    (Command::Exec, 3),
    (Command::PortForward, 1),
    (Command::Top, 6),
    (Command::GetNodes, 4),
    (Command::GetSecrets, 3),
    (Command::AuthCanI, 1),
    (Command::GetNamespaces, 4),
    (Command::Scale, 1),
    (Command::DeletePod, 1),
];

/// Read-only troubleshooting, what someone on call does at night.
pub(crate) const LOOKING: [(Command, u32); 7] = [
    (Command::GetPods, 10),
    (Command::DescribePod, 4),
    (Command::Logs, 6),
    (Command::GetEvents, 3),
    (Command::GetDeployments, 3),
    (Command::Top, 2),
    (Command::GetNodes, 1),
];

/// Why `role` may do `verb` on `resource` in `namespace` (`None` for cluster scope), or
/// `None` if RBAC says no.
fn authorize(
    role: Role,
    verb: &str,
    resource: &Resource,
    sub: Option<&str>,
    namespace: Option<&str>,
) -> Option<Arc<str>> {
    let read =
        matches!(verb, "get" | "list" | "watch") && !matches!(sub, Some("exec" | "portforward"));
    let secret = resource.plural == "secrets";
    match role {
        Role::Platform => Some(cluster_binding(
            "platform-team-cluster-admin",
            "cluster-admin",
            &Subject::Group("oidc:platform-team"),
        )),
        Role::Sre => match namespace {
            Some(ns @ ("prod" | "staging" | "dev" | "monitoring" | "ingress-nginx")) => Some(
                namespace_binding("sre-admin", ns, "admin", &Subject::Group("oidc:sre")),
            ),
            Some(_) if read && !secret => Some(cluster_binding(
                "sre-view",
                "view",
                &Subject::Group("oidc:sre"),
            )),
            None if read => Some(cluster_binding(
                "sre-cluster-reader",
                "cluster-reader",
                &Subject::Group("oidc:sre"),
            )),
            _ => None,
        },
        Role::Developer => match namespace {
            Some(ns @ ("dev" | "staging")) => Some(namespace_binding(
                "developers-edit",
                ns,
                "edit",
                &Subject::Group("oidc:developers"),
            )),
            Some("prod") if read && !secret => Some(namespace_binding(
                "developers-view",
                "prod",
                "view",
                &Subject::Group("oidc:developers"),
            )),
            None if read && resource.plural == "namespaces" => Some(cluster_binding(
                "developers-namespace-list",
                "namespace-viewer",
                &Subject::Group("oidc:developers"),
            )),
            _ => None,
        },
    }
}

/// Sends `request` after RBAC: allowed with the binding's reason, or denied. Returns when the
/// response arrived, and whether the request was allowed.
fn send(w: &mut World, role: Role, request: Request) -> (i64, bool) {
    let Some(resource) = request.resource_ref() else {
        let done = request.completed;
        w.emit(request);
        return (done, true);
    };
    let namespace = match &request.target {
        Target::Resource {
            namespace: Some(ns),
            ..
        } if resource.namespaced => Some(ns.clone()),
        _ => None,
    };
    let verdict = authorize(
        role,
        request.verb,
        resource,
        request.subresource(),
        namespace.as_deref(),
    );
    let request = match verdict {
        Some(reason) => request.reason(reason),
        None => request.forbid().took(MILLI),
    };
    let (done, allowed) = (request.completed, request.allowed);
    w.emit(request);
    (done, allowed)
}

fn pick(rng: &mut SimRng, table: &[(Command, u32)]) -> Command {
    let total: u32 = table.iter().map(|c| c.1).sum();
    let mut roll = rng.gen_range(0..total.max(1));
    for &(command, weight) in table {
        if roll < weight {
            return command;
        }
        roll -= weight;
    }
    Command::GetPods
}

/// Runs one command picked from `table` for person `human` in `ns`; returns when it ended.
pub(crate) fn run_command(
    w: &mut World,
    rng: &mut SimRng,
    human: usize,
    ns: &Arc<str>,
    at: i64,
    table: &[(Command, u32)],
) -> i64 {
    let command = pick(rng, table);
    let (actor, role) = (w.humans[human].actor, w.humans[human].persona.role);
    let pod = w
        .cluster
        .random_pod_in(rng, ns)
        .map(|p| (p.name.clone(), p.uid.clone(), p.app));
    let app = pod.as_ref().and_then(|p| p.2).or_else(|| {
        let apps: Vec<usize> = (0..w.cluster.apps.len())
            .filter(|&i| w.cluster.apps[i].namespace == *ns)
            .collect();
        (!apps.is_empty()).then(|| apps[crate::cluster::random_index(rng, apps.len())])
    });
    let app_name = app.map(|a| w.cluster.apps[a].name.clone());
    let gap = |rng: &mut SimRng| rng.gen_range(20 * MILLI..200 * MILLI);
    let list = |w: &World, rng: &mut SimRng, resource: &'static Resource, t: i64| {
        w.call(rng, actor, "list", t)
            .collection(resource, ns.clone())
            .query("limit=500")
    };
    match (command, &pod, &app_name) {
        (Command::GetDeployments, _, _) => send(w, role, list(w, rng, &DEPLOYMENTS, at)).0,
        (Command::GetServices, _, _) => send(w, role, list(w, rng, &SERVICES, at)).0,
        (Command::GetConfigMaps, _, _) => send(w, role, list(w, rng, &CONFIGMAPS, at)).0,
        (Command::GetEvents, _, _) => send(w, role, list(w, rng, &EVENTS, at)).0,
        (Command::GetSecrets, _, _) => send(w, role, list(w, rng, &SECRETS, at)).0,
        (Command::Top, _, _) => {
            send(
                w,
                role,
                w.call(rng, actor, "list", at)
                    .collection(&POD_METRICS, ns.clone()),
            )
            .0
        }
        (Command::GetNodes | Command::GetNamespaces, _, _) => {
            let resource = if command == Command::GetNodes {
                &NODES
            } else {
                &NAMESPACES
            };
            send(
                w,
                role,
                w.call(rng, actor, "list", at)
                    .cluster(resource)
                    .query("limit=500"),
            )
            .0
        }
        (Command::AuthCanI, _, _) => {
            let body = obj! {
                "kind": "SelfSubjectAccessReview",
                "apiVersion": "authorization.k8s.io/v1",
                "metadata": obj! { "creationTimestamp": Json::Null },
                "spec": obj! { "resourceAttributes": obj! {
                    "namespace": ns, "verb": "create", "group": "apps", "resource": "deployments",
                } },
                "status": obj! { "allowed": false },
            };
            let reason = cluster_binding(
                "system:basic-user",
                "system:basic-user",
                &Subject::Group("system:authenticated"),
            );
            let review = w
                .call(rng, actor, "create", at)
                .cluster(&SELF_SUBJECT_ACCESS_REVIEWS)
                .body(&body)
                .reason(reason);
            let done = review.completed;
            w.emit(review);
            done
        }
        (Command::GetPodYaml, Some((name, _, _)), _) => {
            send(
                w,
                role,
                w.call(rng, actor, "get", at)
                    .object(&PODS, ns.clone(), name.clone()),
            )
            .0
        }
        (Command::DescribePod, Some((name, uid, _)), _) => {
            let (t, ok) = send(
                w,
                role,
                w.call(rng, actor, "get", at)
                    .object(&PODS, ns.clone(), name.clone()),
            );
            if !ok {
                return t;
            }
            let query = format!(
                "fieldSelector=involvedObject.name%3D{name}%2CinvolvedObject.namespace%3D{ns}%2CinvolvedObject.uid%3D{uid}&limit=500"
            );
            let t = t + gap(rng);
            send(
                w,
                role,
                w.call(rng, actor, "list", t)
                    .collection(&EVENTS, ns.clone())
                    .query(query),
            )
            .0
        }
        (Command::Logs | Command::FollowLogs, Some((name, _, _)), _) => {
            let (t, ok) = send(
                w,
                role,
                w.call(rng, actor, "get", at)
                    .object(&PODS, ns.clone(), name.clone()),
            );
            if !ok {
                return t;
            }
            let t = t + gap(rng);
            let (query, held) = if command == Command::FollowLogs {
                (
                    "container=app&follow=true&tailLines=50",
                    rng.gen_range(10 * SECOND..10 * MINUTE),
                )
            } else {
                (
                    "container=app&tailLines=200",
                    rng.gen_range(20 * MILLI..400 * MILLI),
                )
            };
            let logs = w
                .call(rng, actor, "get", t)
                .object(&PODS, ns.clone(), name.clone())
                .sub("log")
                .query(query)
                .took(held);
            send(w, role, logs).0
        }
        (Command::Exec | Command::PortForward, Some((name, _, _)), _) => {
            let (t, ok) = send(
                w,
                role,
                w.call(rng, actor, "get", at)
                    .object(&PODS, ns.clone(), name.clone()),
            );
            if !ok {
                return t;
            }
            let t = t + gap(rng);
            let held = rng.gen_range(20 * SECOND..15 * MINUTE);
            let request = if command == Command::Exec {
                w.call(rng, actor, "create", t)
                    .object(&PODS, ns.clone(), name.clone())
                    .sub("exec")
                    .query("command=sh&container=app&stdin=true&stdout=true&tty=true")
            } else {
                w.call(rng, actor, "create", t)
                    .object(&PODS, ns.clone(), name.clone())
                    .sub("portforward")
            };
            send(w, role, request.code(101).took(held)).0
        }
        (Command::ApplyConfigMap, _, Some(app_name)) => {
            let config = format!("{app_name}-config");
            let (t, ok) = send(
                w,
                role,
                w.call(rng, actor, "get", at)
                    .object(&CONFIGMAPS, ns.clone(), config.clone()),
            );
            if !ok {
                return t;
            }
            let t = t + gap(rng);
            let patch = w
                .call(rng, actor, "patch", t)
                .object(&CONFIGMAPS, ns.clone(), config)
                .query("fieldManager=kubectl-client-side-apply&fieldValidation=Strict");
            send(w, role, patch).0
        }
        (
            Command::ApplyDeployment | Command::RolloutRestart | Command::Scale,
            _,
            Some(app_name),
        ) => {
            let (t, ok) = send(
                w,
                role,
                w.call(rng, actor, "get", at)
                    .object(&DEPLOYMENTS, ns.clone(), app_name.clone()),
            );
            if !ok {
                return t;
            }
            let t = t + gap(rng);
            let mut patch =
                w.call(rng, actor, "patch", t)
                    .object(&DEPLOYMENTS, ns.clone(), app_name.clone());
            patch = match command {
                Command::Scale => patch.sub("scale").query("fieldManager=kubectl-scale"),
                Command::RolloutRestart => {
                    let body = obj! { "spec": obj! { "template": obj! {
                        "metadata": obj! { "annotations": obj! {
                            "kubectl.kubernetes.io/restartedAt": crate::clock::rfc3339_seconds(t),
                        } },
                    } } };
                    patch.query("fieldManager=kubectl-rollout").body(&body)
                }
                _ => patch.query("fieldManager=kubectl-client-side-apply&fieldValidation=Strict"),
            };
            let (t, ok) = send(w, role, patch);
            if ok && command != Command::Scale {
                if let Some(app) = app {
                    crate::workloads::rollout(w, rng, app, t);
                }
            }
            t
        }
        (Command::DeletePod, Some((name, _, Some(_))), _) => {
            let body = obj! { "propagationPolicy": "Background" };
            let delete = w
                .call(rng, actor, "delete", at)
                .object(&PODS, ns.clone(), name.clone())
                .body(&body);
            let (t, ok) = send(w, role, delete);
            if ok {
                if let Some(index) = w.cluster.pods.iter().position(|p| p.name == *name) {
                    crate::workloads::replace_deleted_pod(w, rng, index, t);
                }
            }
            t
        }
        _ => send(w, role, list(w, rng, &PODS, at)).0,
    }
}
