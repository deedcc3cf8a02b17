//! A deterministic simulator of Kubernetes API-server audit logs.
//!
//! [`Simulator`] produces days of plausible `audit.k8s.io/v1` Events, one JSON object per
//! line, as an apiserver with a typical audit policy writes them, plus [`Label`]s that say
//! which events belong to injected attack and benign-novelty scenarios. It is a pure library:
//! no I/O, no clock. Time starts at [`SimConfig::start_unix`], randomness comes from a ChaCha
//! generator seeded with [`SimConfig::seed`], and the same configuration always gives
//! byte-identical output, on any platform.
//!
//! # The traffic model
//!
//! The simulated cluster is a v1.29 control plane, a number of worker nodes, and a shop's
//! services in `dev`, `staging` and `prod` next to the usual add-ons. Its clients:
//!
//! - **Control plane** (`traffic::control_plane`): kube-controller-manager and kube-scheduler
//!   renewing their leases every 2 s, their informers' watches, the controllers' writes under
//!   `system:serviceaccount:kube-system:<controller>`, the apiserver's own loopback requests,
//!   and the probes of `/livez` and `/readyz`.
//! - **Nodes** (`traffic::nodes`): each kubelet (`system:node:<name>`) renews its lease and
//!   reads its Node every 10 s, patches its status every five minutes, and watches its pods and
//!   what they mount; kube-proxy watches services.
//! - **Add-ons** (`traffic::addons`): CoreDNS, metrics-server, Prometheus and
//!   kube-state-metrics, Argo CD, ingress-nginx and cert-manager, each an informer-heavy client
//!   with a pod-bound service account token.
//! - **People** (`traffic::people`): kubectl sessions in each person's working hours on
//!   weekdays, from the office or home, limited by their role's RBAC (so some get 403s).
//! - **Delivery** (`traffic::delivery`): CI jobs applying to staging and dev on pushes and
//!   nightly, Argo CD syncing production, and a CronJob at 02:00.
//! - **Cascades** (`workloads`): what the controllers, the scheduler and the kubelets do
//!   after a deployment or job changes.
//!
//! Periodic machine traffic runs at [`SimConfig::system_traffic_share`] of its real rate
//! (full rate for benchmark logs, thinned for logs meant for reading, such as the demo).
//! The audit policy (`policy`) sets each request's level and whether it is logged at both
//! stages. On the last day, `scenarios` inject labelled attacks and benign novelty.
//!
//! # Data flow
//!
//! Setup builds the cluster and queues every actor's first task in a time-ordered queue.
//! [`Simulator::next_line`] runs tasks until the earliest pending event line is due, then
//! writes that line; tasks queue the request lines they cause (see `world`). Lines therefore
//! come out in timestamp order, with a request's `RequestReceived` before its
//! `ResponseComplete`.
//!
//! ```
//! use auditlens_sim::{SimConfig, Simulator};
//!
//! let mut config = SimConfig::demo();
//! config.target_bytes = Some(100_000);
//! let mut sim = Simulator::new(config);
//! let mut out = Vec::new();
//! while sim.next_line(&mut out) {}
//! assert!(out.len() >= 100_000);
//! ```

mod catalog;
mod clock;
mod cluster;
mod config;
mod event;
mod identity;
mod json;
mod policy;
pub(crate) mod scenarios;
pub(crate) mod traffic;
pub(crate) mod workloads;
pub(crate) mod world;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use rand::{Rng as _, SeedableRng};

pub use config::{Label, LabelKind, SimConfig, DEFAULT_START_UNIX};

use crate::catalog::CLUSTER_RELEASE;
use crate::clock::{midnight, DAY, SECOND};
use crate::cluster::{initial_apps, name_suffix, new_uid, App, Namespace, NAMESPACES};
use crate::event::Line;
use crate::world::{SimRng, Task, World};

/// Generates one simulated audit log, a line at a time.
pub struct Simulator {
    world: World,
    rng: SimRng,
    scenario_rng: SimRng,
    labels: Vec<Label>,
    written: u64,
    done: bool,
}

/// A whole log of the benchmark preset ([`SimConfig::benchmark`]), about `target_bytes` long,
/// in memory: what benchmarks and tests measure against.
pub fn benchmark_log(target_bytes: u64) -> Vec<u8> {
    let mut simulator = Simulator::new(SimConfig::benchmark(target_bytes));
    let mut log = Vec::with_capacity(usize::try_from(target_bytes).unwrap_or(0) + 4096);
    while simulator.next_line(&mut log) {}
    log
}

impl Simulator {
    pub fn new(config: SimConfig) -> Self {
        let start = config.start_unix.saturating_mul(SECOND);
        let end = start.saturating_add(i64::from(config.days).saturating_mul(DAY));
        let last_day =
            midnight(start.saturating_add(i64::from(config.days.max(1) - 1).saturating_mul(DAY)));
        let mut rng = SimRng::seed_from_u64(config.seed);
        let scenario_rng = SimRng::seed_from_u64(config.seed ^ 0x5ce7_a410_d0c5_0001);
        let mut world = World::new(config, start, end, last_day);
        build_cluster(&mut world, &mut rng);
        scenarios::setup(&mut world);
        world.schedule(start, Task::PlanDay);
        Simulator {
            world,
            rng,
            scenario_rng,
            labels: Vec::new(),
            written: 0,
            done: false,
        }
    }

    /// Appends the next event as one JSON line ending in '\n' to `out`; false when done.
    pub fn next_line(&mut self, out: &mut Vec<u8>) -> bool {
        loop {
            if self.done {
                return false;
            }
            if self
                .world
                .config
                .target_bytes
                .is_some_and(|limit| self.written >= limit)
            {
                self.done = true;
                return false;
            }
            let end = self.world.end;
            let next_line = self.world.next_line_time().filter(|&t| t < end);
            let next_task = self.world.next_task_time().filter(|&t| t < end);
            match (next_line, next_task) {
                (Some(line), Some(task)) if task < line => self.run_next_task(),
                (Some(_), _) => {
                    if self.write_next_line(out) {
                        return true;
                    }
                }
                (None, Some(_)) => self.run_next_task(),
                (None, None) => self.done = true,
            }
        }
    }

    /// Labels of the injected scenarios, complete once `next_line` returned false.
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    /// The configuration this simulator runs.
    pub fn config(&self) -> &SimConfig {
        &self.world.config
    }

    fn write_next_line(&mut self, out: &mut Vec<u8>) -> bool {
        let Some(pending) = self.world.pop_line() else {
            return false;
        };
        let before = out.len();
        if !json::write_go_json(
            out,
            &Line {
                request: &pending.request,
                stage: pending.stage,
            },
        ) {
            return false;
        }
        out.push(b'\n');
        self.written += (out.len() - before) as u64;
        if pending.first {
            if let Some(meta) = pending
                .request
                .label
                .and_then(|i| self.world.scenarios.get(usize::from(i)))
            {
                self.labels.push(Label {
                    audit_id: pending.request.audit_id.to_string(),
                    scenario: meta.name.to_string(),
                    kind: meta.kind,
                    description: meta.description.to_string(),
                });
            }
        }
        true
    }

    fn run_next_task(&mut self) {
        let Some((at, task)) = self.world.pop_task() else {
            return;
        };
        let w = &mut self.world;
        w.now = at;
        let rng = &mut self.rng;
        match task {
            Task::Watch(index) => traffic::run_watch(w, rng, index as usize, at),
            Task::Poll(index) => traffic::run_poll(w, rng, index as usize, at),
            Task::PlanDay => {
                let day = midnight(at);
                traffic::people::plan_day(w, rng, day);
                traffic::delivery::plan_day(w, rng, day);
                w.schedule(day + DAY, Task::PlanDay);
            }
            Task::Session { human, left } => {
                traffic::people::session_step(w, rng, usize::from(human), left, at)
            }
            Task::Deploy { app, argo: true } => {
                traffic::delivery::argo_sync(w, rng, usize::from(app), at)
            }
            Task::Deploy { app, argo: false } => {
                traffic::delivery::ci_deploy(w, rng, usize::from(app), at)
            }
            Task::CronJob => workloads::cron_run(w, rng, at),
            Task::Scenario(index) => {
                scenarios::run(w, &mut self.scenario_rng, usize::from(index), at)
            }
        }
    }
}

/// Creates the cluster as it is when the simulation starts, with every actor's first task.
fn build_cluster(w: &mut World, rng: &mut SimRng) {
    for (name, enforce) in NAMESPACES {
        w.cluster.namespaces.push(Namespace {
            name: Arc::from(*name),
            enforce,
        });
    }
    traffic::control_plane::setup(w, rng);
    for _ in 0..w.config.nodes.max(1) {
        traffic::nodes::add_node(w, rng, CLUSTER_RELEASE, false);
    }
    for spec in initial_apps() {
        let namespace = w.cluster.ns(spec.namespace);
        let repository = if spec.built_here {
            format!("registry.example.com/shop/{}", spec.name)
        } else {
            spec.repository.to_string()
        };
        w.cluster.apps.push(App {
            namespace: namespace.clone(),
            name: Arc::from(spec.name),
            replicas: spec.replicas,
            repository,
            build: spec.built_here.then(|| rng.gen_range(100..400)),
            port: spec.port,
            has_config: spec.has_config,
            has_secret: spec.has_secret,
            autoscaled: spec.autoscaled,
            rs_hash: Arc::from(""),
            rs_uid: new_uid(rng),
            template: json::raw(&json::Json::Null),
        });
        let app = w.cluster.apps.len() - 1;
        w.cluster.new_replica_set(rng, app);
        let rs_name = w.cluster.apps[app].rs_name();
        for _ in 0..spec.replicas {
            let pod = Arc::from(format!("{rs_name}-{}", name_suffix(rng, 5)));
            w.cluster.place_pod(rng, pod, namespace.clone(), Some(app));
        }
    }
    for node in 0..w.cluster.nodes.len() {
        traffic::nodes::watch_mounted_objects(w, rng, node, false);
    }
    traffic::addons::setup(w, rng);
    traffic::control_plane::setup_autoscaling(w, rng);
    traffic::delivery::setup(w, rng);
    traffic::people::setup(w);
}
