//! Reading one large file on several threads.
//!
//! A plain JSON-lines file can be cut at line boundaries and each part read by its own
//! [`Shard`] (an analysis of its own, with the same limits and rules) on its own thread. The
//! parts are then appended, in file order, to the analysis that owns the file: strings are
//! re-interned in the order they first appear, lines and byte offsets are shifted, stages of a
//! request that straddles a cut are merged, so the result is the one a single pass gives.
//!
//! Only plain (not gzip) native JSON lines are sharded: other layouts carry state across the
//! file (an open array, a CSV header). [`Analysis::append_shard`] refuses a shard that is not
//! such, and the caller reads that file in one pass instead. The core starts no threads: the
//! caller runs each shard where it likes.
//!
//! Where parts are read in separate memories (Web Workers), [`Shard::into_bytes`] gives a
//! finished part as bytes and [`Analysis::append_shard_bytes`] appends them, with the same
//! result as appending the shard itself. The bytes end with a CRC-32 of what precedes it, so a
//! part damaged on its way is refused rather than read as different requests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analysis::{Analysis, EventStore, FileId, StoreParts};
use crate::diagnostics::Diagnostic;
use crate::ingest::{FileReader, PartReading};
use crate::intern::{AuditId, Interner, ListId, RawInterner, Sym};
use crate::model::Event;
use crate::rules::RuleMeta;

/// Part of one file, read apart from the analysis it will join.
#[derive(Debug)]
pub struct Shard {
    analysis: Analysis,
    file: FileId,
}

impl Shard {
    /// Reads the next bytes of this part of the file.
    pub fn push(&mut self, bytes: &[u8]) {
        self.analysis.push(self.file, bytes);
    }

    /// Ends the part that ends the file: its last line, if it has no newline, is read. Parts
    /// that end at a cut (after a newline) need no finish.
    pub fn finish(&mut self) {
        self.analysis.finish_shard_file(self.file);
    }
}

/// Version of the byte form of a part; bytes of another version are refused.
const PART_FORMAT: u32 = 2;

/// The CRC-32 (IEEE) of `bytes`, as it trails a part's bytes (little-endian).
fn part_checksum(bytes: &[u8]) -> [u8; 4] {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum().to_le_bytes()
}

/// A finished part in the byte form of [`Shard::into_bytes`].
#[derive(Serialize, Deserialize)]
struct PartBytes {
    format: u32,
    reading: PartReading,
    strings: RawInterner,
    requests: Vec<Event>,
    /// Rule hits by auditID: each hit's rule id and message.
    hits: Vec<(AuditId, Vec<(String, String)>)>,
    diagnostics: Vec<Diagnostic>,
    counted: u64,
}

/// Why [`Analysis::append_shard_bytes`] refused a part.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PartError {
    /// Not plain JSON lines of audit events after all, or the file here cannot continue with
    /// it (finished, or stopped mid-line); nothing was changed. Read the part here instead.
    #[error("the part cannot continue this file; read it in order instead")]
    Refused,
    /// Not the bytes of a part from this version of the engine.
    #[error("not a part in this engine's byte form")]
    Corrupt,
}

impl Shard {
    /// The finished part as bytes for [`Analysis::append_shard_bytes`] in another memory (a
    /// Web Worker's). `None` when the part is not plain native JSON lines, which only a read in
    /// order can take in: the caller then reads the part there.
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        let Shard { analysis, file } = self;
        let reading = analysis.reader(file)?.part_reading()?;
        let parts = analysis.into_store().into_parts();
        let hits = parts
            .hits
            .into_iter()
            .map(|(id, hits)| {
                let hits = hits
                    .into_iter()
                    .map(|h| (h.rule.to_string(), h.message))
                    .collect();
                (id, hits)
            })
            .collect();
        let part = PartBytes {
            format: PART_FORMAT,
            reading,
            strings: parts.interner.into_raw(),
            requests: parts.requests,
            hits,
            diagnostics: parts.diagnostics,
            counted: parts.counted,
        };
        let mut bytes = postcard::to_allocvec(&part).ok()?;
        let checksum = part_checksum(&bytes);
        bytes.extend_from_slice(&checksum);
        Some(bytes)
    }
}

impl Analysis {
    /// Appends a part given as bytes by [`Shard::into_bytes`]: the same as
    /// [`Analysis::append_shard`] with the shard itself. Changes nothing when it fails.
    pub fn append_shard_bytes(&mut self, file: FileId, bytes: &[u8]) -> Result<(), PartError> {
        let Some((payload, checksum)) = bytes.split_last_chunk::<4>() else {
            return Err(PartError::Corrupt);
        };
        if part_checksum(payload) != *checksum {
            return Err(PartError::Corrupt);
        }
        let part: PartBytes = postcard::from_bytes(payload).map_err(|_| PartError::Corrupt)?;
        if part.format != PART_FORMAT {
            return Err(PartError::Corrupt);
        }
        let interner = Interner::from_raw(&part.strings).ok_or(PartError::Corrupt)?;
        let catalog: BTreeMap<&str, &'static RuleMeta> = crate::rules::catalog()
            .into_iter()
            .map(|meta| (meta.id, meta))
            .collect();
        let mut hits = Vec::with_capacity(part.hits.len());
        for (id, found) in part.hits {
            let mut kept = Vec::with_capacity(found.len());
            for (rule, message) in found {
                let meta = catalog.get(rule.as_str()).ok_or(PartError::Corrupt)?;
                kept.push(crate::rules::hit(meta, message));
            }
            hits.push((id, kept));
        }
        let name = self.file_name(file.0).to_string();
        let reader = FileReader::from_part_reading(&name, file.0, self.limits(), &part.reading);
        let (line_base, byte_base) = self
            .append_reader(file, Box::new(reader))
            .map_err(|_| PartError::Refused)?;
        let parts = StoreParts {
            interner,
            requests: part.requests,
            hits,
            diagnostics: part.diagnostics,
            counted: part.counted,
        };
        self.store_mut()
            .absorb_parts(parts, file.0, line_base, byte_base);
        Ok(())
    }

    /// A shard for reading the part of `file` (already added here) that starts at byte
    /// `starts_at`, on another thread. A part that does not start the file must start at a line
    /// boundary; its layout is taken to be JSON lines.
    pub fn shard(&self, file: FileId, starts_at: u64) -> Shard {
        let mut analysis = self.empty_like();
        for index in 0..=file.0 {
            analysis.add_file(self.file_name(index));
        }
        if starts_at > 0 {
            analysis.continue_lines(file);
        }
        Shard { analysis, file }
    }

    /// Appends a finished shard that read the bytes of its file that follow everything read
    /// of it here so far. Returns the shard back, changing nothing, when it cannot be appended
    /// (not plain native JSON lines, or the file here stopped mid-line or was finished).
    pub fn append_shard(&mut self, shard: Shard) -> Result<(), Box<Shard>> {
        let Shard { mut analysis, file } = shard;
        let Some(later) = analysis.take_reader(file) else {
            return Err(Box::new(Shard { analysis, file }));
        };
        match self.append_reader(file, later) {
            Ok((line_base, byte_base)) => {
                self.store_mut()
                    .absorb(analysis.into_store(), file.0, line_base, byte_base);
                Ok(())
            }
            Err(later) => {
                analysis.put_reader(file, later);
                Err(Box::new(Shard { analysis, file }))
            }
        }
    }
}

impl EventStore {
    /// Takes in what `other` read of file `file`, whose lines and bytes start after
    /// `line_base` lines and `byte_base` bytes of it.
    pub(crate) fn absorb(&mut self, other: EventStore, file: u32, line_base: u64, byte_base: u64) {
        if self.holds_nothing() {
            // The first part: its ids can stay as they are.
            self.take_over(other, file, line_base, byte_base);
            return;
        }
        self.absorb_parts(other.into_parts(), file, line_base, byte_base);
    }

    /// Takes in a store's parts (see [`EventStore::absorb`]): strings re-interned, ids remapped.
    pub(crate) fn absorb_parts(
        &mut self,
        parts: StoreParts,
        file: u32,
        line_base: u64,
        byte_base: u64,
    ) {
        let StoreParts {
            interner: other,
            requests,
            hits,
            diagnostics,
            counted,
        } = parts;
        let symbols: Vec<Sym> = other
            .strings()
            .map(|(_, text)| self.interner.intern(text))
            .collect();
        let sym = |s: Sym| {
            symbols
                .get(s.index() as usize)
                .copied()
                .unwrap_or(Sym::EMPTY)
        };
        let lists: Vec<ListId> = other
            .lists()
            .map(|(_, members)| {
                let mapped: Vec<Sym> = members.iter().map(|&m| sym(m)).collect();
                self.interner.intern_list(&mapped)
            })
            .collect();
        let list = |l: ListId| {
            lists
                .get(l.index() as usize)
                .copied()
                .unwrap_or(ListId::EMPTY)
        };
        // Only auditIDs that are not UUIDs are interned; the ids of requests without one say
        // where their record is, which moves with the part.
        let audit_id = |id: AuditId| match id.sym() {
            Some(s) => AuditId::from_sym(sym(s)),
            None => id.shifted(file, byte_base),
        };
        drop(other);
        let conflicts = self.add_part(requests, audit_id, |event| {
            let mut event = remap(event, sym, list, audit_id);
            event.source.line += line_base;
            event.source.offset += byte_base;
            event
        });
        for (id, hits) in hits {
            let id = audit_id(id);
            let id = conflicts
                .rekeyed
                .iter()
                .find(|&&(from, _)| from == id)
                .map_or(id, |&(_, to)| to);
            self.add_rule_hits(id, hits);
        }
        // Each conflict is said where one pass would say it: among the part's own diagnostics,
        // in line order.
        let mut diagnostics = diagnostics;
        let added = conflicts.diagnostics.len() as u64;
        for mut conflict in conflicts.diagnostics {
            conflict.line -= line_base;
            conflict.offset -= byte_base;
            let at = diagnostics.partition_point(|d| d.line <= conflict.line);
            diagnostics.insert(at, conflict);
        }
        self.take_diagnostics(diagnostics, counted + added, file, line_base, byte_base);
    }
}

/// The event with every interned id replaced by its id in another interner.
fn remap(
    event: Event,
    sym: impl Fn(Sym) -> Sym,
    list: impl Fn(ListId) -> ListId,
    audit_id: impl Fn(AuditId) -> AuditId,
) -> Event {
    Event {
        audit_id: audit_id(event.audit_id),
        user: sym(event.user),
        uid: sym(event.uid),
        groups: list(event.groups),
        extra: list(event.extra),
        impersonated_user: sym(event.impersonated_user),
        impersonated_groups: list(event.impersonated_groups),
        verb: sym(event.verb),
        api_group: sym(event.api_group),
        api_version: sym(event.api_version),
        resource: sym(event.resource),
        subresource: sym(event.subresource),
        namespace: sym(event.namespace),
        name: sym(event.name),
        request_uri: sym(event.request_uri),
        source_ips: list(event.source_ips),
        user_agent: sym(event.user_agent),
        client: sym(event.client),
        client_version: sym(event.client_version),
        reason: sym(event.reason),
        ..event
    }
}
