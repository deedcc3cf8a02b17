//! Requests held until they can be judged: their stages merged, in time order.
//!
//! A request waits until its last stage (`ResponseComplete` or `Panic`) is in and a short
//! reorder span has passed, so that a slightly earlier request written a little later is
//! judged first; a request whose last stage does not come (a long watch, a policy that omits
//! it) is judged after a longer wait with the stages it has. Both spans run on two clocks:
//! the caller's (time since the request arrived) and the log's (how far later events have
//! got), so a log replayed at full speed and a quiet live one are both judged in time.
//!
//! Requests leave in the order a whole log's analysis sorts them: time, then file, then
//! place in the file. Judged auditIDs are remembered for a while, so that a stage arriving
//! after its request was judged is dropped instead of judged again.

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::intern::AuditId;
use crate::model::{Event, Stage};
use crate::time::Micros;

/// Where a request sorts: time, file, byte offset.
type Order = (Micros, u32, u64);

/// A request waiting to be judged.
#[derive(Debug)]
pub(crate) struct Held {
    pub event: Event,
    /// The caller's clock when its first stage arrived.
    pub arrived: Micros,
    /// Where each of its stages starts: (file, byte offset, line).
    pub places: Vec<(u32, u64, u64)>,
}

impl Held {
    fn complete(&self) -> bool {
        matches!(self.event.stage, Stage::ResponseComplete | Stage::Panic)
    }
}

/// Judged auditIDs kept at most; past this the oldest are forgotten early.
pub(crate) const MAX_REMEMBERED: usize = 1_000_000;

/// A judged request, remembered: when it was judged (log time), and the furthest place of
/// any of its stages.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Judged {
    pub at: Micros,
    pub place: (u32, u64),
}

#[derive(Debug, Default)]
pub(crate) struct Pending {
    order: BTreeMap<Order, Held>,
    by_id: HashMap<AuditId, Order>,
    judged: HashMap<AuditId, Judged>,
    judged_order: VecDeque<(Micros, AuditId)>,
    /// The latest request time seen.
    pub watermark: Micros,
}

/// What became of an arriving stage.
pub(crate) enum Arrival {
    /// A new request, now held.
    New,
    /// Merged into the held request with its auditID.
    Merged,
    /// Its request was judged already; the stage is dropped.
    Late,
}

fn order_of(event: &Event) -> Order {
    (event.received, event.source.file, event.source.offset)
}

impl Pending {
    pub fn remembered(&self) -> usize {
        self.judged.len()
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// The held request with this auditID.
    pub fn held(&self, id: AuditId) -> Option<&Event> {
        let order = self.by_id.get(&id)?;
        self.order.get(order).map(|h| &h.event)
    }

    /// Whether a request with this auditID was judged (and is still remembered); a later
    /// stage moves its furthest place on.
    pub fn was_judged(&mut self, id: AuditId, place: (u32, u64)) -> bool {
        match self.judged.get_mut(&id) {
            Some(judged) => {
                if place > judged.place {
                    judged.place = place;
                }
                true
            }
            None => false,
        }
    }

    /// Takes in a stage arriving at `now` (the caller's clock).
    pub fn add(&mut self, event: Event, now: Micros) -> Arrival {
        self.watermark = self.watermark.max(event.received);
        let place = (event.source.file, event.source.offset, event.source.line);
        let Some(order) = self.by_id.get(&event.audit_id).copied() else {
            let order = order_of(&event);
            self.by_id.insert(event.audit_id, order);
            self.order.insert(
                order,
                Held {
                    event,
                    arrived: now,
                    places: vec![place],
                },
            );
            return Arrival::New;
        };
        let Some(mut held) = self.order.remove(&order) else {
            return Arrival::Late;
        };
        // As a whole log's analysis merges stages.
        held.event.merge_stage(event);
        held.places.push(place);
        let order = order_of(&held.event);
        self.by_id.insert(held.event.audit_id, order);
        self.order.insert(order, held);
        Arrival::Merged
    }

    /// Takes out, in order, the requests that are ready at `now`: complete and held for
    /// `reorder` (on either clock), or held for `wait`. Stops at the first that is not, so
    /// that none is judged before an earlier one.
    pub fn ready(&mut self, now: Micros, reorder: Micros, wait: Micros) -> Vec<Held> {
        let mut out = Vec::new();
        while let Some(entry) = self.order.first_entry() {
            let held = entry.get();
            let waited = now.saturating_sub(held.arrived);
            let behind = self.watermark.saturating_sub(held.event.received);
            let span = if held.complete() { reorder } else { wait };
            if waited < span && behind < span {
                break;
            }
            let held = entry.remove();
            out.push(self.take(held));
        }
        out
    }

    /// Takes out every held request, in order.
    pub fn drain(&mut self) -> Vec<Held> {
        let all = std::mem::take(&mut self.order);
        all.into_values().map(|held| self.take(held)).collect()
    }

    fn take(&mut self, held: Held) -> Held {
        let id = held.event.audit_id;
        self.by_id.remove(&id);
        let place = held
            .places
            .iter()
            .map(|&(file, offset, _)| (file, offset))
            .max()
            .unwrap_or((0, 0));
        self.remember(id, held.event.received, place);
        held
    }

    /// Moves the held requests and the remembered auditIDs to another interner.
    pub fn move_to(&mut self, m: &mut crate::intern::Mover<'_>) {
        for held in self.order.values_mut() {
            held.event = held.event.moved(m);
        }
        self.by_id = std::mem::take(&mut self.by_id)
            .into_iter()
            .map(|(id, order)| (m.audit_id(id), order))
            .collect();
        self.judged = std::mem::take(&mut self.judged)
            .into_iter()
            .map(|(id, j)| (m.audit_id(id), j))
            .collect();
        for (_, id) in &mut self.judged_order {
            *id = m.audit_id(*id);
        }
    }

    /// Remembers a judged request (also one restored from a saved state).
    pub fn remember(&mut self, id: AuditId, at: Micros, place: (u32, u64)) {
        if self.judged.len() >= MAX_REMEMBERED {
            if let Some((_, oldest)) = self.judged_order.pop_front() {
                self.judged.remove(&oldest);
            }
        }
        if self.judged.insert(id, Judged { at, place }).is_none() {
            self.judged_order.push_back((at, id));
        }
    }

    /// Forgets judged requests more than `span` before the watermark.
    pub fn forget(&mut self, span: Micros) {
        while let Some(&(at, id)) = self.judged_order.front() {
            if self.watermark.saturating_sub(at) < span {
                break;
            }
            self.judged_order.pop_front();
            self.judged.remove(&id);
        }
    }

    /// The earliest place in `file` of a stage of a held request: (byte offset, line).
    pub fn earliest_place(&self, file: u32) -> Option<(u64, u64)> {
        self.order
            .values()
            .flat_map(|h| h.places.iter())
            .filter(|&&(f, _, _)| f == file)
            .map(|&(_, offset, line)| (offset, line))
            .min()
    }

    /// Judged requests with a stage in `file` at or past `offset` (those a restart that reads
    /// the file again from `offset` must not judge twice), or judged at `since` or later.
    pub fn judged_from(
        &self,
        file: u32,
        offset: u64,
        since: Micros,
    ) -> impl Iterator<Item = (AuditId, Judged)> + '_ {
        self.judged
            .iter()
            .filter(move |(_, j)| j.place.0 == file && (j.place.1 >= offset || j.at >= since))
            .map(|(&id, &j)| (id, j))
    }
}
