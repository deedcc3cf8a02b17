//! Behavioural baselines: what is normal for every identity, its peer group and its class.
//!
//! The scorer learns a [`Model`] while it reads requests in time order: one [`Profile`] per
//! identity (keyed by the actor's username), per peer group and per class, keyed by ids of the
//! analysis' [`Interner`]. A [`Baseline`] is the same model made self-contained (it owns the
//! strings its ids refer to), so it can be merged with another, written to a versioned JSON
//! file ([`mod@file`]) and loaded into a later analysis to score new logs against it.
//!
//! ```text
//! requests ─▶ scorer ─▶ Model (analysis ids) ─▶ Baseline (own strings) ─▶ JSON file
//! JSON file ─▶ Baseline ─▶ Model (re-keyed into the next analysis' ids) ─▶ scorer
//! ```
//!
//! Merging is associative and commutative: two shards merged give the one-pass result for the
//! exact parts (counts, histograms, distinct-count registers, window sums), and for the value
//! summaries as long as they held every value (see [`sketch`]).

pub mod file;
pub mod profile;
pub mod sketch;

use crate::identity::{infer_class, IdentityClass, IdentityKind};
use crate::intern::{Interner, Sym};
use crate::time::Micros;

pub use file::{BaselineError, FORMAT, VERSION};
pub use profile::{Dim, DistinctDim, Observation, Profile};
pub use sketch::{Distinct, IdMap, Key, TopValues};

/// One identity's profile and what is known about it.
#[derive(Clone, Debug)]
pub struct IdentityRecord {
    /// The actor's username.
    pub user: Sym,
    pub kind: IdentityKind,
    pub class: IdentityClass,
    /// The peer group's name.
    pub group: Sym,
    pub profile: Profile,
}

/// A peer group's profile.
#[derive(Clone, Debug)]
pub struct GroupRecord {
    pub name: Sym,
    /// Identities in the group (derived, not stored).
    pub members: u32,
    pub profile: Profile,
}

/// Profiles keyed by the ids of one interner.
#[derive(Clone, Debug)]
pub struct Model {
    pub identities: Vec<IdentityRecord>,
    by_user: IdMap<Sym, u32>,
    pub groups: Vec<GroupRecord>,
    by_group: IdMap<Sym, u32>,
    /// One profile per [`IdentityClass`], by [`IdentityClass::index`].
    pub classes: Vec<Profile>,
}

impl Default for Model {
    fn default() -> Self {
        Model {
            identities: Vec::new(),
            by_user: IdMap::default(),
            groups: Vec::new(),
            by_group: IdMap::default(),
            classes: IdentityClass::ALL
                .iter()
                .map(|_| Profile::default())
                .collect(),
        }
    }
}

impl Model {
    /// The index of `user`'s record.
    pub fn identity(&self, user: Sym) -> Option<u32> {
        self.by_user.get(&user).copied()
    }

    /// Adds a record for `user` (which must not have one) and returns its index.
    pub fn add_identity(
        &mut self,
        user: Sym,
        kind: IdentityKind,
        class: IdentityClass,
        group: Sym,
    ) -> u32 {
        let index = self.identities.len() as u32;
        let g = self.group(group);
        if let Some(record) = self.groups.get_mut(g as usize) {
            record.members += 1;
        }
        self.identities.push(IdentityRecord {
            user,
            kind,
            class,
            group,
            profile: Profile::default(),
        });
        self.by_user.insert(user, index);
        index
    }

    /// The index of group `name`, added if new.
    pub fn group(&mut self, name: Sym) -> u32 {
        if let Some(&index) = self.by_group.get(&name) {
            return index;
        }
        let index = self.groups.len() as u32;
        self.groups.push(GroupRecord {
            name,
            members: 0,
            profile: Profile::default(),
        });
        self.by_group.insert(name, index);
        index
    }

    /// The index of group `name`, if known.
    pub fn find_group(&self, name: Sym) -> Option<u32> {
        self.by_group.get(&name).copied()
    }

    /// Identities in peer group `name`.
    pub fn group_members(&self, name: Sym) -> usize {
        self.find_group(name)
            .and_then(|g| self.groups.get(g as usize))
            .map_or(0, |g| g.members as usize)
    }

    /// Counts group members again (after identities changed group).
    fn recount_members(&mut self) {
        for g in &mut self.groups {
            g.members = 0;
        }
        for i in 0..self.identities.len() {
            let group = self.identities[i].group;
            let index = self.group(group);
            if let Some(record) = self.groups.get_mut(index as usize) {
                record.members += 1;
            }
        }
    }

    /// Total requests over all identities.
    pub fn requests(&self) -> u64 {
        self.identities.iter().map(|r| r.profile.requests).sum()
    }

    /// Earliest and latest request over all identities.
    pub fn span(&self) -> Option<(Micros, Micros)> {
        let seen = self.identities.iter().filter(|r| r.profile.requests > 0);
        let first = seen.clone().map(|r| r.profile.first).min()?;
        let last = seen.map(|r| r.profile.last).max()?;
        Some((first, last))
    }

    /// Adds `other` (keyed by the same interner) into this model. Where the two disagree on
    /// an identity's kind or group, the smaller wins, so the result does not depend on order.
    pub fn merge(&mut self, other: &Model, interner: &Interner) {
        for theirs in &other.identities {
            match self.identity(theirs.user) {
                Some(index) => {
                    if let Some(mine) = self.identities.get_mut(index as usize) {
                        mine.kind = mine.kind.min(theirs.kind);
                        if interner.resolve(theirs.group) < interner.resolve(mine.group) {
                            mine.group = theirs.group;
                        }
                        mine.profile.merge(&theirs.profile);
                    }
                }
                None => {
                    let index =
                        self.add_identity(theirs.user, theirs.kind, theirs.class, theirs.group);
                    if let Some(mine) = self.identities.get_mut(index as usize) {
                        mine.profile = theirs.profile.clone();
                    }
                }
            }
        }
        for theirs in &other.groups {
            let index = self.group(theirs.name);
            if let Some(mine) = self.groups.get_mut(index as usize) {
                mine.profile.merge(&theirs.profile);
            }
        }
        for (mine, theirs) in self.classes.iter_mut().zip(&other.classes) {
            mine.merge(theirs);
        }
        self.recount_members();
        self.reclassify(interner);
    }

    /// Infers every identity's class again from its name and behaviour.
    pub fn reclassify(&mut self, interner: &Interner) {
        for record in &mut self.identities {
            let behaviour = record.profile.behaviour(interner);
            record.class = infer_class(interner.resolve(record.user), record.kind, &behaviour);
        }
    }

    /// This model with every id re-keyed from `from` into `to` (interning as needed).
    pub fn rekeyed(&self, from: &Interner, to: &mut Interner) -> Model {
        let mut cache: IdMap<Sym, Sym> = IdMap::default();
        let mut map = |sym: Sym| -> Sym {
            if sym.is_empty() {
                return Sym::EMPTY;
            }
            if let Some(&mapped) = cache.get(&sym) {
                return mapped;
            }
            let mapped = to.intern(from.resolve(sym));
            cache.insert(sym, mapped);
            mapped
        };
        let mut out = Model::default();
        for record in &self.identities {
            let user = map(record.user);
            let group = map(record.group);
            let index = out.add_identity(user, record.kind, record.class, group);
            let mut profile = record.profile.clone();
            profile.map_syms(&mut map);
            if let Some(r) = out.identities.get_mut(index as usize) {
                r.profile = profile;
            }
        }
        for record in &self.groups {
            let index = out.group(map(record.name));
            let mut profile = record.profile.clone();
            profile.map_syms(&mut map);
            if let Some(r) = out.groups.get_mut(index as usize) {
                r.profile = profile;
            }
        }
        for (mine, theirs) in out.classes.iter_mut().zip(&self.classes) {
            let mut profile = theirs.clone();
            profile.map_syms(&mut map);
            *mine = profile;
        }
        out
    }
}

/// A self-contained baseline: a [`Model`] with the strings its ids refer to.
#[derive(Debug, Default)]
pub struct Baseline {
    strings: Interner,
    model: Model,
}

impl Clone for Baseline {
    fn clone(&self) -> Self {
        Baseline::from_model(&self.model, &self.strings)
    }
}

impl Baseline {
    /// Copies `model` (keyed by `interner`) into a self-contained baseline.
    pub fn from_model(model: &Model, interner: &Interner) -> Baseline {
        let mut strings = Interner::default();
        let model = model.rekeyed(interner, &mut strings);
        Baseline { strings, model }
    }

    pub(crate) fn from_parts(strings: Interner, model: Model) -> Baseline {
        Baseline { strings, model }
    }

    /// The model keyed by this baseline's own strings.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The strings behind the model's ids.
    pub fn strings(&self) -> &Interner {
        &self.strings
    }

    /// The model re-keyed into another interner (an analysis').
    pub fn model_in(&self, interner: &mut Interner) -> Model {
        self.model.rekeyed(&self.strings, interner)
    }

    /// Adds `other` into this baseline: the result is the same whichever way a set of shards
    /// is grouped and ordered.
    pub fn merge(&mut self, other: &Baseline) {
        let theirs = other.model.rekeyed(&other.strings, &mut self.strings);
        self.model.merge(&theirs, &self.strings);
    }

    /// Identities with a profile.
    pub fn identities(&self) -> usize {
        self.model.identities.len()
    }

    /// Requests counted over all identities.
    pub fn requests(&self) -> u64 {
        self.model.requests()
    }

    /// Earliest and latest request.
    pub fn span(&self) -> Option<(Micros, Micros)> {
        self.model.span()
    }
}
