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

use crate::analysis::{Analysis, EventStore, FileId};
use crate::intern::{AuditId, ListId, Sym};
use crate::model::Event;

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

impl Analysis {
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
        let symbols: Vec<Sym> = other
            .interner
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
            .interner
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
        // Only auditIDs that are not UUIDs are interned.
        let audit_id = |id: AuditId| match id.sym() {
            Some(s) => AuditId::from_sym(sym(s)),
            None => id,
        };
        let mut parts = other.into_parts();
        for (id, hits) in parts.hits {
            self.add_rule_hits(audit_id(id), hits);
        }
        // Taken in blocks, each freed once taken, so that the requests are not held twice.
        let block = parts.requests.len().div_ceil(8).max(4096);
        while !parts.requests.is_empty() {
            let taken = block.min(parts.requests.len());
            for event in parts.requests.drain(..taken) {
                let mut event = remap(event, &sym, &list, &audit_id);
                event.source.line += line_base;
                event.source.offset += byte_base;
                self.add(event);
            }
            parts.requests.shrink_to_fit();
        }
        for mut diagnostic in parts.diagnostics {
            diagnostic.line += line_base;
            diagnostic.offset += byte_base;
            self.keep_diagnostic(diagnostic);
        }
        self.count_diagnostics(file, parts.counted);
    }
}

/// The event with every interned id replaced by its id in another interner.
fn remap(
    event: Event,
    sym: &dyn Fn(Sym) -> Sym,
    list: &dyn Fn(ListId) -> ListId,
    audit_id: &dyn Fn(AuditId) -> AuditId,
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
