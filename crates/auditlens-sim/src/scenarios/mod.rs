//! Labelled scenarios injected on the last simulated day.
//!
//! Each scenario is a short script at a fixed time of day that emits a handful of requests
//! while [`World::label`] names it, so every `auditID` it causes is recorded as a
//! [`crate::Label`] when its first line is written. Attacks ([`attacks`]) are what a detector
//! should flag; benign novelty ([`novelty`]) is what it should not, though each is new in some
//! way: a new node, a new kubelet version, work at night. The days before are the baseline.
//!
//! Scenarios draw from their own random stream, so turning them on or off leaves the random
//! choices of the ordinary traffic as they were (the ordinary traffic still reacts to what a
//! scenario changed, such as a new node).

pub(crate) mod attacks;
pub(crate) mod machine_credentials;
pub(crate) mod novelty;
pub(crate) mod script;

use crate::clock::{HOUR, MINUTE};
use crate::config::LabelKind;
use crate::world::{ScenarioMeta, SimRng, Task, World};

/// A scenario: what it is called, when it runs on the last day, and its script.
pub(crate) struct Scenario {
    pub name: &'static str,
    pub kind: LabelKind,
    pub description: &'static str,
    /// Time after midnight of the last day.
    pub at: i64,
    pub run: fn(&mut World, &mut SimRng, i64),
}

const fn at(hour: i64, minute: i64) -> i64 {
    hour * HOUR + minute * MINUTE
}

/// Every scenario, in the order of the day.
pub(crate) const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "oncall-night",
        kind: LabelKind::BenignNovelty,
        description: "an on-call engineer troubleshoots production at night with ordinary get, list and logs from a usual address",
        at: at(1, 20),
        run: novelty::oncall_night,
    },
    Scenario {
        name: "nightly-job",
        kind: LabelKind::BenignNovelty,
        description: "the 02:00 CronJob run: Job, pod, completion and history cleanup, rare because it happens once a day",
        at: at(2, 0),
        run: novelty::nightly_job,
    },
    Scenario {
        name: "exec-prod-at-night",
        kind: LabelKind::Attack,
        description: "an SRE account execs into production pods at 03:10 from an address it never used",
        at: at(3, 10),
        run: attacks::exec_prod_at_night,
    },
    Scenario {
        name: "fleet-upgrade",
        kind: LabelKind::BenignNovelty,
        description: "every kubelet and kube-proxy moves to v1.30.1 at once; the first requests with the new user agent",
        at: at(5, 0),
        run: novelty::fleet_upgrade,
    },
    Scenario {
        name: "new-node-joins",
        kind: LabelKind::BenignNovelty,
        description: "a new worker node bootstraps (CSR, node object, lease) and behaves like the other kubelets",
        at: at(6, 30),
        run: novelty::new_node_joins,
    },
    Scenario {
        name: "ci-new-runner-ips",
        kind: LabelKind::BenignNovelty,
        description: "the CI deployer runs from newly added runners in its 172.20.0.0/16 range",
        at: at(9, 40),
        run: novelty::ci_new_runner_ips,
    },
    Scenario {
        name: "deploy-tool-namespace",
        kind: LabelKind::BenignNovelty,
        description: "the CI deployer creates a new namespace with its service account, RBAC, config and deployment",
        at: at(10, 15),
        run: novelty::deploy_tool_namespace,
    },
    Scenario {
        name: "enumeration-and-forbidden-storm",
        kind: LabelKind::Attack,
        description: "a compromised pod's token asks what it may do, then tries lists across resources and namespaces and collects 403s",
        at: at(11, 5),
        run: machine_credentials::enumeration_and_forbidden_storm,
    },
    Scenario {
        name: "stolen-sa-token",
        kind: LabelKind::Attack,
        description: "Argo CD's controller token used with kubectl from an outside address to list and read secrets",
        at: at(12, 30),
        run: machine_credentials::stolen_sa_token,
    },
    Scenario {
        name: "privileged-pod",
        kind: LabelKind::Attack,
        description: "the CI token creates a privileged pod with the node's root filesystem mounted in default, then execs into it",
        at: at(13, 20),
        run: attacks::privileged_pod,
    },
    Scenario {
        name: "cluster-admin-binding",
        kind: LabelKind::Attack,
        description: "a cluster role binding grants cluster-admin to a single user, who uses it at once",
        at: at(14, 10),
        run: attacks::cluster_admin_binding,
    },
    Scenario {
        name: "anonymous-allowed",
        kind: LabelKind::Attack,
        description: "unauthenticated requests from outside read resources through a permissive anonymous binding",
        at: at(15, 0),
        run: machine_credentials::anonymous_allowed,
    },
    Scenario {
        name: "delete-events",
        kind: LabelKind::Attack,
        description: "the stolen Argo CD token deletes events in kube-system and prod to cover its tracks",
        at: at(15, 40),
        run: machine_credentials::delete_events,
    },
    Scenario {
        name: "impersonation",
        kind: LabelKind::Attack,
        description: "a developer impersonates system:admin in system:masters to read kube-system secrets and nodes",
        at: at(16, 20),
        run: attacks::impersonation,
    },
    Scenario {
        name: "token-request",
        kind: LabelKind::Attack,
        description: "a year-long token is minted for kube-system:clusterrole-aggregation-controller and used from outside to widen a cluster role",
        at: at(17, 5),
        run: machine_credentials::token_request,
    },
    Scenario {
        name: "node-credentials-abuse",
        kind: LabelKind::Attack,
        description: "a kubelet's credentials used with kubectl from an outside address to list pods cluster-wide and read secrets",
        at: at(19, 10),
        run: machine_credentials::node_credentials_abuse,
    },
    Scenario {
        name: "secrets-sweep",
        kind: LabelKind::Attack,
        description: "a developer token run by a script lists secrets and config maps across every namespace within seconds",
        at: at(20, 0),
        run: attacks::secrets_sweep,
    },
    Scenario {
        name: "port-forward",
        kind: LabelKind::Attack,
        description: "an SRE account port-forwards to the production database late at night from an address it never used",
        at: at(22, 40),
        run: attacks::port_forward,
    },
];

/// Registers the enabled scenarios and schedules them on the last day.
pub(crate) fn setup(w: &mut World) {
    for scenario in SCENARIOS {
        let enabled = match scenario.kind {
            LabelKind::Attack => w.config.attacks,
            LabelKind::BenignNovelty => w.config.benign_novelty,
        };
        if !enabled {
            continue;
        }
        let at = w.last_day + scenario.at;
        if at < w.start || at >= w.end {
            continue;
        }
        let index = w.scenarios.len();
        w.scenarios.push(ScenarioMeta {
            name: scenario.name,
            kind: scenario.kind,
            description: scenario.description,
        });
        w.schedule(at, Task::Scenario(u8::try_from(index).unwrap_or(u8::MAX)));
    }
}

/// Whether the scenario `name` is scheduled in this run.
pub(crate) fn is_enabled(w: &World, name: &str) -> bool {
    w.scenarios.iter().any(|s| s.name == name)
}

/// Runs registered scenario number `index` with its label set.
pub(crate) fn run(w: &mut World, rng: &mut SimRng, index: usize, at: i64) {
    let Some(meta) = w.scenarios.get(index) else {
        return;
    };
    let Some(scenario) = SCENARIOS.iter().find(|s| s.name == meta.name) else {
        return;
    };
    w.label = u16::try_from(index).ok();
    // Nobody starts on the second.
    let at = at + rand::Rng::gen_range(rng, 0..40 * crate::clock::SECOND);
    (scenario.run)(w, rng, at);
    w.label = None;
}
