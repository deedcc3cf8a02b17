//! In-cluster add-ons that talk to the API with their pods' service account tokens: CoreDNS,
//! metrics-server, Prometheus and kube-state-metrics, Argo CD, ingress-nginx and cert-manager.
//!
//! Each runs as an informer-heavy client from its pod's address; the tokens are bound to the
//! pod, so `user.extra` names it. Some read secrets cluster-wide as part of their job
//! (kube-state-metrics, Argo CD, ingress-nginx, cert-manager), which is the baseline the
//! secret-reading scenarios stand out from, or not.

use std::net::IpAddr;
use std::sync::Arc;

use rand::Rng;

use crate::catalog::*;
use crate::clock::{MILLI, MINUTE, SECOND};
use crate::identity::{cluster_binding, Actor, ActorId, Identity, Subject};
use crate::json::obj;
use crate::traffic::{add_informers, add_poller, add_watcher, PollKind, Poller, Watcher};
use crate::world::{SimRng, World};

/// Creates an actor for the service account `namespace/account` bound to the first pod of
/// the app `app_name`, allowed by a cluster role binding named after `binding`.
fn pod_actor(
    w: &mut World,
    rng: &mut SimRng,
    namespace: &str,
    app_name: &str,
    account: &str,
    binding: &str,
    user_agent: &str,
) -> ActorId {
    let pod = w
        .cluster
        .app_index(namespace, app_name)
        .and_then(|app| w.cluster.pods_of(app).next())
        .map(|pod| (pod.name.clone(), pod.uid.clone(), pod.ip));
    let uid = w.cluster.account_uid(rng, namespace, account);
    let (identity, ip) = match &pod {
        Some((name, pod_uid, ip)) => (
            Identity::service_account(namespace, account, &uid, Some((name, pod_uid))),
            IpAddr::V4(*ip),
        ),
        None => (
            Identity::service_account(namespace, account, &uid, None),
            IpAddr::V4([10, 244, 0, 2].into()),
        ),
    };
    let reason = cluster_binding(
        binding,
        binding,
        &Subject::ServiceAccount {
            namespace,
            name: account,
        },
    );
    w.add_actor(Actor::new(identity, Arc::from(user_agent), ip, reason))
}

pub(crate) fn setup(w: &mut World, rng: &mut SimRng) {
    let coredns = pod_actor(
        w,
        rng,
        "kube-system",
        "coredns",
        "coredns",
        "system:coredns",
        "coredns/v0.0.0 (linux/amd64) kubernetes/$Format",
    );
    w.roster.coredns = coredns;
    add_informers(w, rng, coredns, &[&ENDPOINTSLICES, &SERVICES, &NAMESPACES]);

    let metrics = pod_actor(
        w,
        rng,
        "kube-system",
        "metrics-server",
        "metrics-server",
        "system:metrics-server",
        "metrics-server/v0.7.1 (linux/amd64) kubernetes/$Format",
    );
    add_informers(w, rng, metrics, &[&NODES, &PODS]);

    let prometheus = pod_actor(
        w,
        rng,
        "monitoring",
        "prometheus",
        "prometheus",
        "prometheus",
        "Prometheus/2.51.2",
    );
    w.roster.prometheus = prometheus;
    add_informers(w, rng, prometheus, &[&PODS, &ENDPOINTS, &SERVICES, &NODES]);
    add_poller(
        w,
        rng,
        Poller {
            actor: prometheus,
            kind: PollKind::Scrape,
            every: 30 * SECOND,
        },
    );

    let ksm = pod_actor(
        w,
        rng,
        "monitoring",
        "kube-state-metrics",
        "kube-state-metrics",
        "kube-state-metrics",
        "kube-state-metrics/v2.12.0 (linux/amd64) kubernetes/$Format",
    );
    w.roster.kube_state_metrics = ksm;
    add_informers(
        w,
        rng,
        ksm,
        &[
            &PODS,
            &NODES,
            &NAMESPACES,
            &DEPLOYMENTS,
            &REPLICASETS,
            &DAEMONSETS,
            &STATEFULSETS,
            &JOBS,
            &CRONJOBS,
            &SERVICES,
            &ENDPOINTS,
            &CONFIGMAPS,
            &SECRETS,
            &PVCS,
            &PVS,
            &RESOURCEQUOTAS,
            &HPAS,
            &INGRESSES,
            &LEASES,
            &PDBS,
            &CSRS,
        ],
    );

    let argocd = pod_actor(
        w,
        rng,
        "argocd",
        "argocd-application-controller",
        "argocd-application-controller",
        "argocd-application-controller",
        "argocd-application-controller/v2.10.7+b060053 (linux/amd64)",
    );
    w.roster.argocd = argocd;
    add_informers(
        w,
        rng,
        argocd,
        &[
            &DEPLOYMENTS,
            &REPLICASETS,
            &SERVICES,
            &CONFIGMAPS,
            &SECRETS,
            &INGRESSES,
            &PODS,
            &HPAS,
            &ENDPOINTSLICES,
        ],
    );
    let argocd_ns = w.cluster.ns("argocd");
    let spread = w.periodic_gap(rng, 450 * SECOND);
    let apps = Watcher {
        actor: argocd,
        resource: &ARGO_APPLICATIONS,
        namespace: Some(argocd_ns),
        selector: None,
        bookmarks: true,
        listed: true,
    };
    add_watcher(w, rng, apps, spread);
    add_poller(
        w,
        rng,
        Poller {
            actor: argocd,
            kind: PollKind::ArgoRefresh,
            every: 3 * MINUTE,
        },
    );

    let ingress = pod_actor(
        w,
        rng,
        "ingress-nginx",
        "ingress-nginx-controller",
        "ingress-nginx",
        "ingress-nginx",
        "nginx-ingress-controller/v1.10.1 (linux/amd64) ingress-nginx/4fb5aac",
    );
    w.roster.ingress = ingress;
    add_informers(
        w,
        rng,
        ingress,
        &[
            &INGRESSES,
            &INGRESSCLASSES,
            &SERVICES,
            &ENDPOINTSLICES,
            &SECRETS,
            &CONFIGMAPS,
        ],
    );
    let lease = PollKind::LeaderLease {
        namespace: "ingress-nginx",
        name: "ingress-nginx-leader",
    };
    add_poller(
        w,
        rng,
        Poller {
            actor: ingress,
            kind: lease,
            every: 30 * SECOND,
        },
    );
    add_poller(
        w,
        rng,
        Poller {
            actor: ingress,
            kind: PollKind::TlsSecrets,
            every: 5 * MINUTE,
        },
    );

    let cert_manager = pod_actor(
        w,
        rng,
        "cert-manager",
        "cert-manager",
        "cert-manager",
        "cert-manager-controller-certificates",
        "cert-manager-controller/v1.14.4 (linux/amd64) cert-manager/f09b64d",
    );
    w.roster.cert_manager = cert_manager;
    add_informers(
        w,
        rng,
        cert_manager,
        &[&CERTIFICATES, &CERTIFICATE_REQUESTS, &SECRETS, &INGRESSES],
    );
    let lease = PollKind::LeaderLease {
        namespace: "kube-system",
        name: "cert-manager-controller",
    };
    add_poller(
        w,
        rng,
        Poller {
            actor: cert_manager,
            kind: lease,
            every: 15 * SECOND,
        },
    );
}

/// Prometheus scraping the apiserver's metrics endpoint.
pub(crate) fn scrape(w: &mut World, rng: &mut SimRng, actor: ActorId, at: i64) {
    let request = w
        .call(rng, actor, "get", at)
        .path("/metrics")
        .took(rng.gen_range(20 * MILLI..120 * MILLI));
    w.emit(request);
}

/// Argo CD's reconciliation loop: check the server version now and then, and record the
/// sync state of each application.
pub(crate) fn argo_refresh(w: &mut World, rng: &mut SimRng, actor: ActorId, at: i64) {
    let mut t = at;
    if rng.gen_bool(0.2) {
        let version = w
            .call(rng, actor, "get", t)
            .path("/version")
            .query("timeout=32s");
        t = version.completed + rng.gen_range(MILLI..10 * MILLI);
        w.emit(version);
    }
    for env in crate::cluster::APP_NAMESPACES {
        let body = obj! {
            "status": obj! {
                "reconciledAt": crate::clock::rfc3339_seconds(t),
                "sync": obj! { "status": "Synced" },
            },
        };
        let patch = w
            .call(rng, actor, "patch", t)
            .object(&ARGO_APPLICATIONS, "argocd", format!("shop-{env}"))
            .body(&body);
        t = patch.completed + rng.gen_range(MILLI..30 * MILLI);
        w.emit(patch);
    }
}

/// ingress-nginx re-reading the TLS secrets its ingresses reference.
pub(crate) fn tls_secrets(w: &mut World, rng: &mut SimRng, actor: ActorId, at: i64) {
    let mut t = at;
    for ns in ["prod", "staging"] {
        let get = w
            .call(rng, actor, "get", t)
            .object(&SECRETS, ns, "shop-tls");
        t = get.completed + rng.gen_range(MILLI..5 * MILLI);
        w.emit(get);
    }
}
