//! Scoring requests one at a time, as they arrive, for `auditlens watch`.
//!
//! The same pass as a whole log's ([`super::score`]): each request is judged against the
//! profiles as they stand (the loaded baseline and every request judged before it), then
//! counted into them, with the same signals, rule weights and explanations. What the
//! whole-log scoring decides with hindsight is left out, because it needs requests that have
//! not arrived yet: the window model's verdict on ten-minute windows (judged against every
//! window of the log) and the fleet check (peers adopting a value within six hours either
//! side). A finding of one request is therefore the same here as in `analyze` unless its
//! reasons there include `window` or `fleet-wide`.
//!
//! Nothing grows with the number of requests: the state is the model (bounded per identity)
//! and each identity's last hour.

use crate::baseline::sketch::IdMap;
use crate::baseline::{Baseline, Model};
use crate::detection::{RuleHit, RuleHits};
use crate::intern::Interner;
use crate::model::Event;
use crate::report::Finding;
use crate::scoring::features::Prepared;
use crate::scoring::incident::{self, INCIDENT_GAP};
use crate::scoring::pass::Scorer;
use crate::scoring::signals::Signal;
use crate::scoring::Inputs;
use crate::time::{format_rfc3339, Micros};

/// A finding judged as its request arrived.
#[derive(Clone, Debug, PartialEq)]
pub struct Judged {
    /// As `analyze` reports it, but with no incident number (incidents are still open).
    pub finding: Finding,
    /// The key its incident's findings share ([`crate::export::group_key`]'s, for an
    /// incident): the actor and the time of the incident's first finding.
    pub group: String,
    /// The actor, and when its incident started.
    pub incident_actor: String,
    pub incident_first: Micros,
}

/// Judges requests one by one; see the module docs.
pub struct OnlineScorer {
    scorer: Scorer,
    /// Per actor (identity index): its open incident's first and latest finding times.
    incidents: IdMap<u32, (Micros, Micros)>,
    /// Requests judged so far (the index the pass gives each).
    judged: u32,
    prep: Prepared,
    signals: Vec<Signal>,
    no_hits: RuleHits,
}

impl OnlineScorer {
    /// Starts from `baseline` (if any); requests before `learning_end` only teach, unless a
    /// detection rule matches them.
    pub fn new(baseline: Option<&Baseline>, learning_end: Micros, interner: &mut Interner) -> Self {
        let mut scorer = Scorer::starting(baseline, learning_end, interner);
        scorer.hindsight = false;
        OnlineScorer {
            scorer,
            incidents: IdMap::default(),
            judged: 0,
            prep: Prepared::default(),
            signals: Vec::new(),
            no_hits: RuleHits::default(),
        }
    }

    /// Continues an incident already open for `actor` (after a restart), so that its later
    /// findings keep its group key.
    pub fn resume_incident(
        &mut self,
        actor: &str,
        first: Micros,
        last: Micros,
        interner: &mut Interner,
    ) {
        let user = interner.intern(actor);
        if let Some(id) = self.scorer.model.identity(user) {
            self.incidents.insert(id, (first, last));
        }
    }

    /// The incidents open at time `now`: (actor, first, latest finding time).
    pub fn open_incidents(
        &self,
        now: Micros,
        interner: &Interner,
    ) -> Vec<(String, Micros, Micros)> {
        let mut open: Vec<(String, Micros, Micros)> = self
            .incidents
            .iter()
            .filter(|(_, &(_, last))| now.saturating_sub(last) <= INCIDENT_GAP)
            .filter_map(|(&id, &(first, last))| {
                let record = self.scorer.model.identities.get(id as usize)?;
                Some((interner.resolve(record.user).to_string(), first, last))
            })
            .collect();
        open.sort();
        open
    }

    /// Judges the next request (requests come in time order), matched by `hits`, read from
    /// `file`; gives its finding, if it is one.
    pub fn judge(
        &mut self,
        event: &Event,
        hits: &[RuleHit],
        file: &str,
        interner: &mut Interner,
    ) -> Option<Judged> {
        let index = self.judged;
        self.judged = self.judged.wrapping_add(1);
        self.scorer.candidates.clear();
        self.scorer.step(
            interner,
            index,
            event,
            hits,
            &mut self.prep,
            &mut self.signals,
        );
        let mut candidate = self.scorer.candidates.pop()?;
        candidate.request = 0;
        let actor = candidate.identity;
        let files = [file];
        let inputs = Inputs {
            requests: std::slice::from_ref(event),
            rule_hits: &self.no_hits,
            files: &files,
            baseline: None,
        };
        let built = incident::build(&self.scorer.model, interner, &inputs, vec![candidate]);
        let mut finding = built.findings.into_iter().next()?;
        finding.incident = None;
        let t = event.received;
        let (first, last) = self.incidents.entry(actor).or_insert((t, t));
        if t.saturating_sub(*last) > INCIDENT_GAP {
            *first = t;
        }
        *last = t;
        let first = *first;
        let incident_actor = self
            .scorer
            .model
            .identities
            .get(actor as usize)
            .map(|r| interner.resolve(r.user).to_string())
            .unwrap_or_default();
        Some(Judged {
            group: crate::export::incident_group_key(&incident_actor, &format_rfc3339(first)),
            finding,
            incident_actor,
            incident_first: first,
        })
    }

    /// Moves every string it refers to from `from` into the fresh interner `to`; `t` is the
    /// time of the latest request judged.
    pub fn move_to(&mut self, from: &Interner, to: &mut Interner, t: Micros) {
        self.scorer.move_to(from, to, t);
    }

    /// What was learned: the loaded baseline and every request judged since.
    pub fn model(&self) -> &Model {
        &self.scorer.model
    }

    /// The baseline learned so far, ready to save.
    pub fn baseline(&self, interner: &Interner) -> Baseline {
        Baseline::from_model(&self.scorer.model, interner)
    }
}
