//! The control plane: kube-apiserver's own loopback clients, kube-controller-manager with its
//! per-controller service accounts, kube-scheduler, and the kubelet probing the apiserver.
//!
//! The controllers' informers share one identity (`system:kube-controller-manager`, user agent
//! ending in `/shared-informers`); what a controller writes goes out under its own service
//! account, `system:serviceaccount:kube-system:<name>`, with a user agent naming it. Those
//! writes come from workload cascades ([`crate::workloads`]); here are the periodic parts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rand::Rng;

use crate::catalog::*;
use crate::clock::{MILLI, SECOND};
use crate::identity::{cluster_binding, public_info_reason, Actor, ActorId, Identity, Subject};
use crate::traffic::{add_informers, add_poller, PollKind, Poller};
use crate::world::{SimRng, World};

/// The control plane node's address: where controller-manager and scheduler connect from.
pub(crate) const CONTROL_PLANE_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 10);

/// kube-controller-manager's controllers that act under their own service account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ctl {
    Deployment,
    ReplicaSet,
    EndpointSlice,
    Endpoint,
    Job,
    CronJob,
    GarbageCollector,
    Namespace,
    ServiceAccount,
    RootCaPublisher,
    Hpa,
    ResourceQuota,
    DaemonSet,
    Certificate,
    NodeLifecycle,
    Ttl,
    ClusterRoleAggregation,
    PodGc,
    StatefulSet,
    Disruption,
}

impl Ctl {
    pub(crate) const ALL: [Ctl; 20] = [
        Ctl::Deployment,
        Ctl::ReplicaSet,
        Ctl::EndpointSlice,
        Ctl::Endpoint,
        Ctl::Job,
        Ctl::CronJob,
        Ctl::GarbageCollector,
        Ctl::Namespace,
        Ctl::ServiceAccount,
        Ctl::RootCaPublisher,
        Ctl::Hpa,
        Ctl::ResourceQuota,
        Ctl::DaemonSet,
        Ctl::Certificate,
        Ctl::NodeLifecycle,
        Ctl::Ttl,
        Ctl::ClusterRoleAggregation,
        Ctl::PodGc,
        Ctl::StatefulSet,
        Ctl::Disruption,
    ];

    /// The service account name, as in `system:serviceaccount:kube-system:<name>`.
    pub(crate) fn account(self) -> &'static str {
        match self {
            Ctl::Deployment => "deployment-controller",
            Ctl::ReplicaSet => "replicaset-controller",
            Ctl::EndpointSlice => "endpointslice-controller",
            Ctl::Endpoint => "endpoint-controller",
            Ctl::Job => "job-controller",
            Ctl::CronJob => "cronjob-controller",
            Ctl::GarbageCollector => "generic-garbage-collector",
            Ctl::Namespace => "namespace-controller",
            Ctl::ServiceAccount => "service-account-controller",
            Ctl::RootCaPublisher => "root-ca-cert-publisher",
            Ctl::Hpa => "horizontal-pod-autoscaler",
            Ctl::ResourceQuota => "resourcequota-controller",
            Ctl::DaemonSet => "daemon-set-controller",
            Ctl::Certificate => "certificate-controller",
            Ctl::NodeLifecycle => "node-controller",
            Ctl::Ttl => "ttl-controller",
            Ctl::ClusterRoleAggregation => "clusterrole-aggregation-controller",
            Ctl::PodGc => "pod-garbage-collector",
            Ctl::StatefulSet => "statefulset-controller",
            Ctl::Disruption => "disruption-controller",
        }
    }
}

const KCM_INFORMERS: &[&Resource] = &[
    &PODS,
    &NODES,
    &NAMESPACES,
    &SERVICES,
    &ENDPOINTS,
    &ENDPOINTSLICES,
    &CONFIGMAPS,
    &SECRETS,
    &SERVICEACCOUNTS,
    &DEPLOYMENTS,
    &REPLICASETS,
    &STATEFULSETS,
    &DAEMONSETS,
    &JOBS,
    &CRONJOBS,
    &PVS,
    &PVCS,
    &RESOURCEQUOTAS,
    &PDBS,
    &HPAS,
    &LEASES,
    &CSRS,
    &CLUSTERROLES,
];

const SCHEDULER_INFORMERS: &[&Resource] = &[
    &PODS,
    &NODES,
    &NAMESPACES,
    &SERVICES,
    &PVS,
    &PVCS,
    &STORAGECLASSES,
    &CSINODES,
    &CSIDRIVERS,
    &REPLICASETS,
    &STATEFULSETS,
    &PDBS,
];

const APISERVER_INFORMERS: &[&Resource] = &[
    &NAMESPACES,
    &SERVICES,
    &CLUSTERROLES,
    &CLUSTERROLEBINDINGS,
    &ROLES,
    &ROLEBINDINGS,
    &PRIORITYCLASSES,
    &VALIDATING_WEBHOOKS,
    &PODS,
    &NODES,
    &PVS,
];

fn random_uid(rng: &mut SimRng) -> String {
    crate::event::AuditId::random(rng).to_string()
}

/// Creates the control plane's actors and schedules their periodic work.
pub(crate) fn setup(w: &mut World, rng: &mut SimRng) {
    let cp_ip = IpAddr::V4(CONTROL_PLANE_IP);
    let release = CLUSTER_RELEASE;
    let platform = "linux/amd64";

    let apiserver_uid = random_uid(rng);
    let apiserver_id = Identity::new(
        "system:apiserver",
        Some(&apiserver_uid),
        &["system:authenticated", "system:masters"],
        &[],
    );
    let apiserver_ua = client_go_agent("kube-apiserver", release, platform, "");
    w.roster.apiserver = w.add_actor(Actor::new(
        apiserver_id,
        apiserver_ua,
        IpAddr::V6(Ipv6Addr::LOCALHOST),
        "".into(),
    ));

    let kcm = Identity::new(
        "system:kube-controller-manager",
        None,
        &["system:authenticated"],
        &[],
    );
    let kcm_reason = cluster_binding(
        "system:kube-controller-manager",
        "system:kube-controller-manager",
        &Subject::User("system:kube-controller-manager"),
    );
    let kcm_leader_ua = client_go_agent(
        "kube-controller-manager",
        release,
        platform,
        "/leader-election",
    );
    w.roster.kcm_leader = w.add_actor(Actor::new(
        kcm.clone(),
        kcm_leader_ua,
        cp_ip,
        kcm_reason.clone(),
    ));
    let kcm_informer_ua = client_go_agent(
        "kube-controller-manager",
        release,
        platform,
        "/shared-informers",
    );
    w.roster.kcm_informers = w.add_actor(Actor::new(kcm, kcm_informer_ua, cp_ip, kcm_reason));

    let scheduler = Identity::new(
        "system:kube-scheduler",
        None,
        &["system:authenticated"],
        &[],
    );
    let scheduler_reason = cluster_binding(
        "system:kube-scheduler",
        "system:kube-scheduler",
        &Subject::User("system:kube-scheduler"),
    );
    let scheduler_ua = client_go_agent("kube-scheduler", release, platform, "/scheduler");
    w.roster.scheduler = w.add_actor(Actor::new(
        scheduler.clone(),
        scheduler_ua,
        cp_ip,
        scheduler_reason.clone(),
    ));
    let scheduler_leader_ua =
        client_go_agent("kube-scheduler", release, platform, "/leader-election");
    w.roster.scheduler_leader = w.add_actor(Actor::new(
        scheduler,
        scheduler_leader_ua,
        cp_ip,
        scheduler_reason,
    ));

    let probe_ua = "kube-probe/1.29".into();
    w.roster.probe = w.add_actor(Actor::new(
        Identity::anonymous(),
        probe_ua,
        cp_ip,
        public_info_reason(),
    ));

    for ctl in Ctl::ALL {
        let name = ctl.account();
        let uid = random_uid(rng);
        let identity = Identity::service_account("kube-system", name, &uid, None);
        let ua = client_go_agent(
            "kube-controller-manager",
            release,
            platform,
            &format!("/system:serviceaccount:kube-system:{name}"),
        );
        let role = format!("system:controller:{name}");
        let reason = cluster_binding(
            &role,
            &role,
            &Subject::ServiceAccount {
                namespace: "kube-system",
                name,
            },
        );
        let id = w.add_actor(Actor::new(identity, ua, cp_ip, reason));
        w.roster.controllers.push(id);
    }

    let (kcm_leader, scheduler_leader, apiserver) = (
        w.roster.kcm_leader,
        w.roster.scheduler_leader,
        w.roster.apiserver,
    );
    let (kcm_informers, sched) = (w.roster.kcm_informers, w.roster.scheduler);
    add_informers(w, rng, kcm_informers, KCM_INFORMERS);
    add_informers(w, rng, sched, SCHEDULER_INFORMERS);
    add_informers(w, rng, apiserver, APISERVER_INFORMERS);

    let lease = |namespace, name| PollKind::LeaderLease { namespace, name };
    add_poller(
        w,
        rng,
        Poller {
            actor: kcm_leader,
            kind: lease("kube-system", "kube-controller-manager"),
            every: 2 * SECOND,
        },
    );
    add_poller(
        w,
        rng,
        Poller {
            actor: scheduler_leader,
            kind: lease("kube-system", "kube-scheduler"),
            every: 2 * SECOND,
        },
    );
    let lease_name = format!("apiserver-{}", crate::cluster::name_suffix(rng, 26)).into();
    add_poller(
        w,
        rng,
        Poller {
            actor: apiserver,
            kind: PollKind::ApiserverLease { name: lease_name },
            every: 10 * SECOND,
        },
    );
    add_poller(
        w,
        rng,
        Poller {
            actor: apiserver,
            kind: PollKind::EndpointReconciler,
            every: 10 * SECOND,
        },
    );
    let probe = w.roster.probe;
    add_poller(
        w,
        rng,
        Poller {
            actor: probe,
            kind: PollKind::Probe,
            every: 5 * SECOND,
        },
    );
    for ctl in [Ctl::GarbageCollector, Ctl::ResourceQuota] {
        let actor = w.roster.ctl(ctl);
        add_poller(
            w,
            rng,
            Poller {
                actor,
                kind: PollKind::Discovery,
                every: 30 * SECOND,
            },
        );
    }
}

/// Schedules the HPA controller for every autoscaled app (after the apps exist).
pub(crate) fn setup_autoscaling(w: &mut World, rng: &mut SimRng) {
    let actor = w.roster.ctl(Ctl::Hpa);
    let apps: Vec<usize> = (0..w.cluster.apps.len())
        .filter(|&i| w.cluster.apps[i].autoscaled)
        .collect();
    for app in apps {
        add_poller(
            w,
            rng,
            Poller {
                actor,
                kind: PollKind::Autoscale { app },
                every: 15 * SECOND,
            },
        );
    }
}

/// client-go leader election: read the lease, then write it back with a new renew time.
pub(crate) fn renew_leader_lease(
    w: &mut World,
    rng: &mut SimRng,
    actor: ActorId,
    namespace: &'static str,
    name: &'static str,
    at: i64,
) {
    let get = w
        .call(rng, actor, "get", at)
        .object(&LEASES, namespace, name)
        .query("timeout=5s");
    let next = get.completed + rng.gen_range(100..900);
    w.emit(get);
    let mut update = w
        .call(rng, actor, "update", next)
        .object(&LEASES, namespace, name)
        .query("timeout=5s");
    if rng.gen_bool(0.0005) {
        update = update.code(409);
    }
    w.emit(update);
}

pub(crate) fn renew_apiserver_lease(
    w: &mut World,
    rng: &mut SimRng,
    actor: ActorId,
    name: &str,
    at: i64,
) {
    let update = w
        .call(rng, actor, "update", at)
        .object(&LEASES, "kube-system", name);
    w.emit(update);
}

/// The apiserver checking that the `kubernetes` service still points at the live apiservers.
pub(crate) fn reconcile_endpoints(w: &mut World, rng: &mut SimRng, actor: ActorId, at: i64) {
    let svc = w
        .call(rng, actor, "get", at)
        .object(&SERVICES, "default", "kubernetes");
    let mut t = svc.completed + rng.gen_range(50..400);
    w.emit(svc);
    for resource in [&ENDPOINTS, &ENDPOINTSLICES] {
        let get = w
            .call(rng, actor, "get", t)
            .object(resource, "default", "kubernetes");
        t = get.completed + rng.gen_range(50..400);
        w.emit(get);
    }
}

/// The kubelet of the control plane node probing the apiserver static pod.
pub(crate) fn probe(w: &mut World, rng: &mut SimRng, actor: ActorId, at: i64) {
    let path = if rng.gen_bool(0.5) {
        "/livez"
    } else {
        "/readyz"
    };
    let request = w
        .call(rng, actor, "get", at)
        .path(path)
        .took(rng.gen_range(300..4 * MILLI));
    w.emit(request);
}

/// The HPA controller reading pod metrics and, when they moved, the autoscaler's status.
pub(crate) fn autoscale(w: &mut World, rng: &mut SimRng, actor: ActorId, app: usize, at: i64) {
    let Some(target) = w.cluster.apps.get(app) else {
        return;
    };
    let (ns, name) = (target.namespace.clone(), target.name.clone());
    let selector = format!("labelSelector=app.kubernetes.io%2Fname%3D{name}");
    let metrics = w
        .call(rng, actor, "list", at)
        .collection(&POD_METRICS, ns.clone())
        .query(selector);
    let next = metrics.completed + rng.gen_range(MILLI..5 * MILLI);
    w.emit(metrics);
    if rng.gen_bool(0.25) {
        let update = w
            .call(rng, actor, "update", next)
            .object(&HPAS, ns, name)
            .sub("status");
        w.emit(update);
    }
}
