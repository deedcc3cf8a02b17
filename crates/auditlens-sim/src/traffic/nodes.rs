//! Worker nodes: the kubelet (`system:node:<name>`) and kube-proxy on each.
//!
//! A kubelet renews its lease in `kube-node-lease` every 10 s, reads its Node object every
//! 10 s and patches `nodes/status` every five minutes, watches the pods bound to it, and holds
//! one watch per config map and secret its pods mount (the node authorizer lets it read exactly
//! those). kube-proxy watches services and endpoint slices.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use rand::Rng;

use crate::catalog::*;
use crate::clock::{MINUTE, SECOND};
use crate::cluster::{name_suffix, new_uid, Node};
use crate::identity::{cluster_binding, Actor, Identity, Subject};
use crate::traffic::{add_poller, add_watcher, PollKind, Poller, Watcher};
use crate::world::{SimRng, World};

/// Name and address of worker node number `index`, AWS style: the name spells the address.
pub(crate) fn node_address(index: usize) -> (Arc<str>, Ipv4Addr) {
    let a = 1 + (index / 200) as u8;
    let b = 10 + (index % 200) as u8;
    (
        Arc::from(format!("ip-10-0-{a}-{b}.eu-west-1.compute.internal")),
        Ipv4Addr::new(10, 0, a, b),
    )
}

/// Adds worker node number `cluster.nodes.len()` with its kubelet, kube-proxy and their
/// periodic work. `joining` nodes start their informers with a list, as after a boot.
pub(crate) fn add_node(w: &mut World, rng: &mut SimRng, release: Release, joining: bool) -> usize {
    let index = w.cluster.nodes.len();
    let (name, ip) = node_address(index);
    let kubelet_ua = client_go_agent("kubelet", release, "linux/amd64", "");
    let kubelet = w.add_actor(Actor::new(
        Identity::node(&name),
        kubelet_ua,
        IpAddr::V4(ip),
        "".into(),
    ));

    let proxy_pod: Arc<str> = Arc::from(format!("kube-proxy-{}", name_suffix(rng, 5)));
    let proxy_pod_uid = new_uid(rng);
    let proxy_sa_uid = w.cluster.account_uid(rng, "kube-system", "kube-proxy");
    let proxy_identity = Identity::service_account(
        "kube-system",
        "kube-proxy",
        &proxy_sa_uid,
        Some((&proxy_pod, &proxy_pod_uid)),
    );
    let proxy_reason = cluster_binding(
        "kubeadm:node-proxier",
        "system:node-proxier",
        &Subject::ServiceAccount {
            namespace: "kube-system",
            name: "kube-proxy",
        },
    );
    let proxy_ua = client_go_agent("kube-proxy", release, "linux/amd64", "");
    let kube_proxy = w.add_actor(Actor::new(
        proxy_identity,
        proxy_ua,
        IpAddr::V4(ip),
        proxy_reason,
    ));

    w.cluster.nodes.push(Node {
        name: name.clone(),
        kubelet,
        kube_proxy,
        last_status_patch: w.now,
        next_pod_ip: 1,
        index: u8::try_from(index % 250).unwrap_or(0),
    });
    let kube_system = w.cluster.ns("kube-system");
    w.cluster
        .place_pod_on(rng, proxy_pod, kube_system, None, index);

    add_poller(
        w,
        rng,
        Poller {
            actor: kubelet,
            kind: PollKind::NodeLease { node: index },
            every: 10 * SECOND,
        },
    );
    add_poller(
        w,
        rng,
        Poller {
            actor: kubelet,
            kind: PollKind::NodeStatus { node: index },
            every: 10 * SECOND,
        },
    );

    let spread = if joining {
        30 * SECOND
    } else {
        w.periodic_gap(rng, 450 * SECOND)
    };
    let own_node: Arc<str> = Arc::from(format!("fieldSelector=metadata.name%3D{name}"));
    let own_pods: Arc<str> = Arc::from(format!("fieldSelector=spec.nodeName%3D{name}"));
    let proxied: Arc<str> =
        Arc::from("labelSelector=%21service.kubernetes.io%2Fheadless%2C%21service.kubernetes.io%2Fservice-proxy-name");
    let informers = [
        (kubelet, &PODS, Some(own_pods)),
        (kubelet, &NODES, Some(own_node.clone())),
        (kubelet, &SERVICES, None),
        (kubelet, &RUNTIMECLASSES, None),
        (kubelet, &CSIDRIVERS, None),
        (kube_proxy, &SERVICES, Some(proxied.clone())),
        (kube_proxy, &ENDPOINTSLICES, Some(proxied)),
        (kube_proxy, &NODES, Some(own_node)),
    ];
    for (actor, resource, selector) in informers {
        let watcher = Watcher {
            actor,
            resource,
            namespace: None,
            selector,
            bookmarks: true,
            listed: !joining,
        };
        add_watcher(w, rng, watcher, spread);
    }
    index
}

/// Adds the kubelet's per-object watches for what the pods on `node` mount.
pub(crate) fn watch_mounted_objects(w: &mut World, rng: &mut SimRng, node: usize, joining: bool) {
    let mut mounted: BTreeSet<(Arc<str>, bool, String)> = BTreeSet::new();
    for pod in w.cluster.pods_on(node) {
        mounted.insert((pod.namespace.clone(), false, "kube-root-ca.crt".to_string()));
        if let Some(app) = pod.app.and_then(|a| w.cluster.apps.get(a)) {
            if app.has_config {
                mounted.insert((pod.namespace.clone(), false, app.config_name()));
            }
            if app.has_secret {
                mounted.insert((pod.namespace.clone(), true, app.secret_name()));
            }
        }
    }
    let kubelet = w.cluster.nodes[node].kubelet;
    let spread = if joining {
        30 * SECOND
    } else {
        w.periodic_gap(rng, 450 * SECOND)
    };
    for (namespace, secret, name) in mounted {
        let resource = if secret { &SECRETS } else { &CONFIGMAPS };
        let selector = Some(Arc::from(format!("fieldSelector=metadata.name%3D{name}")));
        let watcher = Watcher {
            actor: kubelet,
            resource,
            namespace: Some(namespace),
            selector,
            bookmarks: false,
            listed: !joining,
        };
        add_watcher(w, rng, watcher, spread);
    }
}

pub(crate) fn renew_node_lease(w: &mut World, rng: &mut SimRng, node: usize, at: i64) {
    let Some(host) = w.cluster.nodes.get(node) else {
        return;
    };
    let (kubelet, name) = (host.kubelet, host.name.clone());
    let update = w
        .call(rng, kubelet, "update", at)
        .object(&LEASES, "kube-node-lease", name)
        .query("timeout=10s");
    w.emit(update);
}

/// The kubelet's node status loop: read the Node from the cache, patch the status when due.
pub(crate) fn report_node_status(w: &mut World, rng: &mut SimRng, node: usize, at: i64) {
    let Some(host) = w.cluster.nodes.get(node) else {
        return;
    };
    let (kubelet, name, last) = (host.kubelet, host.name.clone(), host.last_status_patch);
    let get = w
        .call(rng, kubelet, "get", at)
        .cluster_object(&NODES, name.clone())
        .query("resourceVersion=0&timeout=10s");
    let next = get.completed + rng.gen_range(200..3_000);
    w.emit(get);
    if at - last >= 5 * MINUTE {
        let patch = w
            .call(rng, kubelet, "patch", next)
            .cluster_object(&NODES, name)
            .sub("status")
            .query("timeout=10s");
        w.emit(patch);
        w.cluster.nodes[node].last_status_patch = at;
    }
}

/// Switches a node's kubelet and kube-proxy to another release, as a node upgrade does.
pub(crate) fn upgrade_node(w: &mut World, node: usize, release: Release) {
    let Some(host) = w.cluster.nodes.get(node) else {
        return;
    };
    let (kubelet, proxy) = (host.kubelet, host.kube_proxy);
    w.actors[kubelet].user_agent = client_go_agent("kubelet", release, "linux/amd64", "");
    w.actors[proxy].user_agent = client_go_agent("kube-proxy", release, "linux/amd64", "");
}
