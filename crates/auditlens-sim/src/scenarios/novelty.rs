//! Benign novelty: things that are new on the last day but are ordinary operations.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use rand::Rng;

use crate::catalog::*;
use crate::clock::{MILLI, MINUTE, SECOND};
use crate::cluster::{name_suffix, App, Namespace};
use crate::identity::{cluster_binding, namespace_binding, Actor, Identity, Subject};
use crate::json::{arr, obj, raw, Json};
use crate::traffic::control_plane::Ctl;
use crate::traffic::delivery::ci_deploy;
use crate::traffic::kubectl::{run_command, LOOKING};
use crate::traffic::nodes::{add_node, node_address, upgrade_node, watch_mounted_objects};
use crate::world::{SimRng, World};

/// Persona 0, on call, looks into production from home at night, as at work.
pub(crate) fn oncall_night(w: &mut World, rng: &mut SimRng, at: i64) {
    let Some(human) = w.humans.first() else {
        return;
    };
    let actor = human.actor;
    let saved = w.actors[actor].ip;
    w.actors[actor].ip = human.usual_ip;
    let ns = w.cluster.ns("prod");
    let mut t = crate::traffic::discovery(w, rng, actor, at);
    for _ in 0..rng.gen_range(6..11) {
        let think = rng.gen_range(5 * SECOND..90 * SECOND);
        t = run_command(w, rng, 0, &ns, t + think, &LOOKING);
    }
    w.actors[actor].ip = saved;
}

/// The CronJob's run on the last day.
pub(crate) fn nightly_job(w: &mut World, rng: &mut SimRng, at: i64) {
    crate::workloads::cron_run(w, rng, at);
}

/// All kubelets and kube-proxies restart on v1.30.1 within a few minutes.
pub(crate) fn fleet_upgrade(w: &mut World, rng: &mut SimRng, at: i64) {
    let label = w.label;
    for node in 0..w.cluster.nodes.len() {
        upgrade_node(w, node, UPGRADE_RELEASE);
        let (kubelet, proxy, name) = {
            let n = &w.cluster.nodes[node];
            (n.kubelet, n.kube_proxy, n.name.clone())
        };
        for actor in [kubelet, proxy] {
            w.actors[actor].label = label;
            w.actors[actor].label_budget = 4;
        }
        // After the restart the kubelet reports the new version and relists its pods.
        let mut t = at + rng.gen_range(0..4 * MINUTE);
        let get = w
            .call(rng, kubelet, "get", t)
            .cluster_object(&NODES, name.clone())
            .query("resourceVersion=0&timeout=10s");
        t = get.completed + rng.gen_range(MILLI..20 * MILLI);
        w.emit(get);
        let patch = w
            .call(rng, kubelet, "patch", t)
            .cluster_object(&NODES, name.clone())
            .sub("status")
            .query("timeout=10s");
        t = patch.completed + rng.gen_range(MILLI..20 * MILLI);
        w.emit(patch);
        let pods = w
            .call(rng, kubelet, "list", t)
            .cluster(&PODS)
            .query(format!(
                "fieldSelector=spec.nodeName%3D{name}&limit=500&resourceVersion=0"
            ));
        w.emit(pods);
        w.cluster.nodes[node].last_status_patch = t;
    }
}

/// A node joins: TLS bootstrap, node registration, lease, DaemonSet pod, then routine.
pub(crate) fn new_node_joins(w: &mut World, rng: &mut SimRng, at: i64) {
    let index = w.cluster.nodes.len();
    let (name, ip) = node_address(index);
    let release = if w.cluster.nodes.first().is_some_and(|n| {
        w.actors[n.kubelet]
            .user_agent
            .contains(UPGRADE_RELEASE.version)
    }) {
        UPGRADE_RELEASE
    } else {
        CLUSTER_RELEASE
    };
    let kubelet_ua = client_go_agent("kubelet", release, "linux/amd64", "");
    let token_id = name_suffix(rng, 6);
    let bootstrap = Identity::new(
        &format!("system:bootstrap:{token_id}"),
        None,
        &[
            "system:bootstrappers",
            "system:bootstrappers:kubeadm:default-node-token",
            "system:authenticated",
        ],
        &[],
    );
    let reason = cluster_binding(
        "kubeadm:kubelet-bootstrap",
        "system:node-bootstrapper",
        &Subject::Group("system:bootstrappers:kubeadm:default-node-token"),
    );
    let bootstrapper = w.add_actor(Actor::new(bootstrap, kubelet_ua, IpAddr::V4(ip), reason));
    let csr_name: Arc<str> = Arc::from(format!("csr-{}", name_suffix(rng, 5)));
    let csr = obj! {
        "kind": "CertificateSigningRequest",
        "apiVersion": "certificates.k8s.io/v1",
        "metadata": obj! { "generateName": "csr-", "creationTimestamp": Json::Null },
        "spec": obj! {
            "request": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K",
            "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
            "usages": arr!["digital signature", "client auth"],
        },
        "status": obj! {},
    };
    let create = w
        .call(rng, bootstrapper, "create", at)
        .cluster(&CSRS)
        .body(&csr);
    let mut t = create.completed + rng.gen_range(5 * MILLI..30 * MILLI);
    w.emit(create);
    let wait = w
        .call(rng, bootstrapper, "watch", t)
        .cluster(&CSRS)
        .query(format!(
            "fieldSelector=metadata.name%3D{csr_name}&resourceVersion={}&watch=true",
            w.resource_version
        ))
        .took(rng.gen_range(800 * MILLI..3 * SECOND));
    let approved_by = t + rng.gen_range(100 * MILLI..600 * MILLI);
    t = wait.completed;
    w.emit(wait);
    let approver = w.roster.ctl(Ctl::Certificate);
    let approve = w
        .call(rng, approver, "update", approved_by)
        .cluster_object(&CSRS, csr_name.clone())
        .sub("approval");
    let signed_at = approve.completed + rng.gen_range(5 * MILLI..50 * MILLI);
    w.emit(approve);
    let sign = w
        .call(rng, approver, "update", signed_at)
        .cluster_object(&CSRS, csr_name)
        .sub("status");
    w.emit(sign);

    t += rng.gen_range(200 * MILLI..2 * SECOND);
    w.now = w.now.max(at);
    let node = add_node(w, rng, release, true);
    let kubelet = w.cluster.nodes[node].kubelet;
    w.actors[kubelet].label = w.label;
    w.actors[kubelet].label_budget = 12;
    let node_body = obj! {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": obj! {
            "name": &name,
            "creationTimestamp": Json::Null,
            "labels": obj! {
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": &name,
                "kubernetes.io/os": "linux",
                "node.kubernetes.io/instance-type": "m6i.xlarge",
                "topology.kubernetes.io/zone": "eu-west-1b",
            },
            "annotations": obj! { "volumes.kubernetes.io/controller-managed-attach-detach": "true" },
        },
        "spec": obj! { "providerID": format!("aws:///eu-west-1b/i-0{}", name_suffix(rng, 16)) },
        "status": obj! { "addresses": arr![obj! { "type": "InternalIP", "address": ip.to_string() }] },
    };
    let register = w
        .call(rng, kubelet, "create", t)
        .cluster_object(&NODES, name.clone())
        .body(&node_body);
    t = register.completed + rng.gen_range(5 * MILLI..50 * MILLI);
    w.emit(register);
    let lease = w
        .call(rng, kubelet, "create", t)
        .object(&LEASES, "kube-node-lease", name.clone())
        .query("timeout=10s");
    t = lease.completed + rng.gen_range(5 * MILLI..50 * MILLI);
    w.emit(lease);
    let ttl = w
        .call(rng, w.roster.ctl(Ctl::Ttl), "patch", t)
        .cluster_object(&NODES, name.clone());
    w.emit(ttl);
    let lifecycle = w
        .call(
            rng,
            w.roster.ctl(Ctl::NodeLifecycle),
            "patch",
            t + 40 * MILLI,
        )
        .cluster_object(&NODES, name);
    w.emit(lifecycle);

    // The DaemonSet controller creates kube-proxy's pod for the node (add_node placed it).
    let proxy_pod = w.cluster.pods.iter().rposition(|p| p.node == node);
    if let Some(pod) = proxy_pod {
        let ds = w.roster.ctl(Ctl::DaemonSet);
        let when = t + rng.gen_range(200 * MILLI..SECOND);
        let create = w
            .call(rng, ds, "create", when)
            .collection(&PODS, "kube-system")
            .pod_security("privileged:latest", None);
        let created = create.completed;
        w.emit(create);
        crate::workloads::start_pod(w, rng, pod, created);
    }
    watch_mounted_objects(w, rng, node, true);
}

/// New CI runners come online; the next deploy runs on one of them.
pub(crate) fn ci_new_runner_ips(w: &mut World, rng: &mut SimRng, at: i64) {
    let fresh = [Ipv4Addr::new(172, 20, 31, 7), Ipv4Addr::new(172, 20, 31, 8)];
    w.delivery.runner_ips = fresh.to_vec();
    let apps: Vec<usize> = (0..w.cluster.apps.len())
        .filter(|&i| {
            &*w.cluster.apps[i].namespace == "staging" && w.cluster.apps[i].build.is_some()
        })
        .collect();
    if !apps.is_empty() {
        let app = apps[crate::cluster::random_index(rng, apps.len())];
        ci_deploy(w, rng, app, at);
    }
    // From now on the pool has old and new runners; later jobs are not labelled.
    w.delivery
        .runner_ips
        .extend([Ipv4Addr::new(172, 20, 4, 11), Ipv4Addr::new(172, 20, 7, 31)]);
}

/// CI sets up a new namespace for a new service and deploys it.
pub(crate) fn deploy_tool_namespace(w: &mut World, rng: &mut SimRng, at: i64) {
    let deployer = w.roster.deployer;
    let ns: Arc<str> = Arc::from("analytics");
    let sa = Subject::ServiceAccount {
        namespace: "ci",
        name: "deployer",
    };
    let creator = cluster_binding("ci-deployer-namespaces", "namespace-creator", &sa);
    let edit = namespace_binding("ci-deployer", &ns, "edit", &sa);
    let mut t =
        crate::traffic::discovery(w, rng, deployer, at) + rng.gen_range(50 * MILLI..300 * MILLI);

    let namespace = obj! {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": obj! {
            "name": "analytics",
            "creationTimestamp": Json::Null,
            "labels": obj! { "pod-security.kubernetes.io/enforce": "baseline", "team": "data" },
        },
        "spec": obj! {},
        "status": obj! {},
    };
    let create = w
        .call(rng, deployer, "create", t)
        .cluster_object(&NAMESPACES, ns.clone())
        .body(&namespace)
        .reason(creator);
    t = create.completed;
    w.emit(create);
    w.cluster.namespaces.push(Namespace {
        name: ns.clone(),
        enforce: "baseline:latest",
    });

    let sa_ctl = w.roster.ctl(Ctl::ServiceAccount);
    let when = t + rng.gen_range(5 * MILLI..50 * MILLI);
    let default_sa = w
        .call(rng, sa_ctl, "create", when)
        .collection(&SERVICEACCOUNTS, ns.clone());
    w.emit(default_sa);
    let ca = w.roster.ctl(Ctl::RootCaPublisher);
    let when = t + rng.gen_range(5 * MILLI..50 * MILLI);
    let root_ca = w
        .call(rng, ca, "create", when)
        .collection(&CONFIGMAPS, ns.clone());
    w.emit(root_ca);

    let name = "analytics-api";
    let objects: [(&'static Resource, Json); 5] = [
        (
            &SERVICEACCOUNTS,
            obj! { "kind": "ServiceAccount", "apiVersion": "v1", "metadata": obj! { "name": name, "namespace": "analytics" } },
        ),
        (
            &ROLES,
            obj! {
                "kind": "Role", "apiVersion": "rbac.authorization.k8s.io/v1",
                "metadata": obj! { "name": "analytics-api", "namespace": "analytics" },
                "rules": arr![obj! { "verbs": arr!["get", "list", "watch"], "apiGroups": arr![""], "resources": arr!["configmaps"] }],
            },
        ),
        (
            &ROLEBINDINGS,
            obj! {
                "kind": "RoleBinding", "apiVersion": "rbac.authorization.k8s.io/v1",
                "metadata": obj! { "name": "analytics-api", "namespace": "analytics" },
                "subjects": arr![obj! { "kind": "ServiceAccount", "name": name, "namespace": "analytics" }],
                "roleRef": obj! { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "analytics-api" },
            },
        ),
        (&CONFIGMAPS, Json::Null),
        (
            &SERVICES,
            obj! {
                "kind": "Service", "apiVersion": "v1",
                "metadata": obj! { "name": name, "namespace": "analytics" },
                "spec": obj! {
                    "ports": arr![obj! { "name": "http", "port": 80_u32, "targetPort": 8080_u32 }],
                    "selector": obj! { "app.kubernetes.io/name": name },
                },
            },
        ),
    ];
    let apply = "fieldManager=kubectl-client-side-apply&fieldValidation=Strict";
    for (resource, body) in objects {
        t += rng.gen_range(30 * MILLI..300 * MILLI);
        let object_name = if resource.plural == "configmaps" {
            "analytics-api-config"
        } else {
            name
        };
        let get = w
            .call(rng, deployer, "get", t)
            .object(resource, ns.clone(), object_name)
            .code(404)
            .reason(edit.clone());
        t = get.completed + rng.gen_range(5 * MILLI..40 * MILLI);
        w.emit(get);
        let mut create = w
            .call(rng, deployer, "create", t)
            .object(resource, ns.clone(), object_name)
            .query(apply)
            .reason(edit.clone());
        if !matches!(body, Json::Null) {
            create = create.body(&body);
            if resource.group == "rbac.authorization.k8s.io" {
                create = create.response(&body);
            }
        }
        t = create.completed;
        w.emit(create);
    }

    let placeholder = raw(&Json::Null);
    w.cluster.apps.push(App {
        namespace: ns.clone(),
        name: Arc::from(name),
        replicas: 2,
        repository: "registry.example.com/data/analytics-api".to_string(),
        build: Some(0),
        port: 8080,
        has_config: true,
        has_secret: false,
        autoscaled: false,
        rs_hash: Arc::from(""),
        rs_uid: Arc::from(""),
        template: placeholder,
    });
    let app = w.cluster.apps.len() - 1;
    let image = w.cluster.apps[app].image();
    let deployment = obj! {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": obj! { "name": name, "namespace": "analytics", "creationTimestamp": Json::Null },
        "spec": obj! {
            "replicas": 2_u32,
            "selector": obj! { "matchLabels": obj! { "app.kubernetes.io/name": name } },
            "template": obj! {
                "metadata": obj! { "labels": obj! { "app.kubernetes.io/name": name } },
                "spec": obj! { "containers": arr![obj! { "name": "app", "image": image }], "serviceAccountName": name },
            },
        },
        "status": obj! {},
    };
    t += rng.gen_range(30 * MILLI..300 * MILLI);
    let create = w
        .call(rng, deployer, "create", t)
        .object(&DEPLOYMENTS, ns, name)
        .query(apply)
        .body(&deployment)
        .reason(edit);
    t = create.completed;
    w.emit(create);
    crate::workloads::rollout(w, rng, app, t);
}
