//! String interning.
//!
//! An audit log repeats the same few thousand strings (usernames, verbs, resources, user agents,
//! IPs) millions of times. Events keep a [`Sym`] (a `u32`) for each such string, and the
//! [`Interner`] owns one copy of the text. Ids are handed out in order of first appearance, so the
//! same input gives the same ids on every platform.
//!
//! Each string is stored once, in one growing text arena; the hash table holds only ids. The
//! hash is FxHash: fast on the short keys that dominate, and deterministic (no random seed, so
//! native and wasm runs agree).

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

/// An interned string. `Sym::EMPTY` is the empty string and stands for "absent".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(u32);

impl Sym {
    /// The empty string, interned first.
    pub const EMPTY: Sym = Sym(0);

    /// True for the empty string.
    pub fn is_empty(self) -> bool {
        self == Sym::EMPTY
    }

    /// The id as a number, for compact serialization.
    pub fn index(self) -> u32 {
        self.0
    }
}

/// An interned list of strings (groups, source IPs), stored once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListId(u32);

impl ListId {
    /// The empty list.
    pub const EMPTY: ListId = ListId(0);

    /// The id as a number.
    pub fn index(self) -> u32 {
        self.0
    }
}

/// Owns the text behind every [`Sym`] and the members of every [`ListId`].
#[derive(Debug)]
pub struct Interner {
    /// Ids of the strings, found by hashing their text.
    table: HashTable<Sym>,
    /// All strings, one after the other.
    text: String,
    /// Where each string sits in `text`: start and end.
    spans: Vec<(usize, usize)>,
    list_table: HashTable<ListId>,
    /// All list members, one list after the other.
    members: Vec<Sym>,
    list_spans: Vec<(usize, usize)>,
}

impl Default for Interner {
    fn default() -> Self {
        let mut interner = Interner {
            table: HashTable::new(),
            text: String::new(),
            spans: Vec::new(),
            list_table: HashTable::new(),
            members: Vec::new(),
            list_spans: Vec::new(),
        };
        interner.intern("");
        interner.intern_list(&[]);
        interner
    }
}

fn hash_str(text: &str) -> u64 {
    FxBuildHasher.hash_one(text)
}

fn hash_list(items: &[Sym]) -> u64 {
    FxBuildHasher.hash_one(items)
}

impl Interner {
    /// Returns the id of `text`, adding it on first sight.
    pub fn intern(&mut self, text: &str) -> Sym {
        let hash = hash_str(text);
        let (arena, spans) = (&self.text, &self.spans);
        let found = self
            .table
            .find(hash, |sym| span_text(arena, spans, *sym) == text);
        if let Some(&sym) = found {
            return sym;
        }
        let sym = Sym(u32::try_from(self.spans.len()).unwrap_or(u32::MAX));
        let start = self.text.len();
        self.text.push_str(text);
        self.spans.push((start, self.text.len()));
        let (arena, spans) = (&self.text, &self.spans);
        self.table
            .insert_unique(hash, sym, |s| hash_str(span_text(arena, spans, *s)));
        sym
    }

    /// Returns the id of `text` if it was interned before.
    pub fn get(&self, text: &str) -> Option<Sym> {
        let (arena, spans) = (&self.text, &self.spans);
        self.table
            .find(hash_str(text), |sym| span_text(arena, spans, *sym) == text)
            .copied()
    }

    /// The text of `sym`.
    pub fn resolve(&self, sym: Sym) -> &str {
        span_text(&self.text, &self.spans, sym)
    }

    /// Returns the id of a list of interned strings, adding it on first sight.
    pub fn intern_list(&mut self, items: &[Sym]) -> ListId {
        let hash = hash_list(items);
        let (members, spans) = (&self.members, &self.list_spans);
        let found = self
            .list_table
            .find(hash, |id| list_members(members, spans, *id) == items);
        if let Some(&id) = found {
            return id;
        }
        let id = ListId(u32::try_from(self.list_spans.len()).unwrap_or(u32::MAX));
        let start = self.members.len();
        self.members.extend_from_slice(items);
        self.list_spans.push((start, self.members.len()));
        let (members, spans) = (&self.members, &self.list_spans);
        self.list_table
            .insert_unique(hash, id, |l| hash_list(list_members(members, spans, *l)));
        id
    }

    /// The members of a list.
    pub fn list(&self, id: ListId) -> &[Sym] {
        list_members(&self.members, &self.list_spans, id)
    }

    /// Every string with its id, in id order.
    pub fn strings(&self) -> impl Iterator<Item = (Sym, &str)> {
        (0..self.spans.len()).map(|i| {
            let sym = Sym(i as u32);
            (sym, self.resolve(sym))
        })
    }

    /// Every list with its id, in id order.
    pub fn lists(&self) -> impl Iterator<Item = (ListId, &[Sym])> {
        (0..self.list_spans.len()).map(|i| {
            let id = ListId(i as u32);
            (id, self.list(id))
        })
    }

    /// How many distinct strings are held.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when only the empty string is held.
    pub fn is_empty(&self) -> bool {
        self.spans.len() <= 1
    }
}

fn span_text<'a>(text: &'a str, spans: &[(usize, usize)], sym: Sym) -> &'a str {
    spans
        .get(sym.0 as usize)
        .and_then(|&(start, end)| text.get(start..end))
        .unwrap_or("")
}

fn list_members<'a>(members: &'a [Sym], spans: &[(usize, usize)], id: ListId) -> &'a [Sym] {
    spans
        .get(id.0 as usize)
        .and_then(|&(start, end)| members.get(start..end))
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_same_id_in_order_of_first_sight() {
        let mut i = Interner::default();
        let a = i.intern("alice");
        let b = i.intern("bob");
        assert_eq!(i.intern("alice"), a);
        assert!(a < b);
        assert_eq!(i.resolve(b), "bob");
        assert_eq!(i.intern(""), Sym::EMPTY);
        assert_eq!(i.get("carol"), None);
    }

    #[test]
    fn lists_are_shared() {
        let mut i = Interner::default();
        let g = [i.intern("system:masters"), i.intern("system:authenticated")];
        let l1 = i.intern_list(&g);
        let l2 = i.intern_list(&g);
        assert_eq!(l1, l2);
        assert_eq!(i.list(l1), &g);
        assert_eq!(i.intern_list(&[]), ListId::EMPTY);
    }
}
