//! One behavioural profile: what an identity (or a peer group, or a whole class) did, in
//! bounded memory.
//!
//! The scorer turns each request into an [`Observation`] (interned keys with their stable
//! hashes, the hour, the response class...) and feeds it to the profiles of the actor, its peer
//! group and its class with [`Profile::observe`]. Every part merges associatively: counts and
//! histograms add, [`TopValues`] and [`Distinct`] merge as their module says, the set of active
//! days is a union capped to the most recent days, and window statistics are integer sums.

use std::collections::BTreeSet;

use crate::baseline::sketch::{Distinct, Key, TopValues};
use crate::identity::Behaviour;
use crate::intern::{Interner, Sym};
use crate::time::Micros;

/// The dimensions whose values a profile counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dim {
    Verb,
    /// `resource/subresource`, or the path of a non-resource URL.
    Resource,
    /// `verb resource/subresource`.
    Action,
    /// (action, namespace).
    ActionNamespace,
    Namespace,
    ApiGroup,
    SourceIp,
    /// The source network: /16 for private IPv4, /24 for public IPv4, /48 for IPv6.
    Network,
    Client,
    /// (client, version).
    ClientVersion,
    /// Users this actor impersonated.
    Impersonates,
    /// Detection rules this identity's requests matched.
    Rule,
}

pub const DIMS: usize = 12;

impl Dim {
    pub const ALL: [Dim; DIMS] = [
        Dim::Verb,
        Dim::Resource,
        Dim::Action,
        Dim::ActionNamespace,
        Dim::Namespace,
        Dim::ApiGroup,
        Dim::SourceIp,
        Dim::Network,
        Dim::Client,
        Dim::ClientVersion,
        Dim::Impersonates,
        Dim::Rule,
    ];

    /// The field name in the baseline file.
    pub fn name(self) -> &'static str {
        match self {
            Dim::Verb => "verbs",
            Dim::Resource => "resources",
            Dim::Action => "actions",
            Dim::ActionNamespace => "actionNamespaces",
            Dim::Namespace => "namespaces",
            Dim::ApiGroup => "apiGroups",
            Dim::SourceIp => "sourceIps",
            Dim::Network => "networks",
            Dim::Client => "clients",
            Dim::ClientVersion => "clientVersions",
            Dim::Impersonates => "impersonates",
            Dim::Rule => "rules",
        }
    }

    /// How many values are kept; more than the distinct values most identities ever use.
    pub fn capacity(self) -> usize {
        match self {
            Dim::Verb | Dim::Client | Dim::ClientVersion | Dim::Impersonates => 16,
            Dim::ApiGroup | Dim::Network | Dim::Rule => 32,
            Dim::Resource | Dim::Namespace | Dim::SourceIp => 64,
            Dim::Action => 96,
            Dim::ActionNamespace => 128,
        }
    }

    /// True for dimensions whose keys have two parts.
    pub fn is_pair(self) -> bool {
        matches!(self, Dim::ActionNamespace | Dim::ClientVersion)
    }
}

/// Dimensions whose distinct values are estimated (HyperLogLog) whatever their number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DistinctDim {
    SourceIps,
    Namespaces,
    Resources,
    Names,
}

pub const DISTINCT_DIMS: usize = 4;

impl DistinctDim {
    pub const ALL: [DistinctDim; DISTINCT_DIMS] = [
        DistinctDim::SourceIps,
        DistinctDim::Namespaces,
        DistinctDim::Resources,
        DistinctDim::Names,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DistinctDim::SourceIps => "sourceIps",
            DistinctDim::Namespaces => "namespaces",
            DistinctDim::Resources => "resources",
            DistinctDim::Names => "names",
        }
    }
}

/// Response classes counted per profile.
pub const RESPONSE_CLASSES: [&str; 10] = [
    "none", "2xx", "3xx", "400", "401", "403", "404", "409", "4xx", "5xx",
];

/// The index in [`RESPONSE_CLASSES`] of an HTTP code.
pub fn response_class(code: u16) -> usize {
    match code {
        200..=299 => 1,
        300..=399 => 2,
        400 => 3,
        401 => 4,
        403 => 5,
        404 => 6,
        409 => 7,
        402..=499 => 8,
        500..=599 => 9,
        _ => 0,
    }
}

/// Decisions counted per profile, in order.
pub const DECISIONS: [&str; 3] = ["allow", "forbid", "unknown"];

/// Bins of the log2 histograms (requests per active minute, seconds between requests).
pub const LOG_BINS: usize = 20;

/// The log2 bin of `n` (0 for 0 and 1, 1 for 2-3, 2 for 4-7, ...).
pub fn log_bin(n: u64) -> usize {
    ((64 - n.leading_zeros()).saturating_sub(1) as usize).min(LOG_BINS - 1)
}

/// Active days remembered per profile (the most recent ones).
pub const MAX_DAYS: usize = 400;

/// Number of per-window features (see `scoring::window`).
pub const WINDOW_FEATURES: usize = 9;

/// Scale of the fixed-point window feature sums (thousandths).
pub const WINDOW_SCALE: f64 = 1000.0;

/// Integer sums of an identity's per-window features, so that merging is exact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowStats {
    pub windows: u64,
    pub sum: [u64; WINDOW_FEATURES],
    pub sum_squares: [u64; WINDOW_FEATURES],
}

impl WindowStats {
    /// Records one window's features (non-negative; stored in thousandths).
    pub fn add(&mut self, features: &[f64; WINDOW_FEATURES]) {
        bump(&mut self.windows);
        for (i, &f) in features.iter().enumerate() {
            let q = (f.max(0.0) * WINDOW_SCALE).round() as u64;
            self.sum[i] = self.sum[i].saturating_add(q);
            self.sum_squares[i] = self.sum_squares[i].saturating_add(q.saturating_mul(q));
        }
    }

    pub fn merge(&mut self, other: &WindowStats) {
        self.windows = self.windows.saturating_add(other.windows);
        for i in 0..WINDOW_FEATURES {
            self.sum[i] = self.sum[i].saturating_add(other.sum[i]);
            self.sum_squares[i] = self.sum_squares[i].saturating_add(other.sum_squares[i]);
        }
    }

    /// Mean and standard deviation of feature `i`, or `None` without windows.
    pub fn mean_sd(&self, i: usize) -> Option<(f64, f64)> {
        if self.windows == 0 || i >= WINDOW_FEATURES {
            return None;
        }
        let n = self.windows as f64;
        let mean = self.sum[i] as f64 / WINDOW_SCALE / n;
        let mean_sq = self.sum_squares[i] as f64 / (WINDOW_SCALE * WINDOW_SCALE) / n;
        Some((mean, (mean_sq - mean * mean).max(0.0).sqrt()))
    }
}

/// One request, reduced to what profiles count. Built by the scorer.
#[derive(Clone, Debug, Default)]
pub struct Observation {
    pub time: Micros,
    /// Keys per [`Dim`] (by index) with their stable hashes; absent values are not counted.
    pub keys: [Option<(Key, u64)>; DIMS],
    /// Stable hashes per [`DistinctDim`].
    pub distinct: [Option<u64>; DISTINCT_DIMS],
    pub hour: u8,
    pub weekday: u8,
    pub response: usize,
    pub decision: usize,
    pub write: bool,
    pub sensitive: bool,
}

/// What one identity, peer group or class did.
#[derive(Clone, Debug)]
pub struct Profile {
    pub requests: u64,
    pub first: Micros,
    pub last: Micros,
    pub top: [TopValues; DIMS],
    pub distinct: [Distinct; DISTINCT_DIMS],
    pub hours: [u64; 24],
    pub weekdays: [u64; 7],
    pub responses: [u64; RESPONSE_CLASSES.len()],
    pub decisions: [u64; DECISIONS.len()],
    pub writes: u64,
    pub sensitive: u64,
    /// log2 histogram of requests in each minute with at least one.
    pub per_minute: [u64; LOG_BINS],
    /// log2 histogram of seconds between consecutive requests.
    pub gaps: [u64; LOG_BINS],
    /// Days (since the epoch) with at least one request, the most recent [`MAX_DAYS`].
    pub days: BTreeSet<i64>,
    pub windows: WindowStats,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            requests: 0,
            first: 0,
            last: 0,
            top: Dim::ALL.map(|d| TopValues::new(d.capacity())),
            distinct: Default::default(),
            hours: [0; 24],
            weekdays: [0; 7],
            responses: [0; RESPONSE_CLASSES.len()],
            decisions: [0; DECISIONS.len()],
            writes: 0,
            sensitive: 0,
            per_minute: [0; LOG_BINS],
            gaps: [0; LOG_BINS],
            days: BTreeSet::new(),
            windows: WindowStats::default(),
        }
    }
}

const DAY: Micros = 86_400_000_000;

impl Profile {
    /// The values of one dimension.
    pub fn dim(&self, dim: Dim) -> &TopValues {
        &self.top[dim as usize]
    }

    /// Counts one request.
    pub fn observe(&mut self, obs: &Observation) {
        if self.requests == 0 {
            self.first = obs.time;
            self.last = obs.time;
        } else {
            let gap = obs.time.saturating_sub(self.last).max(0) as u64 / 1_000_000;
            bump(&mut self.gaps[log_bin(gap)]);
            self.first = self.first.min(obs.time);
            self.last = self.last.max(obs.time);
        }
        bump(&mut self.requests);
        for (top, key) in self.top.iter_mut().zip(&obs.keys) {
            if let Some((key, hash)) = key {
                top.add(*key, *hash);
            }
        }
        for (d, hash) in self.distinct.iter_mut().zip(&obs.distinct) {
            if let Some(hash) = hash {
                d.add(*hash);
            }
        }
        bump(&mut self.hours[usize::from(obs.hour % 24)]);
        bump(&mut self.weekdays[usize::from(obs.weekday % 7)]);
        if let Some(r) = self.responses.get_mut(obs.response) {
            bump(r);
        }
        if let Some(d) = self.decisions.get_mut(obs.decision) {
            bump(d);
        }
        self.writes = self.writes.saturating_add(u64::from(obs.write));
        self.sensitive = self.sensitive.saturating_add(u64::from(obs.sensitive));
        let day = obs.time.div_euclid(DAY);
        // Most requests fall on the latest day seen, already listed.
        let listed = self.days.last() == Some(&day);
        if !listed && (self.days.len() < MAX_DAYS || self.days.first().is_some_and(|&d| d < day)) {
            self.days.insert(day);
            while self.days.len() > MAX_DAYS {
                self.days.pop_first();
            }
        }
    }

    /// Counts a detection rule hit.
    pub fn observe_rule(&mut self, rule: Key, hash: u64) {
        self.top[Dim::Rule as usize].add(rule, hash);
    }

    /// Adds everything `other` counted (its keys in this profile's interner).
    pub fn merge(&mut self, other: &Profile) {
        if other.requests == 0 && other.windows.windows == 0 {
            return;
        }
        if self.requests == 0 {
            self.first = other.first;
            self.last = other.last;
        } else if other.requests > 0 {
            self.first = self.first.min(other.first);
            self.last = self.last.max(other.last);
        }
        self.requests = self.requests.saturating_add(other.requests);
        for (mine, theirs) in self.top.iter_mut().zip(&other.top) {
            mine.merge(theirs);
        }
        for (mine, theirs) in self.distinct.iter_mut().zip(&other.distinct) {
            mine.merge(theirs);
        }
        add_all(&mut self.hours, &other.hours);
        add_all(&mut self.weekdays, &other.weekdays);
        add_all(&mut self.responses, &other.responses);
        add_all(&mut self.decisions, &other.decisions);
        add_all(&mut self.per_minute, &other.per_minute);
        add_all(&mut self.gaps, &other.gaps);
        self.writes = self.writes.saturating_add(other.writes);
        self.sensitive = self.sensitive.saturating_add(other.sensitive);
        self.days.extend(other.days.iter().copied());
        while self.days.len() > MAX_DAYS {
            self.days.pop_first();
        }
        self.windows.merge(&other.windows);
    }

    /// Rewrites every interned key with `f` (from one interner to another).
    pub fn map_syms(&mut self, f: &mut impl FnMut(Sym) -> Sym) {
        for top in &mut self.top {
            top.map_keys(|Key(a, b)| Key(f(a), f(b)));
        }
    }

    /// Days between the first and last request, at least 1 when there is any history.
    pub fn span_days(&self) -> f64 {
        if self.requests == 0 {
            return 0.0;
        }
        (self.last.saturating_sub(self.first) as f64 / DAY as f64).max(1.0 / 24.0)
    }

    /// Count of one value (an upper bound if the dimension overflowed).
    pub fn count(&self, dim: Dim, key: Key) -> u64 {
        self.top[dim as usize].count(key)
    }

    /// The smallest circular range of hours `(from, to)` (to exclusive, mod 24) holding at
    /// least `share` of the requests, or `None` without history.
    pub fn active_hours(&self, share: f64) -> Option<(u8, u8)> {
        Profile::active_range(&self.hours, share)
    }

    /// [`Profile::active_hours`] of an hour histogram.
    pub fn active_range(hours: &[u64; 24], share: f64) -> Option<(u8, u8)> {
        let total: u64 = hours.iter().sum();
        if total == 0 {
            return None;
        }
        let need = (total as f64 * share).ceil() as u64;
        let mut best: Option<(u8, u8)> = None;
        for len in 1..=24u8 {
            for start in 0..24u8 {
                let sum: u64 = (0..len).map(|k| hours[usize::from((start + k) % 24)]).sum();
                if sum >= need {
                    best = Some((start, (start + len) % 24));
                    break;
                }
            }
            if best.is_some() {
                break;
            }
        }
        best
    }

    /// Share of requests in `hour` and its two neighbours, smoothed so an hour never seen is
    /// small but not zero.
    pub fn hour_share(&self, hour: u8) -> f64 {
        Profile::share_of_hour(&self.hours, hour)
    }

    /// [`Profile::hour_share`] of an hour histogram.
    pub fn share_of_hour(hours: &[u64; 24], hour: u8) -> f64 {
        let total: u64 = hours.iter().sum();
        let h = usize::from(hour % 24);
        let near = hours[h] * 2 + hours[(h + 1) % 24] + hours[(h + 23) % 24];
        (near as f64 / 4.0 + 0.5) / (total as f64 + 12.0)
    }

    /// The 99th percentile of requests per active minute (upper edge of its log2 bin).
    pub fn minute_p99(&self) -> u64 {
        let total: u64 = self.per_minute.iter().sum();
        if total == 0 {
            return 0;
        }
        let need = (total as f64 * 0.99).ceil() as u64;
        let mut seen = 0;
        for (bin, &n) in self.per_minute.iter().enumerate() {
            seen += n;
            if seen >= need {
                return (1u64 << (bin + 1)) - 1;
            }
        }
        u64::MAX
    }

    /// Behaviour for class inference.
    pub fn behaviour(&self, interner: &Interner) -> Behaviour {
        let mut b = Behaviour {
            requests: self.requests,
            active_days: self.days.len() as u64,
            ..Behaviour::default()
        };
        b.set_clients(
            self.dim(Dim::Client)
                .entries()
                .iter()
                .map(|e| (interner.resolve(e.key.0), e.count)),
        );
        let total: u64 = self.hours.iter().sum();
        b.hours_covered = self
            .hours
            .iter()
            .filter(|&&n| total > 0 && n as f64 >= total as f64 * 0.02)
            .count() as u32;
        let weekend = self.weekdays[5] + self.weekdays[6];
        b.weekend_share = if total == 0 {
            0.0
        } else {
            weekend as f64 / total as f64
        };
        let gaps: u64 = self.gaps.iter().sum();
        let top_gap = self.gaps.iter().max().copied().unwrap_or(0);
        b.regularity = if gaps == 0 {
            0.0
        } else {
            top_gap as f64 / gaps as f64
        };
        b
    }
}

/// Counts one more, never overflowing (a loaded baseline may hold any number).
pub fn bump(n: &mut u64) {
    *n = n.saturating_add(1);
}

fn add_all(mine: &mut [u64], theirs: &[u64]) {
    for (m, t) in mine.iter_mut().zip(theirs) {
        *m = m.saturating_add(*t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(time: Micros, hour: u8) -> Observation {
        Observation {
            time,
            hour,
            response: 1,
            ..Observation::default()
        }
    }

    #[test]
    fn active_hours_wrap_midnight() {
        let mut p = Profile::default();
        for (i, hour) in [22u8, 23, 0, 1, 23, 22].into_iter().enumerate() {
            p.observe(&obs(i as i64 * 1_000_000, hour));
        }
        assert_eq!(p.active_hours(1.0), Some((22, 2)));
        assert!(p.hour_share(23) > p.hour_share(12));
    }

    #[test]
    fn log_bins() {
        assert_eq!(log_bin(0), 0);
        assert_eq!(log_bin(1), 0);
        assert_eq!(log_bin(2), 1);
        assert_eq!(log_bin(7), 2);
        assert_eq!(log_bin(u64::MAX), LOG_BINS - 1);
    }

    #[test]
    fn window_stats_mean_and_sd() {
        let mut w = WindowStats::default();
        let mut f = [0.0; WINDOW_FEATURES];
        f[0] = 1.0;
        w.add(&f);
        f[0] = 3.0;
        w.add(&f);
        let (mean, sd) = w.mean_sd(0).unwrap();
        assert!((mean - 2.0).abs() < 1e-9 && (sd - 1.0).abs() < 1e-9);
    }
}
