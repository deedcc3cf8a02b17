//! What to simulate, and the labels that say which events a scenario produced.

use serde::{Deserialize, Serialize};

/// Monday 2024-05-06 00:00:00 UTC, the default start of simulated time.
pub const DEFAULT_START_UNIX: i64 = 1_714_953_600;

/// The shape of one simulated log. Equal configurations give byte-identical output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    /// Seed of the ChaCha generator behind every random choice.
    pub seed: u64,
    /// Start of simulated time, seconds since the Unix epoch (UTC). Working hours, the nightly
    /// jobs and the scenario times are UTC wall-clock times.
    pub start_unix: i64,
    /// Length of the simulation in days. Scenarios happen on the last day, so earlier days
    /// are a baseline of ordinary traffic.
    pub days: u32,
    /// Worker nodes, each with a kubelet and kube-proxy (at least one is simulated).
    pub nodes: u32,
    /// People with working-hours kubectl habits. Scenarios that need a person still use the
    /// first six personas when fewer are configured, without baseline traffic of their own.
    pub humans: u32,
    /// Inject the labelled attack scenarios on the last day.
    pub attacks: bool,
    /// Inject the labelled benign-novelty scenarios on the last day.
    pub benign_novelty: bool,
    /// Stop once this many bytes were emitted (for benchmark logs); `None` runs all days.
    pub target_bytes: Option<u64>,
    /// Also emit `RequestReceived` for the share of requests the simulated audit policy logs at
    /// both stages, like real apiservers with the default policy.
    pub stages: bool,
    /// The fraction of the real rate at which periodic system traffic (lease renewals, node
    /// heartbeats, watch renewals, probes, scrapes) is simulated; 1.0 is the real cadence.
    ///
    /// People, CI, workload changes and scenarios always keep their real rates, and each
    /// periodic request still looks real (a watch is still held 5-10 minutes); a share below
    /// 1.0 only makes them rarer, as if the log kept that fraction of them. Values are clamped
    /// to 0.0001..=100.
    #[serde(default = "full_rate")]
    pub system_traffic_share: f64,
}

impl SimConfig {
    /// About two days of a small cluster with attacks and benign novelty: 2-4 MB of output.
    ///
    /// A cluster this small still renews leases every two seconds, which alone would be
    /// hundreds of megabytes a day; the demo keeps people, CI, workloads and scenarios at their
    /// real rates and runs periodic system traffic at 0.15 % of its rate
    /// ([`SimConfig::system_traffic_share`]): every kind of periodic request still appears,
    /// from every actor, but about every 20 minutes where the real one comes every 2 seconds.
    pub fn demo() -> Self {
        SimConfig {
            seed: 7,
            start_unix: DEFAULT_START_UNIX,
            days: 2,
            nodes: 3,
            humans: 5,
            attacks: true,
            benign_novelty: true,
            target_bytes: None,
            stages: true,
            system_traffic_share: 0.0015,
        }
    }

    /// A larger cluster (40 nodes, 30 people) at full system-traffic rate, run until
    /// `target_bytes` were emitted. The days are sized so the output ends on the last day,
    /// where the scenarios are.
    pub fn benchmark(target_bytes: u64) -> Self {
        // This cluster writes about 1.09 GB a day. With the days rounded up, the byte target is
        // reached on the last day, where the scenarios are (those after that hour are cut).
        const BYTES_PER_DAY: u64 = 1_090_000_000;
        let days = u32::try_from(target_bytes.div_ceil(BYTES_PER_DAY).max(1)).unwrap_or(u32::MAX);
        SimConfig {
            seed: 42,
            start_unix: DEFAULT_START_UNIX,
            days,
            nodes: 40,
            humans: 30,
            attacks: true,
            benign_novelty: true,
            target_bytes: Some(target_bytes),
            stages: true,
            system_traffic_share: 1.0,
        }
    }
}

fn full_rate() -> f64 {
    1.0
}

/// Whether a scenario is an attack or something new but harmless.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelKind {
    Attack,
    BenignNovelty,
}

/// Marks one emitted event (by `auditID`) as part of an injected scenario.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Label {
    pub audit_id: String,
    /// Scenario name, e.g. `stolen-sa-token`.
    pub scenario: String,
    pub kind: LabelKind,
    pub description: String,
}
