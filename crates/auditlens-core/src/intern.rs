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
//!
//! The auditID is the exception: unique per request, so interning it would only add a copy and a
//! hash-table entry per request. An [`AuditId`] holds a UUID (as API servers write them) in its
//! 16 bytes and interns only the rare id that is not one.

use std::borrow::Cow;

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Serialize};

/// An interned string. `Sym::EMPTY` is the empty string and stands for "absent".
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
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
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct ListId(u32);

impl ListId {
    /// The empty list.
    pub const EMPTY: ListId = ListId(0);

    /// The id as a number.
    pub fn index(self) -> u32 {
        self.0
    }
}

/// The top bit of the high word marks an [`AuditId::absent`] id.
const ABSENT_MARK: u64 = 1 << 63;
const ABSENT_MAX_FILE: u32 = (1 << 31) - 1;
const ABSENT_MAX_INDEX: u32 = u16::MAX as u32;

/// A request's auditID in 16 bytes.
///
/// A lowercase canonical UUID (`8-4-4-4-12` hex digits) is kept as its 128-bit value; any other
/// text is interned and kept as its [`Sym`]. The two cannot collide: a UUID is only taken as a
/// value when its version digit is not 0, and an interned id's value has that digit 0. Either
/// way [`Interner::audit_id_text`] gives the text back exactly.
///
/// A request logged without an auditID gets an id of a third kind ([`AuditId::absent`]): where
/// its record is (file, byte offset) and its place among the record's events. It has the
/// version digit 0 too but a high word that an interned id never has, so it equals no other
/// request's id and stays the same however the file is chunked or cut into parts.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct AuditId([u64; 2]);

impl AuditId {
    /// The empty auditID (absent).
    pub const EMPTY: AuditId = AuditId([0, 0]);

    /// The id of `text` when it is a UUID held by value.
    fn from_uuid(text: &str) -> Option<AuditId> {
        let bytes = text.as_bytes();
        if bytes.len() != 36 || bytes.get(14) == Some(&b'0') {
            return None;
        }
        if [8, 13, 18, 23].iter().any(|&i| bytes.get(i) != Some(&b'-')) {
            return None;
        }
        let mut value: u128 = 0;
        let mut digits = 0;
        for &b in bytes {
            let digit = HEX_DIGITS[usize::from(b)];
            if digit == NOT_HEX {
                if b == b'-' {
                    continue;
                }
                return None;
            }
            value = value << 4 | u128::from(digit);
            digits += 1;
        }
        // Dashes only where checked above: 32 digits.
        (digits == 32).then(|| AuditId::from_u128(value))
    }

    fn from_u128(value: u128) -> AuditId {
        AuditId([(value >> 64) as u64, value as u64])
    }

    fn value(self) -> u128 {
        u128::from(self.0[0]) << 64 | u128::from(self.0[1])
    }

    /// The interned text's id, when the auditID is not held as a UUID value.
    pub fn sym(self) -> Option<Sym> {
        // The version digit: bits 76..80 of the value; interned ids also have a high word of 0.
        let interned = (self.value() >> 76) & 0xf == 0 && self.0[0] & ABSENT_MARK == 0;
        interned.then(|| Sym(self.0[1] as u32))
    }

    /// The id of a request logged without an auditID: the `index`-th event (from 0) of the
    /// record at byte `offset` of file `file`. Files past 2^31 and indexes past 2^16 - 1 share
    /// the last value.
    pub fn absent(file: u32, offset: u64, index: u32) -> AuditId {
        let file = u64::from(file.min(ABSENT_MAX_FILE));
        let index = u64::from(index.min(ABSENT_MAX_INDEX));
        AuditId([ABSENT_MARK | file << 32 | index << 16, offset])
    }

    /// Where a request logged without an auditID was: (file, record offset, event index).
    pub fn absent_at(self) -> Option<(u32, u64, u32)> {
        let high = self.0[0];
        if high & ABSENT_MARK == 0 || (self.value() >> 76) & 0xf != 0 {
            return None;
        }
        let file = ((high >> 32) as u32) & ABSENT_MAX_FILE;
        let index = ((high >> 16) as u32) & ABSENT_MAX_INDEX;
        Some((file, self.0[1], index))
    }

    /// The same absent id for the record moved by `shift` bytes in file `file` (a part of a file
    /// appended after the bytes before it); any other id unchanged.
    pub fn shifted(self, file: u32, shift: u64) -> AuditId {
        match self.absent_at() {
            Some((_, offset, index)) => AuditId::absent(file, offset + shift, index),
            None => self,
        }
    }

    /// The text that stands for a request without an auditID, where outputs need one: `~`, the
    /// file's index, the record's byte offset and, for a later event of the same record, its
    /// index (`~0.1834`, `~0.1834.2`). `None` for any other id.
    pub fn absent_key(self) -> Option<String> {
        let (file, offset, index) = self.absent_at()?;
        Some(if index == 0 {
            format!("~{file}.{offset}")
        } else {
            format!("~{file}.{offset}.{index}")
        })
    }

    /// Reads back [`AuditId::absent_key`]'s text.
    pub fn parse_absent_key(text: &str) -> Option<AuditId> {
        let mut parts = text.strip_prefix('~')?.split('.');
        let file = parts.next()?.parse().ok()?;
        let offset = parts.next()?.parse().ok()?;
        let index = parts.next().map_or(Some(0), |i| i.parse().ok())?;
        if parts.next().is_some() || file > ABSENT_MAX_FILE || index > ABSENT_MAX_INDEX {
            return None;
        }
        Some(AuditId::absent(file, offset, index))
    }

    /// The id of an auditID whose text was interned as `sym`.
    pub(crate) fn from_sym(sym: Sym) -> AuditId {
        AuditId([0, u64::from(sym.0)])
    }

    /// The 128 bits, high word first.
    pub(crate) fn words(self) -> [u64; 2] {
        self.0
    }

    /// True for the empty auditID.
    pub fn is_empty(self) -> bool {
        self == AuditId::EMPTY
    }
}

/// An [`Interner`]'s contents, taken apart.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RawInterner {
    text: String,
    ends: Vec<u64>,
    members: Vec<Sym>,
    list_ends: Vec<u64>,
}

/// Re-interns strings, lists and auditIDs of one interner into another; see
/// [`Interner::mover`].
pub struct Mover<'a> {
    from: &'a Interner,
    pub to: &'a mut Interner,
    syms: rustc_hash::FxHashMap<Sym, Sym>,
}

impl Mover<'_> {
    pub fn sym(&mut self, sym: Sym) -> Sym {
        if sym.is_empty() {
            return Sym::EMPTY;
        }
        if let Some(&moved) = self.syms.get(&sym) {
            return moved;
        }
        let moved = self.to.intern(self.from.resolve(sym));
        self.syms.insert(sym, moved);
        moved
    }

    pub fn list(&mut self, list: ListId) -> ListId {
        let members: Vec<Sym> = self.from.list(list).to_vec();
        let moved: Vec<Sym> = members.into_iter().map(|s| self.sym(s)).collect();
        self.to.intern_list(&moved)
    }

    /// An auditID: held as a value, it stays; interned, its text moves.
    pub fn audit_id(&mut self, id: AuditId) -> AuditId {
        match id.sym() {
            Some(sym) => AuditId::from_sym(self.sym(sym)),
            None => id,
        }
    }
}

/// Owns the text behind every [`Sym`] and the members of every [`ListId`].
#[derive(Debug)]
pub struct Interner {
    /// Ids of the strings, found by hashing their text.
    table: HashTable<Sym>,
    /// All strings, one after the other.
    text: String,
    /// Where each string ends in `text`; it starts where the one before ends.
    ends: Vec<usize>,
    list_table: HashTable<ListId>,
    /// All list members, one list after the other.
    members: Vec<Sym>,
    /// Where each list ends in `members`.
    list_ends: Vec<usize>,
}

impl Default for Interner {
    fn default() -> Self {
        let mut interner = Interner {
            table: HashTable::new(),
            text: String::new(),
            ends: Vec::new(),
            list_table: HashTable::new(),
            members: Vec::new(),
            list_ends: Vec::new(),
        };
        interner.intern("");
        interner.intern_list(&[]);
        interner
    }
}

/// The value of each lowercase hex digit, by byte; [`NOT_HEX`] for any other byte.
const HEX_DIGITS: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            d @ b'0'..=b'9' => d - b'0',
            d @ b'a'..=b'f' => d - b'a' + 10,
            _ => NOT_HEX,
        };
        b += 1;
    }
    table
};
const NOT_HEX: u8 = 0xff;

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
        let (arena, ends) = (&self.text, &self.ends);
        let found = self.table.find(hash, |sym| {
            same_bytes(span_bytes(arena, ends, *sym), text.as_bytes())
        });
        if let Some(&sym) = found {
            return sym;
        }
        let sym = Sym(u32::try_from(self.ends.len()).unwrap_or(u32::MAX));
        self.text.push_str(text);
        self.ends.push(self.text.len());
        let (arena, ends) = (&self.text, &self.ends);
        self.table
            .insert_unique(hash, sym, |s| hash_str(span_text(arena, ends, *s)));
        sym
    }

    /// Returns the id of `text` if it was interned before.
    pub fn get(&self, text: &str) -> Option<Sym> {
        let (arena, ends) = (&self.text, &self.ends);
        self.table
            .find(hash_str(text), |sym| {
                same_bytes(span_bytes(arena, ends, *sym), text.as_bytes())
            })
            .copied()
    }

    /// The text of `sym`.
    pub fn resolve(&self, sym: Sym) -> &str {
        span_text(&self.text, &self.ends, sym)
    }

    /// The id of an auditID's text; see [`AuditId`].
    pub fn intern_audit_id(&mut self, text: &str) -> AuditId {
        AuditId::from_uuid(text).unwrap_or_else(|| AuditId::from_sym(self.intern(text)))
    }

    /// The id of an auditID's text if a request carried it, or of a request key
    /// ([`Interner::request_key`]) of a request without one.
    pub fn get_audit_id(&self, text: &str) -> Option<AuditId> {
        AuditId::from_uuid(text)
            .or_else(|| self.get(text).map(AuditId::from_sym))
            .or_else(|| AuditId::parse_absent_key(text))
    }

    /// What names a request in outputs and lookups: its auditID, or for a request logged
    /// without one, its [`AuditId::absent_key`].
    pub fn request_key(&self, id: AuditId) -> Cow<'_, str> {
        match id.absent_key() {
            Some(key) => Cow::Owned(key),
            None => self.audit_id_text(id),
        }
    }

    /// The text of an auditID; empty for a request logged without one.
    pub fn audit_id_text(&self, id: AuditId) -> Cow<'_, str> {
        if let Some(sym) = id.sym() {
            return Cow::Borrowed(self.resolve(sym));
        }
        if id.absent_at().is_some() {
            return Cow::Borrowed("");
        }
        let hex = format!("{:032x}", id.value());
        let mut text = String::with_capacity(36);
        for (i, c) in hex.chars().enumerate() {
            if matches!(i, 8 | 12 | 16 | 20) {
                text.push('-');
            }
            text.push(c);
        }
        Cow::Owned(text)
    }

    /// Returns the id of a list of interned strings, adding it on first sight.
    pub fn intern_list(&mut self, items: &[Sym]) -> ListId {
        let hash = hash_list(items);
        let (members, ends) = (&self.members, &self.list_ends);
        let found = self
            .list_table
            .find(hash, |id| list_members(members, ends, *id) == items);
        if let Some(&id) = found {
            return id;
        }
        let id = ListId(u32::try_from(self.list_ends.len()).unwrap_or(u32::MAX));
        self.members.extend_from_slice(items);
        self.list_ends.push(self.members.len());
        let (members, ends) = (&self.members, &self.list_ends);
        self.list_table
            .insert_unique(hash, id, |l| hash_list(list_members(members, ends, *l)));
        id
    }

    /// The members of a list.
    pub fn list(&self, id: ListId) -> &[Sym] {
        list_members(&self.members, &self.list_ends, id)
    }

    /// True when the list `id` holds `text`, read as it is (no list of strings is made).
    pub fn list_contains(&self, id: ListId, text: &str) -> bool {
        self.list(id).iter().any(|&s| self.resolve(s) == text)
    }

    /// Every string with its id, in id order.
    pub fn strings(&self) -> impl Iterator<Item = (Sym, &str)> {
        (0..self.ends.len()).map(|i| {
            let sym = Sym(i as u32);
            (sym, self.resolve(sym))
        })
    }

    /// Every list with its id, in id order.
    pub fn lists(&self) -> impl Iterator<Item = (ListId, &[Sym])> {
        (0..self.list_ends.len()).map(|i| {
            let id = ListId(i as u32);
            (id, self.list(id))
        })
    }

    /// The contents, for moving them to another place (a Web Worker, say).
    pub(crate) fn into_raw(self) -> RawInterner {
        RawInterner {
            text: self.text,
            ends: self.ends.iter().map(|&e| e as u64).collect(),
            members: self.members,
            list_ends: self.list_ends.iter().map(|&e| e as u64).collect(),
        }
    }

    /// The interner [`Interner::into_raw`] gave, with the same ids; `None` if `raw` does not
    /// hold distinct strings and lists of known strings in order.
    pub(crate) fn from_raw(raw: &RawInterner) -> Option<Interner> {
        let mut interner = Interner::default();
        let mut start = 0usize;
        for (index, &end) in raw.ends.iter().enumerate() {
            let end = usize::try_from(end).ok()?;
            let text = raw.text.get(start..end)?;
            if interner.intern(text).index() as usize != index {
                return None;
            }
            start = end;
        }
        let mut start = 0usize;
        for (index, &end) in raw.list_ends.iter().enumerate() {
            let end = usize::try_from(end).ok()?;
            let members = raw.members.get(start..end)?;
            if members.iter().any(|m| m.index() as usize >= interner.len())
                || interner.intern_list(members).index() as usize != index
            {
                return None;
            }
            start = end;
        }
        Some(interner)
    }

    /// How many distinct strings are held.
    /// Moves strings and lists of this interner into `to`, remembering each mapping (for
    /// rebuilding whatever refers to them in a fresh interner that holds only what is still
    /// used).
    pub fn mover<'a>(&'a self, to: &'a mut Interner) -> Mover<'a> {
        Mover {
            from: self,
            to,
            syms: rustc_hash::FxHashMap::default(),
        }
    }

    /// Bytes of text held.
    pub fn text_bytes(&self) -> usize {
        self.text.len()
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when only the empty string is held.
    pub fn is_empty(&self) -> bool {
        self.ends.len() <= 1
    }
}

/// Where item `index` sits, given where each item ends.
fn span(ends: &[usize], index: u32) -> Option<std::ops::Range<usize>> {
    let index = index as usize;
    let end = *ends.get(index)?;
    let start = index
        .checked_sub(1)
        .and_then(|i| ends.get(i))
        .copied()
        .unwrap_or(0);
    Some(start..end)
}

/// The bytes of `sym`'s text: what lookups compare, without checking character boundaries.
fn span_bytes<'a>(text: &'a str, ends: &[usize], sym: Sym) -> &'a [u8] {
    span(ends, sym.0)
        .and_then(|range| text.as_bytes().get(range))
        .unwrap_or(&[])
}

/// True when `a` and `b` hold the same bytes: what an interned string is matched by.
///
/// wasm32 has no vectorized `memcmp`: there, `==` on two slices calls a loop over single
/// bytes, where interning spent a large share of its time (a request URI is often 100 bytes
/// long and nearly always seen before), so there the bytes are compared eight at a time.
/// Natively, `memcmp` is faster than that.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if cfg!(target_arch = "wasm32") {
        same_words(a, b)
    } else {
        a == b
    }
}

/// [`same_bytes`], eight bytes at a time.
fn same_words(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (words_a, words_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let tails_equal = words_a.remainder() == words_b.remainder();
    let word = |w: &[u8]| <[u8; 8]>::try_from(w).map_or(0, u64::from_ne_bytes);
    tails_equal && words_a.zip(words_b).all(|(x, y)| word(x) == word(y))
}

fn span_text<'a>(text: &'a str, ends: &[usize], sym: Sym) -> &'a str {
    span(ends, sym.0)
        .and_then(|range| text.get(range))
        .unwrap_or("")
}

fn list_members<'a>(members: &'a [Sym], ends: &[usize], id: ListId) -> &'a [Sym] {
    span(ends, id.0)
        .and_then(|range| members.get(range))
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_requests_without_an_auditid_stand_apart() {
        let mut interner = Interner::default();
        let interned = interner.intern_audit_id("not-a-uuid");
        let uuid = interner.intern_audit_id("6a0c1f52-3d4e-4b8a-9c7d-2e1f0a9b8c7d");
        let absent = AuditId::absent(3, 1_834, 0);
        assert_eq!(absent.absent_at(), Some((3, 1_834, 0)));
        assert_eq!(absent.sym(), None);
        assert_eq!(interned.absent_at(), None);
        assert_eq!(uuid.absent_at(), None);
        assert!(interned.sym().is_some());
        assert_ne!(absent, AuditId::absent(3, 1_834, 1));
        assert_ne!(absent, AuditId::absent(2, 1_834, 0));
        assert_eq!(absent.absent_key().as_deref(), Some("~3.1834"));
        assert_eq!(
            AuditId::absent(3, 1_834, 2).absent_key().as_deref(),
            Some("~3.1834.2")
        );
        for key in ["~3.1834", "~3.1834.2"] {
            let id = AuditId::parse_absent_key(key).unwrap();
            assert_eq!(id.absent_key().as_deref(), Some(key));
            assert_eq!(interner.get_audit_id(key), Some(id));
        }
        for bad in ["~", "~3", "~3.x", "~3.1.2.3", "3.1834", "~-1.2"] {
            assert_eq!(AuditId::parse_absent_key(bad), None, "{bad}");
        }
        assert_eq!(interner.audit_id_text(absent), "");
        assert_eq!(interner.request_key(absent), "~3.1834");
        assert_eq!(interner.request_key(interned), "not-a-uuid");
        // A part appended 100 bytes into file 5 moves its records; other ids stay.
        assert_eq!(absent.shifted(5, 100), AuditId::absent(5, 1_934, 0));
        assert_eq!(uuid.shifted(5, 100), uuid);
        assert_eq!(interned.shifted(5, 100), interned);
    }

    #[test]
    fn words_compare_as_bytes_do() {
        for len in 0..40usize {
            let a: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same_words(&a, &a.clone()));
            if let Some(shorter) = len.checked_sub(1) {
                assert!(!same_words(&a, &a[..shorter]));
            }
            // A difference at any position, in a word or in the tail, is seen.
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same_words(&a, &b), "length {len}, byte {at}");
                assert_eq!(same_bytes(&a, &b), a == b);
            }
        }
    }

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

    #[test]
    fn audit_ids_give_back_their_text() {
        let mut i = Interner::default();
        let texts = [
            "8f5a3c1e-2b7d-4e09-9a61-0c3b5d7e9f21",
            // Uppercase, no version digit, wrong dashes, a dash too many, too short: interned.
            "8F5A3C1E-2B7D-4E09-9A61-0C3B5D7E9F21",
            "00000000-0000-0000-0000-000000000000",
            "8f5a3c1e2b7d-4e09-9a61-0c3b5d7e9f21-",
            "8f5a3c1e-2b7d-4e09-9a61-0c3b5d7e-f21",
            "a1",
            "",
        ];
        let ids: Vec<AuditId> = texts.iter().map(|t| i.intern_audit_id(t)).collect();
        for (text, id) in texts.iter().zip(&ids) {
            assert_eq!(i.audit_id_text(*id), *text);
            assert_eq!(i.get_audit_id(text), Some(*id));
        }
        assert_eq!(ids[0].sym(), None, "a UUID is held by value");
        assert!(ids[1..].iter().all(|id| id.sym().is_some()));
        assert_eq!(ids[6], AuditId::EMPTY);
        // Only the interned ones take up strings.
        assert_eq!(i.len(), 6);
        assert_eq!(i.get_audit_id("b2"), None);
    }
}
