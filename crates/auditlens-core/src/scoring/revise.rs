//! Revisions after the pass, when the whole log is known: the window model adds its signal
//! to the requests behind each unusual ten-minute window, and values that a whole peer group
//! started using together (an upgrade) lose their novelty.

use crate::baseline::profile::Dim;
use crate::identity::IdentityKind;
use crate::intern::Interner;
use crate::scoring::features::{Prepared, HOUR};
use crate::scoring::pass::{Scorer, FLEET_DIMS};
use crate::scoring::signals::{Code, Facts, Signal};
use crate::scoring::window::{self, WINDOW};
use crate::scoring::{Candidate, Inputs};
use crate::time::Micros;

/// How close in time peers' first uses must be to count as one fleet-wide change.
const FLEET_WINDOW: Micros = 6 * HOUR;

/// Whether peers of `kind` adopting a value together is a fleet-wide change: any group moving
/// to a new client version; machines moving to a new network; nodes and the control plane
/// starting to use new API actions (an upgrade). People or workloads starting a new kind of
/// action together are not excused that way.
fn fleet_change(kind: IdentityKind, dim: Dim) -> bool {
    match dim {
        Dim::Client | Dim::ClientVersion => true,
        Dim::Network => kind != IdentityKind::User,
        _ => matches!(kind, IdentityKind::Node | IdentityKind::ControlPlane),
    }
}

impl Scorer {
    /// Runs the window model and adds its signal to the requests behind each unusual window.
    pub(crate) fn window_signals(&mut self, inputs: &Inputs<'_>, interner: &mut Interner) {
        self.windows.sort_by_key(|w| (w.identity, w.start));
        let model = &self.model;
        let anomalies = window::detect(&self.windows, |id| {
            let record = model.identities.get(id as usize);
            let own = record
                .map(|r| r.profile.windows.clone())
                .unwrap_or_default();
            let class = record
                .and_then(|r| model.classes.get(r.class.index()))
                .map(|c| c.windows.clone())
                .unwrap_or_default();
            (own, class)
        });
        if anomalies.is_empty() {
            return;
        }
        self.candidates.sort_by_key(|c| c.request);
        let mut added: Vec<Candidate> = Vec::new();
        let mut prep = Prepared::default();
        for anomaly in anomalies {
            let Some(record) = self.windows.get(anomaly.record) else {
                continue;
            };
            let top = anomaly.features.first().map_or(0, |f| f.0);
            let signal = Signal {
                code: Code::Window,
                p: anomaly.p,
                facts: Facts::Window {
                    start: record.start,
                    minutes: (WINDOW / 60_000_000) as u32,
                    features: anomaly.features.clone(),
                },
            };
            for index in record.first..=record.last {
                if self.request_identity.get(index as usize) != Some(&record.identity) {
                    continue;
                }
                let Some(event) = inputs.requests.get(index as usize) else {
                    continue;
                };
                self.feat.prepare(interner, event, &mut prep);
                let existing = self.candidates.binary_search_by_key(&index, |c| c.request);
                let has = |code: fn(Code) -> bool| {
                    existing
                        .as_ref()
                        .is_ok_and(|&i| self.candidates[i].signals.iter().any(|s| code(s.code)))
                };
                let has_novel = has(|c| matches!(c, Code::Novel(_)));
                if has(|c| c == Code::Provisioning) {
                    continue;
                }
                // Only the requests behind the feature that stands out most.
                let contributes = match top {
                    3 => prep.error,
                    4 => prep.denied,
                    5 => prep.obs.write,
                    6 => prep.sensitivity.is_some(),
                    7 => has_novel,
                    _ => true,
                };
                if !contributes {
                    continue;
                }
                match existing {
                    Ok(i) => self.candidates[i].signals.push(signal.clone()),
                    Err(_) => added.push(Candidate {
                        request: index,
                        identity: record.identity,
                        signals: vec![signal.clone()],
                    }),
                }
            }
        }
        added.sort_by_key(|c| c.request);
        added.dedup_by(|later, earlier| {
            if later.request == earlier.request {
                earlier.signals.append(&mut later.signals);
                true
            } else {
                false
            }
        });
        self.candidates.extend(added);
        self.candidates.sort_by_key(|c| c.request);
    }

    /// Drops the novelty of values that a whole peer group started using together.
    pub(crate) fn fleet_check(&mut self, inputs: &Inputs<'_>) {
        for candidate in &mut self.candidates {
            let Some(record) = self.model.identities.get(candidate.identity as usize) else {
                continue;
            };
            let (group, kind) = (record.group, record.kind);
            let Some(t) = inputs
                .requests
                .get(candidate.request as usize)
                .map(|e| e.received)
            else {
                continue;
            };
            for signal in &mut candidate.signals {
                let (Code::Novel(dim), Facts::Value { key, .. }) = (signal.code, &signal.facts)
                else {
                    continue;
                };
                if !FLEET_DIMS.contains(&dim) || !fleet_change(kind, dim) {
                    continue;
                }
                let key = *key;
                let Some(list) = self.adoptions.get(&(group, dim, key)) else {
                    continue;
                };
                let together = list
                    .iter()
                    .filter(|&&(_, at)| at.abs_diff(t) <= FLEET_WINDOW.unsigned_abs())
                    .count();
                let members = self.model.group_members(group);
                if members >= 2 && together >= members.clamp(2, 3) {
                    *signal = Signal {
                        code: Code::FleetWide,
                        p: 0.0,
                        facts: Facts::FleetWide {
                            dim,
                            key,
                            group,
                            identities: together,
                        },
                    };
                }
            }
        }
    }
}
