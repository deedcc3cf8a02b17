//! Signals: what made a request stand out, each a probability-like weight (0..1) with the
//! facts that explain it. The judgements that produce them are in `judge`; `explain` turns the
//! facts into sentences. Signals combine as a noisy-or (`1 - Π(1 - p)`) into the request's
//! score.

use crate::baseline::profile::{Dim, Profile};
use crate::baseline::sketch::Key;
use crate::identity::IdentityClass;
use crate::intern::Sym;
use crate::report::Severity;

/// A stable reason code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    Novel(Dim),
    Rare(Dim),
    Sensitive,
    OffHours,
    OffDays,
    Burst,
    DeniedStorm,
    Impersonation,
    AnonymousAllowed,
    NewIdentity,
    Window,
    Rule,
    FleetWide,
    /// Context that lowered other signals: a namespace being set up by its creator.
    Provisioning,
    /// A session from a source network that was new within the hour.
    NewNetworkSession,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Novel(dim) => match dim {
                Dim::Verb => "novel-verb",
                Dim::Resource => "novel-resource",
                Dim::Action => "novel-action",
                Dim::ActionNamespace => "novel-action-in-namespace",
                Dim::Namespace => "novel-namespace",
                Dim::ApiGroup => "novel-api-group",
                Dim::SourceIp => "novel-source-ip",
                Dim::Network => "novel-source-network",
                Dim::Client => "novel-client",
                Dim::ClientVersion => "novel-client-version",
                Dim::Impersonates => "novel-impersonation",
                Dim::Rule => "novel-rule",
            },
            Code::Rare(_) => "rare-action",
            Code::Sensitive => "sensitive-action",
            Code::OffHours => "off-hours",
            Code::OffDays => "off-days",
            Code::Burst => "burst",
            Code::DeniedStorm => "denied-storm",
            Code::Impersonation => "impersonation",
            Code::AnonymousAllowed => "anonymous-allowed",
            Code::NewIdentity => "new-identity",
            Code::Window => "window-anomaly",
            Code::Rule => "rule",
            Code::FleetWide => "fleet-wide-change",
            Code::Provisioning => "provisioning",
            Code::NewNetworkSession => "new-network-session",
        }
    }
}

/// Which history a judgement was made against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    Own,
    /// The identity's history was short; its peer group spoke for it.
    Peers,
}

/// How much history a judgement rests on.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct History {
    pub requests: u64,
    pub days: f64,
}

impl History {
    pub fn of(p: &Profile) -> History {
        History {
            requests: p.requests,
            days: p.span_days(),
        }
    }
}

/// The numbers behind a signal, turned into words by `explain`.
#[derive(Clone, Debug, PartialEq)]
pub enum Facts {
    Value {
        dim: Dim,
        key: Key,
        basis: Basis,
        history: History,
        /// Times the identity used the value (0 when novel).
        count: u64,
        /// Distinct values the identity used in this dimension (listed ones).
        listed: u64,
        /// The value summary overflowed: "never" cannot be claimed, only "not among".
        uncertain: bool,
        /// Times peers used it.
        peer_count: u64,
        /// Public source address while the identity used only private ones.
        public: bool,
        /// The identity's most used value in this dimension.
        usual: Option<Key>,
    },
    Sensitive {
        what: &'static str,
        /// Times the identity did this action before (in this namespace: `in_namespace`).
        before: u64,
        in_namespace: u64,
        history: History,
    },
    OffHours {
        hour: u8,
        active: Option<(u8, u8)>,
        /// Whose hours: the identity's, or its peers' while it is new.
        basis: Basis,
        history: History,
    },
    /// The request comes from a network first seen for the identity within the hour, on a
    /// request that was flagged for it.
    NewNetworkSession {
        network: Sym,
        minutes: i64,
        public: bool,
    },
    OffDays {
        weekday: u8,
        history: History,
    },
    Burst {
        last_minute: u32,
        usual_peak: u64,
    },
    DeniedStorm {
        recent: u32,
        minutes: u32,
        before: u64,
        history: History,
    },
    Impersonation {
        target: Sym,
        privileged: bool,
        before: u64,
        any_before: u64,
        history: History,
    },
    AnonymousAllowed {
        before: u64,
    },
    NewIdentity {
        group: Sym,
        members: usize,
        class: IdentityClass,
    },
    Window {
        start: i64,
        minutes: u32,
        /// (feature index, value, usual mean, usual sd), most deviating first.
        features: Vec<(usize, f64, f64, f64)>,
    },
    Rule {
        rule: &'static str,
        severity: Severity,
        message: String,
        routine: Routine,
    },
    Provisioning {
        namespace: Sym,
        /// The identity that created the namespace (its username).
        creator: Sym,
        /// How long ago, in minutes.
        minutes: i64,
    },
    FleetWide {
        dim: Dim,
        key: Key,
        group: Sym,
        identities: usize,
    },
}

/// Whether a rule hit is routine for the identity, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routine {
    No,
    /// The rule matched this identity so many times before the last hour (at least once).
    Own(u64),
    /// The identity is new, but the rule matched its peers so many times.
    Peers(u64),
    /// The request sets up a namespace the identity created within the hour.
    Provisioning,
    /// A control-plane component, connecting with its usual client from its usual network.
    Machinery,
}

impl Routine {
    /// Severity levels the rule's own severity is lowered by: two when routine, one when the
    /// identity did it once or twice before.
    pub fn levels(self) -> usize {
        match self {
            Routine::No => 0,
            Routine::Own(n) if n < 3 => 1,
            _ => 2,
        }
    }

    /// The share of the rule's weight that still counts.
    pub fn weight(self) -> f32 {
        match self {
            Routine::No => 1.0,
            Routine::Own(n) => 1.0 / (n as f32 + 1.0),
            _ => 0.25,
        }
    }
}

/// One signal.
#[derive(Clone, Debug, PartialEq)]
pub struct Signal {
    pub code: Code,
    pub p: f32,
    pub facts: Facts,
}

/// Combines signal weights as a noisy-or.
pub fn combine(signals: &[Signal]) -> f32 {
    1.0 - signals
        .iter()
        .fold(1.0f32, |acc, s| acc * (1.0 - s.p.clamp(0.0, 0.99)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noisy_or() {
        let s = |p| Signal {
            code: Code::Burst,
            p,
            facts: Facts::AnonymousAllowed { before: 0 },
        };
        assert!((combine(&[s(0.5), s(0.5)]) - 0.75).abs() < 1e-6);
        assert_eq!(combine(&[]), 0.0);
    }
}
