//! Delivery: the CI deployer, Argo CD syncing production, and the nightly CronJob.
//!
//! CI jobs run `kubectl apply` with the `ci/deployer` service account token from runners in
//! 172.20.0.0/16: on pushes during the working day (staging and dev) and in a nightly build of
//! dev at 01:30 for the services that changed. Each job starts on a fresh runner, so it begins with discovery, then reads and
//! patches the config map and the deployment and waits for the rollout. Production is synced by
//! Argo CD with server-side apply a few times a weekday. At 02:00 every day the CronJob runs.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::Rng;

use crate::catalog::*;
use crate::clock::{is_weekend, HOUR, MILLI, MINUTE, SECOND};
use crate::identity::{namespace_binding, Actor, Identity, Subject};
use crate::json::{arr, obj};
use crate::traffic::discovery;
use crate::workloads::rollout;
use crate::world::{SimRng, Task, World};

/// CI state that outlives one job.
#[derive(Default)]
pub(crate) struct Delivery {
    pub runner_ips: Vec<Ipv4Addr>,
    pub cronjob_uid: Arc<str>,
}

/// The runner pool at start: a handful of hosts in 172.20.0.0/16.
const RUNNERS: [[u8; 4]; 5] = [
    [172, 20, 4, 11],
    [172, 20, 4, 12],
    [172, 20, 7, 31],
    [172, 20, 7, 32],
    [172, 20, 12, 5],
];

pub(crate) fn setup(w: &mut World, rng: &mut SimRng) {
    let uid = w.cluster.account_uid(rng, "ci", "deployer");
    let identity = Identity::service_account("ci", "deployer", &uid, None);
    let agent = client_go_agent("kubectl", KUBECTL_1_28_2, "linux/amd64", "");
    let runner = IpAddr::V4(Ipv4Addr::from(RUNNERS[0]));
    w.roster.deployer = w.add_actor(Actor::new(identity, agent, runner, Arc::from("")));
    w.delivery.runner_ips = RUNNERS.iter().map(|&ip| Ipv4Addr::from(ip)).collect();
    w.delivery.cronjob_uid = crate::cluster::new_uid(rng);
}

/// The company's own services in `namespace` (those CI builds).
fn built_apps(w: &World, namespace: &str) -> Vec<usize> {
    (0..w.cluster.apps.len())
        .filter(|&i| {
            &*w.cluster.apps[i].namespace == namespace && w.cluster.apps[i].build.is_some()
        })
        .collect()
}

/// Schedules the day's CI jobs, production syncs and the CronJob run.
pub(crate) fn plan_day(w: &mut World, rng: &mut SimRng, midnight: i64) {
    let to_task = |app: usize, argo: bool| Task::Deploy {
        app: u16::try_from(app).unwrap_or(u16::MAX),
        argo,
    };
    if !is_weekend(midnight) {
        for _ in 0..rng.gen_range(2..7) {
            let namespace = if rng.gen_bool(0.6) { "staging" } else { "dev" };
            if let Some(&app) = built_apps(w, namespace).choose(rng) {
                let at = midnight + rng.gen_range(9 * HOUR..(18 * HOUR + 30 * MINUTE));
                w.schedule(at, to_task(app, false));
            }
        }
        for _ in 0..rng.gen_range(0..3) {
            if let Some(&app) = built_apps(w, "prod").choose(rng) {
                let at = midnight + rng.gen_range(10 * HOUR..16 * HOUR);
                w.schedule(at, to_task(app, true));
            }
        }
    }
    // The nightly build redeploys the dev services whose main branch moved.
    let mut nightly = midnight + HOUR + 30 * MINUTE + rng.gen_range(0..20 * SECOND);
    for app in built_apps(w, "dev") {
        if rng.gen_bool(0.5) {
            continue;
        }
        w.schedule(nightly, to_task(app, false));
        nightly += rng.gen_range(40 * SECOND..3 * MINUTE);
    }
    // On the last day the run belongs to the `nightly-job` scenario, when that is on.
    if !(w.is_last_day(midnight) && crate::scenarios::is_enabled(w, "nightly-job")) {
        w.schedule(midnight + 2 * HOUR, Task::CronJob);
    }
}

/// A CI job deploying app `app`: discovery, apply, rollout, `kubectl rollout status`.
pub(crate) fn ci_deploy(w: &mut World, rng: &mut SimRng, app: usize, at: i64) {
    let deployer = w.roster.deployer;
    if let Some(&ip) = w.delivery.runner_ips.choose(rng) {
        w.actors[deployer].ip = IpAddr::V4(ip);
    }
    let Some(target) = w.cluster.apps.get_mut(app) else {
        return;
    };
    target.build = target.build.map(|b| b + 1);
    let (ns, name, has_config) = (
        target.namespace.clone(),
        target.name.clone(),
        target.has_config,
    );
    let image = target.image();
    let reason = namespace_binding(
        "ci-deployer",
        &ns,
        "edit",
        &Subject::ServiceAccount {
            namespace: "ci",
            name: "deployer",
        },
    );
    let apply = "fieldManager=kubectl-client-side-apply&fieldValidation=Strict";

    let mut t = discovery(w, rng, deployer, at) + rng.gen_range(50 * MILLI..400 * MILLI);
    if has_config {
        let config = format!("{name}-config");
        let get = w
            .call(rng, deployer, "get", t)
            .object(&CONFIGMAPS, ns.clone(), config.clone())
            .reason(reason.clone());
        t = get.completed + rng.gen_range(5 * MILLI..40 * MILLI);
        w.emit(get);
        let patch = w
            .call(rng, deployer, "patch", t)
            .object(&CONFIGMAPS, ns.clone(), config)
            .query(apply)
            .reason(reason.clone());
        t = patch.completed + rng.gen_range(5 * MILLI..40 * MILLI);
        w.emit(patch);
    }
    let svc = w
        .call(rng, deployer, "get", t)
        .object(&SERVICES, ns.clone(), name.clone())
        .reason(reason.clone());
    t = svc.completed + rng.gen_range(5 * MILLI..40 * MILLI);
    w.emit(svc);
    let get = w
        .call(rng, deployer, "get", t)
        .object(&DEPLOYMENTS, ns.clone(), name.clone())
        .reason(reason.clone());
    t = get.completed + rng.gen_range(5 * MILLI..40 * MILLI);
    w.emit(get);
    let last_applied = format!(
        "{{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{{\"annotations\":{{}},\"name\":\"{name}\",\"namespace\":\"{ns}\"}},\"spec\":{{\"selector\":{{\"matchLabels\":{{\"app.kubernetes.io/name\":\"{name}\"}}}},\"template\":{{\"metadata\":{{\"labels\":{{\"app.kubernetes.io/name\":\"{name}\"}}}},\"spec\":{{\"containers\":[{{\"image\":\"{image}\",\"name\":\"app\"}}],\"serviceAccountName\":\"{name}\"}}}}}}}}\n"
    );
    let body = obj! {
        "metadata": obj! { "annotations": obj! { "kubectl.kubernetes.io/last-applied-configuration": last_applied } },
        "spec": obj! { "template": obj! { "spec": obj! {
            "$setElementOrder/containers": arr![obj! { "name": "app" }],
            "containers": arr![obj! { "image": image, "name": "app" }],
        } } },
    };
    let patch = w
        .call(rng, deployer, "patch", t)
        .object(&DEPLOYMENTS, ns.clone(), name.clone())
        .query(apply)
        .body(&body)
        .reason(reason.clone());
    t = patch.completed;
    w.emit(patch);

    let started = t + rng.gen_range(200 * MILLI..SECOND);
    let done = rollout(w, rng, app, t);
    let status = w
        .call(rng, deployer, "get", started)
        .object(&DEPLOYMENTS, ns.clone(), name.clone())
        .reason(reason.clone());
    let watch_at = status.completed + rng.gen_range(2 * MILLI..20 * MILLI);
    w.emit(status);
    let watch = w
        .call(rng, deployer, "watch", watch_at)
        .collection(&DEPLOYMENTS, ns)
        .query(format!(
            "fieldSelector=metadata.name%3D{name}&resourceVersion={}&watch=true",
            w.resource_version
        ))
        .took((done - watch_at).max(SECOND) + rng.gen_range(5 * MILLI..200 * MILLI))
        .reason(reason);
    w.emit(watch);
}

/// Argo CD syncing a new image to production with server-side apply.
pub(crate) fn argo_sync(w: &mut World, rng: &mut SimRng, app: usize, at: i64) {
    let argocd = w.roster.argocd;
    let Some(target) = w.cluster.apps.get_mut(app) else {
        return;
    };
    target.build = target.build.map(|b| b + 1);
    let (ns, name) = (target.namespace.clone(), target.name.clone());
    let image = target.image();
    let body = obj! {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": obj! {
            "name": &name,
            "namespace": &ns,
            "labels": obj! { "app.kubernetes.io/instance": "shop-prod", "app.kubernetes.io/name": &name },
        },
        "spec": obj! {
            "selector": obj! { "matchLabels": obj! { "app.kubernetes.io/name": &name } },
            "template": obj! {
                "metadata": obj! { "labels": obj! { "app.kubernetes.io/name": &name } },
                "spec": obj! { "containers": arr![obj! { "image": image, "name": "app" }], "serviceAccountName": &name },
            },
        },
    };
    let patch = w
        .call(rng, argocd, "patch", at)
        .object(&DEPLOYMENTS, ns, name)
        .query("fieldManager=argocd-controller&force=true")
        .body(&body);
    let t = patch.completed;
    w.emit(patch);
    rollout(w, rng, app, t);
}
