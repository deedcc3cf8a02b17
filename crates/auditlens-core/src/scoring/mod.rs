//! Scoring: every request against the behaviour of the identity that sent it.
//!
//! ```text
//! requests (time order) ─▶ features ─▶ judge (vs profiles before the request) ─▶ candidates
//!                              │                                                     │
//!                              ├─▶ profiles (identity, peer group, class) ◀─ baseline │
//!                              └─▶ ten-minute windows ─▶ Gaussian mixture ─▶ revise ◀─┘
//!                                                          (window signals, fleet check)
//! candidates ─▶ incident: findings (score, severity, reasons via explain) and incidents
//! ```
//!
//! One pass in time order (`pass`): each request is prepared ([`features`]), judged against
//! what its identity, its peers and its class did before it ([`judge`], [`sensitivity`]),
//! then counted into their profiles ([`crate::baseline`]). Without a loaded baseline the first
//! part of the log (half its span, at most a day) only teaches. What happened within the last
//! hour ([`live`]) does not yet count as habit: three deletions in a minute do not make a
//! routine. After the pass the window model flags unusual ten-minute windows and values a
//! whole peer group adopted together (a kubelet upgrade) lose their novelty (`revise`).
//!
//! A request becomes a finding when its signals combine (noisy-or, [`signals`]) into a score
//! of at least [`MIN_FINDING_SCORE`], or when a detection rule matched it: the rule's severity
//! raises the finding's, less when the identity's baseline shows it doing this before, when
//! its peers do it routinely, when it is setting up a namespace it just created, or when it is
//! the control plane acting as it always does. Findings of one identity close in time form an
//! incident ([`incident`]); [`summary`] describes each identity's baseline for people.

pub mod explain;
pub mod features;
pub mod incident;
pub mod judge;
pub mod live;
pub mod online;
mod pass;
mod revise;
pub mod sensitivity;
pub mod signals;
pub mod summary;
pub mod window;

use crate::baseline::{Baseline, Model};
use crate::detection::RuleHits;
use crate::intern::Interner;
use crate::model::Event;
use crate::report::{Finding, IdentityProfile, Incident, Severity};
use crate::scoring::signals::{Routine, Signal};

/// Scores below this are not findings (unless a rule matched).
pub const MIN_FINDING_SCORE: u8 = 20;

/// What scoring produced.
#[derive(Debug, Default)]
pub struct Scored {
    /// Most urgent first.
    pub findings: Vec<Finding>,
    /// Most urgent first; `Finding::incident` refers to their ids.
    pub incidents: Vec<Incident>,
    /// What was learned (a loaded baseline plus these logs), keyed by the analysis' interner.
    pub model: Model,
    /// One per identity, by username.
    pub identities: Vec<IdentityProfile>,
}

/// What scoring reads.
pub struct Inputs<'a> {
    /// In time order.
    pub requests: &'a [Event],
    pub rule_hits: &'a RuleHits,
    /// Names of the input files, by file index.
    pub files: &'a [&'a str],
    pub baseline: Option<&'a Baseline>,
}

/// A request that may become a finding.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    pub request: u32,
    pub identity: u32,
    pub signals: Vec<Signal>,
}

/// Scores `inputs.requests`; see the module docs.
pub fn score(inputs: &Inputs<'_>, interner: &mut Interner) -> Scored {
    score_with(inputs, interner, true)
}

/// Scores `inputs.requests` each as it was judged when it arrived: the pass alone, without
/// the window model and the fleet check (see [`online`]).
pub fn score_without_hindsight(inputs: &Inputs<'_>, interner: &mut Interner) -> Scored {
    score_with(inputs, interner, false)
}

fn score_with(inputs: &Inputs<'_>, interner: &mut Interner, hindsight: bool) -> Scored {
    let mut scorer = pass::Scorer::new(inputs, interner);
    scorer.pass(inputs, interner);
    if hindsight {
        scorer.window_signals(inputs, interner);
        scorer.fleet_check(inputs);
    }
    let (model, candidates) = scorer.into_parts();
    let built = incident::build(&model, interner, inputs, candidates);
    let identities = summary::profiles(&model, interner, &built.findings, &built.incidents);
    Scored {
        findings: built.findings,
        incidents: built.incidents,
        model,
        identities,
    }
}

/// What a rule hit adds to a score: its severity, less the more routine it is for the
/// identity.
pub fn rule_weight(severity: Severity, routine: Routine) -> f32 {
    let base = match severity {
        Severity::Critical => 0.88,
        Severity::High => 0.68,
        Severity::Medium => 0.45,
        Severity::Low => 0.22,
        Severity::Info => 0.05,
    };
    base * routine.weight()
}

/// The severity of a score.
pub fn severity_of(score: u8) -> Severity {
    match score {
        85.. => Severity::Critical,
        65.. => Severity::High,
        40.. => Severity::Medium,
        20.. => Severity::Low,
        _ => Severity::Info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_severity_starts_exactly_at_its_threshold() {
        // (score, severity) at each side of every boundary: info < 20 <= low < 40 <= medium
        // < 65 <= high < 85 <= critical.
        let cases = [
            (0, Severity::Info),
            (19, Severity::Info),
            (20, Severity::Low),
            (39, Severity::Low),
            (40, Severity::Medium),
            (64, Severity::Medium),
            (65, Severity::High),
            (84, Severity::High),
            (85, Severity::Critical),
            (100, Severity::Critical),
            (u8::MAX, Severity::Critical),
        ];
        for (score, severity) in cases {
            assert_eq!(severity_of(score), severity, "score {score}");
        }
        assert_eq!(severity_of(MIN_FINDING_SCORE), Severity::Low);
        assert_eq!(severity_of(MIN_FINDING_SCORE - 1), Severity::Info);
    }

    #[test]
    fn a_rule_weighs_by_its_severity_and_less_when_routine() {
        let ordered = [
            Severity::Info,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ];
        for pair in ordered.windows(2) {
            assert!(
                rule_weight(pair[0], Routine::No) < rule_weight(pair[1], Routine::No),
                "{pair:?}"
            );
        }
        // Alone (no routine), a rule's weight lands its finding in the rule's own band.
        for severity in ordered {
            let score = (rule_weight(severity, Routine::No) * 100.0).round() as u8;
            assert_eq!(severity_of(score), severity, "{severity:?} weighs {score}");
        }
        let high = |r| rule_weight(Severity::High, r);
        assert!(high(Routine::Own(1)) < high(Routine::No));
        assert!(high(Routine::Own(5)) < high(Routine::Own(1)));
    }
}
