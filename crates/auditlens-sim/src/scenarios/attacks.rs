//! Attacks with people's and CI's accounts. Each is a few requests with the timing of a person at a keyboard or a
//! script, from the identity, address and user agent that make it an attack, with responses
//! (allowed, forbidden) consistent with the simulated RBAC.

use std::sync::Arc;

use rand::Rng;

use crate::catalog::*;
use crate::clock::{MILLI, MINUTE, SECOND};
use crate::identity::{cluster_binding, namespace_binding, Identity, Subject};
use crate::json::{arr, obj, Json};
use crate::scenarios::script::{borrowed, human_actor, pod_in_app, Script};
use crate::traffic::discovery;
use crate::world::{SimRng, World};

/// An SRE account (persona 3) execs into production at 03:10 from a never-seen address.
pub(crate) fn exec_prod_at_night(w: &mut World, rng: &mut SimRng, at: i64) {
    let sre = human_actor(w, 3);
    let ua = w.actors[sre].user_agent.clone();
    let actor = borrowed(w, sre, ua, [192, 0, 2, 77]);
    w.actors[actor].reason =
        namespace_binding("sre-admin", "prod", "admin", &Subject::Group("oidc:sre"));
    let mut s = Script::typing(discovery(w, rng, actor, at));
    s.call(w, rng, actor, "list", |r| {
        r.collection(&PODS, "prod").query("limit=500")
    });
    for (app, command) in [
        (
            "web-frontend",
            "command=sh&container=app&stdin=true&stdout=true&tty=true",
        ),
        (
            "catalog-db",
            "command=sh&command=-c&command=env&container=app&stderr=true&stdout=true",
        ),
    ] {
        let Some(pod) = pod_in_app(w, "prod", app) else {
            continue;
        };
        s.call(w, rng, actor, "get", |r| {
            r.object(&PODS, "prod", pod.clone())
        });
        let held = if command.contains("tty") {
            rng.gen_range(3 * MINUTE..9 * MINUTE)
        } else {
            rng.gen_range(300 * MILLI..2 * SECOND)
        };
        let exec = w
            .call(rng, actor, "create", s.t)
            .object(&PODS, "prod", pod)
            .sub("exec")
            .query(command)
            .code(101)
            .took(held);
        s.send(w, rng, exec);
    }
}

/// The CI token, from a CI runner, creating a privileged pod with the host's `/` mounted.
pub(crate) fn privileged_pod(w: &mut World, rng: &mut SimRng, at: i64) {
    let deployer = w.roster.deployer;
    let ua = w.actors[deployer].user_agent.clone();
    let actor = borrowed(w, deployer, ua, [172, 20, 4, 12]);
    w.actors[actor].reason = namespace_binding(
        "ci-deployer",
        "default",
        "edit",
        &Subject::ServiceAccount {
            namespace: "ci",
            name: "deployer",
        },
    );
    let body = obj! {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": obj! { "name": "node-debugger", "namespace": "default", "creationTimestamp": Json::Null },
        "spec": obj! {
            "volumes": arr![obj! { "name": "host-root", "hostPath": obj! { "path": "/", "type": "" } }],
            "containers": arr![obj! {
                "name": "debugger",
                "image": "docker.io/library/alpine:3.19",
                "command": arr!["sleep", "infinity"],
                "resources": obj! {},
                "volumeMounts": arr![obj! { "name": "host-root", "mountPath": "/host" }],
                "securityContext": obj! { "privileged": true },
            }],
            "restartPolicy": "Never",
            "hostNetwork": true,
            "hostPID": true,
        },
        "status": obj! {},
    };
    let violations = "hostNetwork=true, hostPID=true), privileged (container \"debugger\" must not set securityContext.privileged=true), hostPath volumes (volume \"host-root\")";
    let mut s = Script::typing(at);
    let create = w
        .call(rng, actor, "create", s.t)
        .object(&PODS, "default", "node-debugger")
        .body(&body)
        .pod_security(
            "privileged:latest",
            Some(&format!(
                "would violate PodSecurity \"baseline:latest\": host namespaces ({violations}"
            )),
        );
    let created = create.completed;
    s.send(w, rng, create);
    // The cluster runs the pod like any other; only the attacker's own requests are labelled.
    let label = w.label.take();
    let default_ns = w.cluster.ns("default");
    let pod = w
        .cluster
        .place_pod(rng, Arc::from("node-debugger"), default_ns, None);
    let ready = crate::workloads::start_pod(w, rng, pod, created);
    w.label = label;
    s.t = s.t.max(ready + rng.gen_range(2 * SECOND..10 * SECOND));
    s.call(w, rng, actor, "get", |r| {
        r.object(&PODS, "default", "node-debugger")
    });
    let exec = w
        .call(rng, actor, "create", s.t)
        .object(&PODS, "default", "node-debugger")
        .sub("exec")
        .query("command=chroot&command=%2Fhost&command=sh&container=debugger&stdin=true&stdout=true&tty=true")
        .code(101)
        .took(rng.gen_range(2 * MINUTE..6 * MINUTE));
    s.send(w, rng, exec);
}

/// The platform account (persona 0) binds cluster-admin to a developer (persona 1), who uses
/// it within minutes.
pub(crate) fn cluster_admin_binding(w: &mut World, rng: &mut SimRng, at: i64) {
    let admin = human_actor(w, 0);
    let developer = human_actor(w, 1);
    let grantee = w.actors[developer].identity.username.clone();
    let binding = obj! {
        "kind": "ClusterRoleBinding",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": obj! { "name": "bob-cluster-admin", "creationTimestamp": Json::Null },
        "subjects": arr![obj! { "kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": &grantee }],
        "roleRef": obj! { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin" },
    };
    let mut s = Script::typing(at);
    let created_at = crate::clock::rfc3339_seconds(s.t);
    let response = obj! {
        "kind": "ClusterRoleBinding",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": obj! {
            "name": "bob-cluster-admin",
            "uid": crate::cluster::new_uid(rng).to_string(),
            "resourceVersion": (w.resource_version + 1).to_string(),
            "creationTimestamp": created_at,
        },
        "subjects": arr![obj! { "kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": &grantee }],
        "roleRef": obj! { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin" },
    };
    let create = w
        .call(rng, admin, "create", s.t)
        .cluster_object(&CLUSTERROLEBINDINGS, "bob-cluster-admin")
        .query("fieldManager=kubectl-create&fieldValidation=Strict")
        .body(&binding)
        .response(&response);
    s.send(w, rng, create);
    s.t += rng.gen_range(MINUTE..4 * MINUTE);
    let reason = cluster_binding(
        "bob-cluster-admin",
        "cluster-admin",
        &Subject::User(&grantee),
    );
    s.call(w, rng, developer, "list", |r| {
        r.collection(&SECRETS, "kube-system")
            .query("limit=500")
            .reason(reason.clone())
    });
    s.call(w, rng, developer, "list", |r| {
        r.cluster(&NODES).query("limit=500").reason(reason)
    });
}

/// A developer (persona 2) impersonating `system:admin` in `system:masters`.
pub(crate) fn impersonation(w: &mut World, rng: &mut SimRng, at: i64) {
    let developer = human_actor(w, 2);
    let masters = Identity::new(
        "system:admin",
        None,
        &["system:masters", "system:authenticated"],
        &[],
    );
    let reason = cluster_binding(
        "cluster-admin",
        "cluster-admin",
        &Subject::Group("system:masters"),
    );
    let mut s = Script::typing(at);
    for step in 0..3 {
        let request = match step {
            0 => w
                .call(rng, developer, "list", s.t)
                .collection(&SECRETS, "kube-system")
                .query("limit=500"),
            1 => w.call(rng, developer, "get", s.t).object(
                &SECRETS,
                "kube-system",
                "bootstrap-token-abcdef",
            ),
            _ => w
                .call(rng, developer, "list", s.t)
                .cluster(&NODES)
                .query("limit=500"),
        };
        s.send(
            w,
            rng,
            request
                .impersonating(masters.clone())
                .reason(reason.clone()),
        );
    }
}

/// A developer token (persona 1) in a script sweeping secrets and config maps everywhere.
pub(crate) fn secrets_sweep(w: &mut World, rng: &mut SimRng, at: i64) {
    let developer = human_actor(w, 1);
    let actor = borrowed(
        w,
        developer,
        Arc::from("OpenAPI-Generator/29.0.0/python"),
        [0, 0, 0, 0],
    );
    w.actors[actor].ip = w.actors[developer].ip;
    let namespaces: Vec<Arc<str>> = w
        .cluster
        .namespaces
        .iter()
        .map(|ns| ns.name.clone())
        .collect();
    let mut s = Script::automated(at);
    for ns in namespaces {
        let allowed = matches!(&*ns, "dev" | "staging");
        let reason = namespace_binding(
            "developers-edit",
            &ns,
            "edit",
            &Subject::Group("oidc:developers"),
        );
        for resource in [&SECRETS, &CONFIGMAPS] {
            let request = w
                .call(rng, actor, "list", s.t)
                .collection(resource, ns.clone());
            let request = if allowed {
                request.reason(reason.clone())
            } else {
                request.forbid()
            };
            s.send(w, rng, request);
        }
        if allowed {
            for app in ["checkout-api", "orders-worker", "catalog-db"] {
                let get = w.call(rng, actor, "get", s.t).object(
                    &SECRETS,
                    ns.clone(),
                    format!("{app}-secrets"),
                );
                s.send(w, rng, get.reason(reason.clone()));
            }
        }
    }
}

/// An SRE account (persona 5) port-forwarding to the production database from a new address.
pub(crate) fn port_forward(w: &mut World, rng: &mut SimRng, at: i64) {
    let sre = human_actor(w, 5);
    let ua = w.actors[sre].user_agent.clone();
    let actor = borrowed(w, sre, ua, [192, 0, 2, 150]);
    w.actors[actor].reason =
        namespace_binding("sre-admin", "prod", "admin", &Subject::Group("oidc:sre"));
    let Some(pod) = pod_in_app(w, "prod", "catalog-db") else {
        return;
    };
    let mut s = Script::typing(discovery(w, rng, actor, at));
    s.call(w, rng, actor, "list", |r| {
        r.collection(&PODS, "prod")
            .query("labelSelector=app.kubernetes.io%2Fname%3Dcatalog-db&limit=500")
    });
    s.call(w, rng, actor, "get", |r| {
        r.object(&PODS, "prod", pod.clone())
    });
    let forward = w
        .call(rng, actor, "create", s.t)
        .object(&PODS, "prod", pod)
        .sub("portforward")
        .code(101)
        .took(rng.gen_range(12 * MINUTE..35 * MINUTE));
    s.send(w, rng, forward);
}
