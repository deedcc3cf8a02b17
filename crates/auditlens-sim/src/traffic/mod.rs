//! Ordinary cluster traffic: who talks to the API server, how often, and what they ask.
//!
//! Most machine traffic has one of two shapes, both modelled here:
//! - a [`Watcher`] is an informer: an initial list, then one watch after another, each held
//!   open for client-go's random 5-10 minutes and logged when it closes;
//! - a [`Poller`] does something on a fixed period: a lease renewal, a node heartbeat, a
//!   probe, a metrics scrape, a discovery refresh.
//!
//! The submodules set up and run the actors: the control plane, kubelets and kube-proxies,
//! in-cluster add-ons, people at their terminals, and delivery (CI, Argo CD, the CronJob).
//! Periodic traffic runs at [`World::share`] of its real rate; people and delivery do not.

pub(crate) mod addons;
pub(crate) mod control_plane;
pub(crate) mod delivery;
pub(crate) mod kubectl;
pub(crate) mod nodes;
pub(crate) mod people;

use std::fmt::Write as _;
use std::sync::Arc;

use rand::Rng;

use crate::catalog::Resource;
use crate::clock::{MILLI, SECOND};
use crate::identity::ActorId;
use crate::world::{SimRng, Task, World};

/// An informer of one actor on one resource.
pub(crate) struct Watcher {
    pub actor: ActorId,
    pub resource: &'static Resource,
    /// `None` watches all namespaces (or a cluster-scoped resource).
    pub namespace: Option<Arc<str>>,
    /// URL-encoded selector parameters, e.g. `fieldSelector=spec.nodeName%3Dnode-1`.
    pub selector: Option<Arc<str>>,
    /// Whether the client asks for bookmarks (informers do; kubelet's per-object watches do not).
    pub bookmarks: bool,
    /// Whether the initial list already happened.
    pub listed: bool,
}

/// Periodic work of one actor.
pub(crate) struct Poller {
    pub actor: ActorId,
    pub kind: PollKind,
    /// The real period in microseconds.
    pub every: i64,
}

#[derive(Clone, Debug)]
pub(crate) enum PollKind {
    /// Leader election: get then update a lease.
    LeaderLease {
        namespace: &'static str,
        name: &'static str,
    },
    /// The apiserver's identity lease.
    ApiserverLease {
        name: Arc<str>,
    },
    /// The apiserver's endpoint reconciler checking the `kubernetes` service.
    EndpointReconciler,
    NodeLease {
        node: usize,
    },
    NodeStatus {
        node: usize,
    },
    /// The kubelet probing the apiserver's static pod: `/livez`, `/readyz`.
    Probe,
    /// Prometheus scraping the apiserver's `/metrics`.
    Scrape,
    /// Aggregated discovery: `/api` and `/apis`.
    Discovery,
    /// The HPA controller fetching pod metrics for an autoscaled app.
    Autoscale {
        app: usize,
    },
    /// Argo CD refreshing its applications.
    ArgoRefresh,
    /// ingress-nginx reading the TLS secrets of its ingresses.
    TlsSecrets,
}

/// Adds an informer and schedules its first renewal at a random point of its cycle.
pub(crate) fn add_watcher(w: &mut World, rng: &mut SimRng, watcher: Watcher, first_in: i64) {
    w.watchers.push(watcher);
    let index = u32::try_from(w.watchers.len() - 1).unwrap_or(u32::MAX);
    let at = w.now + rng.gen_range(0..first_in.max(1));
    w.schedule(at, Task::Watch(index));
}

/// Adds a periodic job and schedules its first run at a random point of its (thinned) period.
pub(crate) fn add_poller(w: &mut World, rng: &mut SimRng, poller: Poller) {
    let first = w.periodic_gap(rng, poller.every);
    w.pollers.push(poller);
    let index = u32::try_from(w.pollers.len() - 1).unwrap_or(u32::MAX);
    let at = w.now + rng.gen_range(0..first);
    w.schedule(at, Task::Poll(index));
}

/// An informer adding its watches for the resources of `list` across all namespaces.
pub(crate) fn add_informers(
    w: &mut World,
    rng: &mut SimRng,
    actor: ActorId,
    list: &[&'static Resource],
) {
    let spread = w.periodic_gap(rng, 450 * SECOND);
    for &resource in list {
        let watcher = Watcher {
            actor,
            resource,
            namespace: None,
            selector: None,
            bookmarks: true,
            listed: true,
        };
        add_watcher(w, rng, watcher, spread);
    }
}

pub(crate) fn run_watch(w: &mut World, rng: &mut SimRng, index: usize, at: i64) {
    let Some(watcher) = w.watchers.get(index) else {
        return;
    };
    let (actor, resource, namespace, selector, bookmarks) = (
        watcher.actor,
        watcher.resource,
        watcher.namespace.clone(),
        watcher.selector.clone(),
        watcher.bookmarks,
    );
    let mut t = at;
    if !watcher.listed || rng.gen_bool(0.01) {
        let mut query = String::new();
        if let Some(sel) = &selector {
            let _ = write!(query, "{sel}&");
        }
        query.push_str("limit=500&resourceVersion=0");
        let request = scope(w.call(rng, actor, "list", t), resource, &namespace).query(query);
        t = request.completed + rng.gen_range(MILLI..20 * MILLI);
        w.emit(request);
        w.watchers[index].listed = true;
    }
    let timeout: u32 = rng.gen_range(300..600);
    let rv = w.resource_version.saturating_sub(rng.gen_range(0..300));
    let mut query = String::with_capacity(128);
    if bookmarks {
        query.push_str("allowWatchBookmarks=true&");
    }
    if let Some(sel) = &selector {
        let _ = write!(query, "{sel}&");
    }
    let _ = write!(
        query,
        "resourceVersion={rv}&timeout={}&timeoutSeconds={timeout}&watch=true",
        crate::clock::GoDuration(timeout)
    );
    let held = if rng.gen_bool(0.03) {
        rng.gen_range(SECOND..i64::from(timeout) * SECOND)
    } else {
        i64::from(timeout) * SECOND + rng.gen_range(0..40 * MILLI)
    };
    let request = scope(w.call(rng, actor, "watch", t), resource, &namespace)
        .query(query)
        .took(held);
    w.emit(request);
    let end = t + held;
    let rest = (w.periodic_gap(rng, held) - held).max(rng.gen_range(MILLI..60 * MILLI));
    w.schedule(
        end + rest,
        Task::Watch(u32::try_from(index).unwrap_or(u32::MAX)),
    );
}

/// Points a request at `resource` in `namespace`, or across the cluster.
fn scope(
    request: crate::event::Request,
    resource: &'static Resource,
    namespace: &Option<Arc<str>>,
) -> crate::event::Request {
    match namespace {
        Some(ns) => request.collection(resource, ns.clone()),
        None => request.cluster(resource),
    }
}

pub(crate) fn run_poll(w: &mut World, rng: &mut SimRng, index: usize, at: i64) {
    let Some(poller) = w.pollers.get(index) else {
        return;
    };
    let (actor, kind, every) = (poller.actor, poller.kind.clone(), poller.every);
    match kind {
        PollKind::LeaderLease { namespace, name } => {
            control_plane::renew_leader_lease(w, rng, actor, namespace, name, at)
        }
        PollKind::ApiserverLease { name } => {
            control_plane::renew_apiserver_lease(w, rng, actor, &name, at)
        }
        PollKind::EndpointReconciler => control_plane::reconcile_endpoints(w, rng, actor, at),
        PollKind::NodeLease { node } => nodes::renew_node_lease(w, rng, node, at),
        PollKind::NodeStatus { node } => nodes::report_node_status(w, rng, node, at),
        PollKind::Probe => control_plane::probe(w, rng, actor, at),
        PollKind::Scrape => addons::scrape(w, rng, actor, at),
        PollKind::Discovery => {
            discovery(w, rng, actor, at);
        }
        PollKind::Autoscale { app } => control_plane::autoscale(w, rng, actor, app, at),
        PollKind::ArgoRefresh => addons::argo_refresh(w, rng, actor, at),
        PollKind::TlsSecrets => addons::tls_secrets(w, rng, actor, at),
    }
    let next = at + w.periodic_gap(rng, every);
    w.schedule(next, Task::Poll(u32::try_from(index).unwrap_or(u32::MAX)));
}

/// Aggregated discovery as client-go does it: `/api` then `/apis`. Returns when it finished.
pub(crate) fn discovery(w: &mut World, rng: &mut SimRng, actor: ActorId, at: i64) -> i64 {
    let reason = crate::identity::discovery_reason();
    let api = w
        .call(rng, actor, "get", at)
        .path("/api")
        .query("timeout=32s")
        .reason(reason.clone());
    let next = api.completed + rng.gen_range(200..2_000);
    w.emit(api);
    let apis = w
        .call(rng, actor, "get", next)
        .path("/apis")
        .query("timeout=32s")
        .reason(reason);
    let done = apis.completed;
    w.emit(apis);
    done
}
