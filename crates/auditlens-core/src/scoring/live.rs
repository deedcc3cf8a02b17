//! State of the scoring pass that is not part of any baseline: sliding counts for bursts and
//! denial storms, the open minute and window of each identity, its sensitive actions and rule
//! hits of the last hour, and the namespaces created in the last hour.
//!
//! The last hour matters for "routine": an identity that deleted events three times in the
//! last minute has not made deleting events a habit, so routine-ness is judged on the history
//! older than an hour ([`Live::settled`]).

use std::collections::VecDeque;

use crate::baseline::profile::{Dim, Profile};
use crate::baseline::sketch::{IdMap, Key};
use crate::intern::Sym;
use crate::scoring::features::HOUR;
use crate::scoring::window::WindowAcc;
use crate::time::Micros;

/// How long an action stays "recent" (not yet part of the identity's habits), and how long a
/// namespace stays "just created".
pub const RECENT: Micros = HOUR;

/// Recent entries kept per identity; past this the oldest are forgotten early.
const MAX_RECENT: usize = 512;

/// Counts over a sliding span of time, in `N` buckets of `width`.
#[derive(Clone, Copy, Debug)]
pub struct Recent<const N: usize> {
    width: Micros,
    last: i64,
    counts: [u32; N],
}

impl<const N: usize> Recent<N> {
    pub fn new(width: Micros) -> Self {
        Recent {
            width,
            last: i64::MIN,
            counts: [0; N],
        }
    }

    /// Counts one event at `t` (times must not go backwards by more than the span).
    pub fn add(&mut self, t: Micros) {
        self.add_n(t, 1);
    }

    /// Counts `n` events at `t`; with 0 it only slides the span forward to `t`.
    pub fn add_n(&mut self, t: Micros, n: u32) {
        let bucket = t.div_euclid(self.width);
        if bucket > self.last {
            let gap = if self.last == i64::MIN {
                N as i64
            } else {
                (bucket - self.last).min(N as i64)
            };
            for k in 0..gap {
                self.counts[(bucket - k).rem_euclid(N as i64) as usize] = 0;
            }
            self.last = bucket;
        }
        if bucket > self.last - N as i64 {
            let slot = &mut self.counts[bucket.rem_euclid(N as i64) as usize];
            *slot = slot.saturating_add(n);
        }
    }

    pub fn sum(&self) -> u32 {
        self.counts.iter().sum()
    }
}

/// Per-identity state of the pass.
#[derive(Clone, Debug)]
pub struct Live {
    pub minute: i64,
    pub minute_count: u64,
    /// Requests in the last minute (six 10-second buckets).
    pub last_minute: Recent<6>,
    /// 401/403 responses and all requests in the last five minutes.
    pub denied: Recent<5>,
    pub all: Recent<5>,
    /// 401/403 responses and all requests in the last hour (one-minute buckets).
    pub denied_hour: Recent<60>,
    pub all_hour: Recent<60>,
    pub window: WindowAcc,
    /// Sensitive actions and rule hits of the last hour: `(dimension, value, time)`.
    pub recent: VecDeque<(Dim, Key, Micros)>,
    /// Source networks first seen within the hour on a flagged request: network, when,
    /// public, and the weight its later requests carry.
    pub new_networks: Vec<(Sym, Micros, bool, f32)>,
    /// The identity's and its group's hour histograms as of the start of the clock hour
    /// `hours_at` (see [`crate::scoring::judge::Context::own_hours`]).
    pub hours_at: i64,
    pub own_hours: [u64; 24],
    pub group_hours: [u64; 24],
    /// Request count at which the class is inferred next.
    pub next_class_check: u64,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            minute: i64::MIN,
            minute_count: 0,
            last_minute: Recent::new(10_000_000),
            denied: Recent::new(60_000_000),
            all: Recent::new(60_000_000),
            denied_hour: Recent::new(60_000_000),
            all_hour: Recent::new(60_000_000),
            window: WindowAcc::default(),
            recent: VecDeque::new(),
            new_networks: Vec::new(),
            hours_at: i64::MIN,
            own_hours: [0; 24],
            group_hours: [0; 24],
            next_class_check: 50,
        }
    }
}

impl Live {
    /// Forgets recent entries older than [`RECENT`] at time `t`.
    pub fn expire(&mut self, t: Micros) {
        while self
            .recent
            .front()
            .is_some_and(|&(_, _, at)| t.saturating_sub(at) >= RECENT)
        {
            self.recent.pop_front();
        }
        self.new_networks
            .retain(|&(_, at, ..)| t.saturating_sub(at) < RECENT);
    }

    pub fn remember(&mut self, dim: Dim, key: Key, t: Micros) {
        if self.recent.len() >= MAX_RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back((dim, key, t));
    }

    /// Moves its strings to another interner (see [`crate::intern::Mover`]).
    pub fn map_syms(&mut self, f: &mut impl FnMut(Sym) -> Sym) {
        for (_, key, _) in &mut self.recent {
            *key = Key(f(key.0), f(key.1));
        }
        for (network, ..) in &mut self.new_networks {
            *network = f(*network);
        }
        self.window.map_syms(f);
    }

    /// The count of a value in `profile` not counting the last hour.
    pub fn settled(&self, profile: &Profile, dim: Dim, key: Key) -> u64 {
        let recent = self
            .recent
            .iter()
            .filter(|&&(d, k, _)| d == dim && k == key)
            .count() as u64;
        profile.count(dim, key).saturating_sub(recent)
    }
}

/// Namespaces created in the last hour, by whom and when.
#[derive(Debug, Default)]
pub struct FreshNamespaces {
    created: IdMap<Sym, (u32, Micros)>,
}

impl FreshNamespaces {
    pub fn created(&mut self, namespace: Sym, identity: u32, t: Micros) {
        self.created.insert(namespace, (identity, t));
    }

    /// Moves its strings to another interner, forgetting namespaces created more than an hour
    /// before `t`.
    pub fn moved(&self, t: Micros, f: &mut impl FnMut(Sym) -> Sym) -> FreshNamespaces {
        let mut entries: Vec<(Sym, (u32, Micros))> = self
            .created
            .iter()
            .filter(|(_, &(_, at))| t.saturating_sub(at) < RECENT)
            .map(|(&ns, &v)| (ns, v))
            .collect();
        entries.sort_by_key(|&(ns, _)| ns);
        FreshNamespaces {
            created: entries.into_iter().map(|(ns, v)| (f(ns), v)).collect(),
        }
    }

    /// Who created `namespace` and how long ago, if within the last hour of `t`.
    pub fn get(&self, namespace: Sym, t: Micros) -> Option<(u32, Micros)> {
        if namespace.is_empty() {
            return None;
        }
        self.created
            .get(&namespace)
            .filter(|&&(_, at)| t >= at && t.saturating_sub(at) < RECENT)
            .map(|&(who, at)| (who, t.saturating_sub(at)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_counts_slide() {
        let mut r: Recent<5> = Recent::new(60_000_000);
        for t in [0, 1, 2] {
            r.add(t * 1_000_000);
        }
        assert_eq!(r.sum(), 3);
        r.add(4 * 60_000_000);
        assert_eq!(r.sum(), 4);
        r.add(5 * 60_000_000);
        assert_eq!(r.sum(), 2, "the first minute left the 5-minute span");
        r.add(60 * 60_000_000);
        assert_eq!(r.sum(), 1);
    }

    #[test]
    fn settled_counts_leave_out_the_last_hour() {
        let mut live = Live::default();
        let mut profile = Profile::default();
        let key = Key::one(Sym::EMPTY);
        profile.top[Dim::Rule as usize].add_n(key, 1, 5);
        live.remember(Dim::Rule, key, 0);
        live.remember(Dim::Rule, key, 10);
        assert_eq!(live.settled(&profile, Dim::Rule, key), 3);
        live.expire(RECENT + 5);
        assert_eq!(live.settled(&profile, Dim::Rule, key), 4);
    }
}
