//! The simulation's state and its two queues.
//!
//! Tasks (a watch to renew, a person's next command, a scenario) wait in a queue ordered by
//! time. Running a task queues the requests it causes, each at its own times, in a second queue
//! of pending event lines. [`crate::Simulator`] always takes whichever is earlier, and a task
//! never queues a line before its own time, so lines come out in timestamp order.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Arc;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::cluster::Cluster;
use crate::config::{LabelKind, SimConfig};
use crate::event::{Request, Stage};
use crate::identity::{Actor, ActorId};
use crate::policy;
use crate::traffic::control_plane::Ctl;
use crate::traffic::delivery::Delivery;
use crate::traffic::people::Human;
use crate::traffic::{Poller, Watcher};

/// The generator behind every random choice.
pub(crate) type SimRng = ChaCha8Rng;

/// Something that happens at a point in simulated time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Task {
    /// Renew watch number `.0` of [`World::watchers`].
    Watch(u32),
    /// Run poller number `.0` of [`World::pollers`].
    Poll(u32),
    /// Midnight: plan the day's sessions, pushes and jobs.
    PlanDay,
    /// A person's next kubectl command, `left` more to come in this session.
    Session { human: u16, left: u16 },
    /// The CI deployer (or Argo CD, for production) rolls out application `app`.
    Deploy { app: u16, argo: bool },
    /// The nightly CronJob fires.
    CronJob,
    /// Scenario number `.0` of the scenario table starts.
    Scenario(u8),
}

/// Well-known actors.
#[derive(Default)]
pub(crate) struct Roster {
    pub apiserver: ActorId,
    pub kcm_leader: ActorId,
    pub kcm_informers: ActorId,
    pub scheduler: ActorId,
    pub scheduler_leader: ActorId,
    pub probe: ActorId,
    pub controllers: Vec<ActorId>,
    pub coredns: ActorId,
    pub prometheus: ActorId,
    pub kube_state_metrics: ActorId,
    pub argocd: ActorId,
    pub ingress: ActorId,
    pub cert_manager: ActorId,
    pub deployer: ActorId,
}

impl Roster {
    pub(crate) fn ctl(&self, controller: Ctl) -> ActorId {
        self.controllers[controller as usize]
    }
}

/// What a label says about the events of one scenario.
pub(crate) struct ScenarioMeta {
    pub name: &'static str,
    pub kind: LabelKind,
    pub description: &'static str,
}

struct Scheduled {
    at: i64,
    seq: u64,
    task: Task,
}

/// One event line waiting for its time.
pub(crate) struct Pending {
    pub at: i64,
    seq: u64,
    pub stage: Stage,
    /// Whether this is the first line of its request (labels are recorded there).
    pub first: bool,
    pub request: Arc<Request>,
}

macro_rules! min_first_by_time {
    ($ty:ty) => {
        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                (self.at, self.seq) == (other.at, other.seq)
            }
        }
        impl Eq for $ty {}
        impl PartialOrd for $ty {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }
        impl Ord for $ty {
            // BinaryHeap pops the greatest: reverse so the earliest comes first.
            fn cmp(&self, other: &Self) -> Ordering {
                (other.at, other.seq).cmp(&(self.at, self.seq))
            }
        }
    };
}

min_first_by_time!(Scheduled);
min_first_by_time!(Pending);

pub(crate) struct World {
    pub config: SimConfig,
    /// [`SimConfig::system_traffic_share`], clamped.
    pub share: f64,
    pub start: i64,
    pub end: i64,
    /// Midnight of the last simulated day, when the scenarios run.
    pub last_day: i64,
    /// Time of the task being run.
    pub now: i64,
    pub actors: Vec<Actor>,
    pub cluster: Cluster,
    pub roster: Roster,
    pub watchers: Vec<Watcher>,
    pub pollers: Vec<Poller>,
    pub humans: Vec<Human>,
    pub delivery: Delivery,
    pub scenarios: Vec<ScenarioMeta>,
    /// Scenario whose events are being emitted, if any.
    pub label: Option<u16>,
    pub resource_version: u64,
    tasks: BinaryHeap<Scheduled>,
    pending: BinaryHeap<Pending>,
    seq: u64,
}

impl World {
    pub(crate) fn new(config: SimConfig, start: i64, end: i64, last_day: i64) -> Self {
        World {
            share: if config.system_traffic_share.is_finite() {
                config.system_traffic_share.clamp(0.000_1, 100.0)
            } else {
                1.0
            },
            config,
            start,
            end,
            last_day,
            now: start,
            actors: Vec::new(),
            cluster: Cluster::default(),
            roster: Roster::default(),
            watchers: Vec::new(),
            pollers: Vec::new(),
            humans: Vec::new(),
            delivery: Delivery::default(),
            scenarios: Vec::new(),
            label: None,
            resource_version: 48_213_677,
            tasks: BinaryHeap::new(),
            pending: BinaryHeap::new(),
            seq: 0,
        }
    }

    pub(crate) fn add_actor(&mut self, actor: Actor) -> ActorId {
        self.actors.push(actor);
        self.actors.len() - 1
    }

    /// A request from `actor` arriving at `at`.
    pub(crate) fn call(
        &self,
        rng: &mut SimRng,
        actor: ActorId,
        verb: &'static str,
        at: i64,
    ) -> Request {
        Request::new(rng, actor, &self.actors[actor], verb, at)
    }

    /// Applies the audit policy and queues the request's lines.
    pub(crate) fn emit(&mut self, mut request: Request) {
        debug_assert!(
            request.received >= self.now,
            "a task queued a line before its own time"
        );
        request.received = request.received.max(self.now);
        request.completed = request.completed.max(request.received);
        if request.label.is_none() {
            request.label = self.label;
        }
        let actor = &mut self.actors[request.actor];
        if request.label.is_none() && actor.label_budget > 0 {
            actor.label_budget -= 1;
            request.label = actor.label;
        }
        if request.is_write() && request.code < 300 {
            self.resource_version += 1;
        }
        policy::apply(&mut request, self.config.stages);
        let request = Arc::new(request);
        if request.two_stage {
            self.seq += 1;
            self.pending.push(Pending {
                at: request.received,
                seq: self.seq,
                stage: Stage::RequestReceived,
                first: true,
                request: request.clone(),
            });
        }
        self.seq += 1;
        self.pending.push(Pending {
            at: request.completed,
            seq: self.seq,
            stage: Stage::ResponseComplete,
            first: !request.two_stage,
            request,
        });
    }

    /// Queues `task` at `at`; tasks outside the simulated span (or in the past) are dropped.
    pub(crate) fn schedule(&mut self, at: i64, task: Task) {
        if at >= self.now && at < self.end {
            self.seq += 1;
            self.tasks.push(Scheduled {
                at,
                seq: self.seq,
                task,
            });
        }
    }

    pub(crate) fn next_task_time(&self) -> Option<i64> {
        self.tasks.peek().map(|s| s.at)
    }

    pub(crate) fn pop_task(&mut self) -> Option<(i64, Task)> {
        self.tasks.pop().map(|s| (s.at, s.task))
    }

    pub(crate) fn next_line_time(&self) -> Option<i64> {
        self.pending.peek().map(|p| p.at)
    }

    pub(crate) fn pop_line(&mut self) -> Option<Pending> {
        self.pending.pop()
    }

    /// Time until the next run of something that really happens every `every` microseconds,
    /// thinned by the system traffic share, with ±10 % jitter.
    pub(crate) fn periodic_gap(&self, rng: &mut SimRng, every: i64) -> i64 {
        let gap = every as f64 / self.share * rng.gen_range(0.9..1.1);
        (gap as i64).max(1)
    }

    pub(crate) fn is_last_day(&self, t: i64) -> bool {
        t >= self.last_day
    }
}
