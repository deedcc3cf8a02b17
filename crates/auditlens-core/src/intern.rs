//! String interning.
//!
//! An audit log repeats the same few thousand strings (usernames, verbs, resources, user agents,
//! IPs) millions of times. Events keep a [`Sym`] (a `u32`) for each such string, and the
//! [`Interner`] owns one copy of the text. Ids are handed out in order of first appearance, so the
//! same input gives the same ids on every platform.

use std::collections::HashMap;

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
}

/// Owns the text behind every [`Sym`] and the members of every [`ListId`].
#[derive(Debug)]
pub struct Interner {
    ids: HashMap<Box<str>, Sym>,
    strings: Vec<Box<str>>,
    list_ids: HashMap<Box<[Sym]>, ListId>,
    lists: Vec<Box<[Sym]>>,
}

impl Default for Interner {
    fn default() -> Self {
        let mut interner = Interner {
            ids: HashMap::new(),
            strings: Vec::new(),
            list_ids: HashMap::new(),
            lists: Vec::new(),
        };
        interner.intern("");
        interner.intern_list(&[]);
        interner
    }
}

impl Interner {
    /// Returns the id of `text`, adding it on first sight.
    pub fn intern(&mut self, text: &str) -> Sym {
        if let Some(&sym) = self.ids.get(text) {
            return sym;
        }
        let sym = Sym(u32::try_from(self.strings.len()).unwrap_or(u32::MAX));
        self.strings.push(text.into());
        self.ids.insert(text.into(), sym);
        sym
    }

    /// Returns the id of `text` if it was interned before.
    pub fn get(&self, text: &str) -> Option<Sym> {
        self.ids.get(text).copied()
    }

    /// The text of `sym`.
    pub fn resolve(&self, sym: Sym) -> &str {
        self.strings.get(sym.0 as usize).map_or("", |s| s)
    }

    /// Returns the id of a list of interned strings, adding it on first sight.
    pub fn intern_list(&mut self, items: &[Sym]) -> ListId {
        if let Some(&id) = self.list_ids.get(items) {
            return id;
        }
        let id = ListId(u32::try_from(self.lists.len()).unwrap_or(u32::MAX));
        self.lists.push(items.into());
        self.list_ids.insert(items.into(), id);
        id
    }

    /// The members of a list.
    pub fn list(&self, id: ListId) -> &[Sym] {
        self.lists.get(id.0 as usize).map_or(&[], |l| l)
    }

    /// How many distinct strings are held.
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// True when only the empty string is held.
    pub fn is_empty(&self) -> bool {
        self.strings.len() <= 1
    }
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
