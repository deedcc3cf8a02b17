//! Ingestion: bytes in, audit events and diagnostics out, one file at a time.
//!
//! ```text
//! push(bytes) ─▶ Decoder (gzip?) ─▶ Framer (lines | array | objects) ─▶ RecordParser ─▶ Sink
//!                                                          native? ─┴─▶ formats (cloud, shippers)
//! ```
//!
//! A [`FileReader`] is push-based: the caller hands it chunks of any size as they arrive
//! (`Blob.stream()` in the browser, `read()` in the CLI) and calls [`FileReader::finish`] at the
//! end. Partial lines are carried across chunks, so every chunking gives the same result. Each
//! record either becomes events handed to the [`Sink`], is skipped by design (a CSV header, a
//! CloudWatch control message), or becomes a [`Diagnostic`]; nothing in the input can stop the
//! stream. The counts in [`FileCounts`] account for every line and record, and the file's
//! format is named from what its records turned out to be ([`FileReader::detected`]).

pub(crate) mod borrow;
mod decode;
pub mod formats;
mod framing;
mod record;
mod wire;

pub use decode::Encoding;
pub use framing::Layout;
pub use wire::{
    is_truncated, parse_record, salvage_truncated, Gap, Parsed, Rejection, WireAnnotations,
    WireEvent, WireObjectRef, WireStatus, WireUser, TRUNCATION_MARKER,
};

pub use formats::{is_managed_control_plane, Shape};

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diagnostics::{At, Diagnostic, DiagnosticKind};
use crate::model::Source;
use decode::{DecodeStop, Decoder};
use framing::Framer;
use record::RecordParser;

/// Size limits that keep a hostile or broken file from exhausting memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// The longest line or record kept, in bytes (8 MiB by default). Longer ones are skipped
    /// as they stream, without being held, and reported.
    pub max_record_bytes: usize,
    /// The most bytes one file may decode to (64 GiB by default).
    pub max_decoded_bytes: u64,
    /// The most a gzip file may inflate, as decompressed bytes per compressed byte (200 by
    /// default; 0 for no limit), judged once it has produced [`RATIO_FLOOR`] bytes. Audit logs
    /// inflate 10 to 30 times; a decompression bomb (gzip of one repeated byte) about a
    /// thousand times, and stops here after a few megabytes of input instead of gigabytes of
    /// output.
    pub max_gzip_ratio: u32,
}

/// Decompressed bytes a gzip file produces before its ratio is judged (16 MiB): a small file
/// of repeated lines may inflate far more than a real log without harm.
pub const RATIO_FLOOR: u64 = 16 * 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_record_bytes: 8 * 1024 * 1024,
            max_decoded_bytes: 64 * 1024 * 1024 * 1024,
            max_gzip_ratio: 200,
        }
    }
}

/// Receives what a [`FileReader`] finds.
pub trait Sink {
    /// One audit event, borrowed from the record for the duration of the call; `index` is its
    /// place among the events of its record (0 but in a batch such as an `EventList`).
    fn event(&mut self, event: &WireEvent<'_>, source: Source, index: u32, truncated: bool);
    /// One problem with the input.
    fn diagnostic(&mut self, diagnostic: Diagnostic);
}

/// What one file held, accounting for every line and record.
///
/// For line-delimited files `lines = blank_lines + records`; for every file
/// `records = accepted + rejected + skipped`, and the accepted records held `events` events
/// (an `EventList` or a cloud batch holds many).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FileCounts {
    /// Bytes read from the file as given (compressed, for gzip).
    pub bytes: u64,
    /// Bytes after decompression.
    pub decoded_bytes: u64,
    pub lines: u64,
    pub blank_lines: u64,
    pub records: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Records that hold no event by design: a CSV export's header, a CloudWatch control
    /// message, a cloud log entry of another service, an empty batch.
    pub skipped: u64,
    pub events: u64,
    /// Warnings: events kept with what could be recovered (cut short, invalid UTF-8 replaced,
    /// a body left out for its size), and notes about records skipped.
    pub warnings: u64,
    /// Fields events were written without, which the analysis filled in.
    pub gaps: Gaps,
}

/// How many events of a file were written without each field that has a default ([`Gap`]),
/// and the first lines where that happened: reported once per file and field when the file
/// ends, not once per line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Gaps {
    counts: [u64; Gap::ALL.len()],
    first_lines: [Vec<u64>; Gap::ALL.len()],
    /// The byte offset of the first record with each gap.
    first_offsets: [u64; Gap::ALL.len()],
    /// More lines had the gap than `first_lines` keeps.
    more_lines: [bool; Gap::ALL.len()],
}

impl Gaps {
    /// Lines kept per field, for the message.
    const LINES_KEPT: usize = 5;

    /// Adds the gaps of one record at `at`, `events[i]` events for [`Gap::ALL`]`[i]`.
    fn add(&mut self, events: &[u32; Gap::ALL.len()], at: At) {
        let line = at.line;
        for (i, &n) in events.iter().enumerate() {
            if n == 0 {
                continue;
            }
            if self.counts[i] == 0 {
                self.first_offsets[i] = at.offset;
            }
            self.counts[i] += u64::from(n);
            let lines = &mut self.first_lines[i];
            if lines.last() != Some(&line) {
                if lines.len() < Self::LINES_KEPT {
                    lines.push(line);
                } else {
                    self.more_lines[i] = true;
                }
            }
        }
    }

    /// Appends the gaps of the part of the file that follows, whose lines and offsets count
    /// from its own start: `lines` lines and `bytes` bytes into the file.
    fn append(&mut self, later: &Gaps, lines: u64, bytes: u64) {
        for i in 0..Gap::ALL.len() {
            if later.counts[i] == 0 {
                continue;
            }
            if self.counts[i] == 0 {
                self.first_offsets[i] = later.first_offsets[i] + bytes;
            }
            self.counts[i] += later.counts[i];
            let room = Self::LINES_KEPT.saturating_sub(self.first_lines[i].len());
            let more = later.first_lines[i].iter().take(room).map(|l| l + lines);
            self.first_lines[i].extend(more);
            self.more_lines[i] |= later.more_lines[i] || later.first_lines[i].len() > room;
        }
    }

    /// How many events lacked `gap`.
    pub fn count(&self, gap: Gap) -> u64 {
        self.counts[gap as usize]
    }

    /// One warning per field that events lacked: where first, how many, the first lines, and
    /// the default taken.
    fn warnings(&self) -> impl Iterator<Item = (At, String)> + '_ {
        Gap::ALL.into_iter().filter_map(|gap| {
            let i = gap as usize;
            let n = self.counts[i];
            let first = *self.first_lines[i].first()?;
            let lines: Vec<String> = self.first_lines[i].iter().map(u64::to_string).collect();
            let more = if self.more_lines[i] { ", ..." } else { "" };
            let line = if lines.len() == 1 && !self.more_lines[i] {
                "line"
            } else {
                "lines"
            };
            let events = if n == 1 { "event has" } else { "events have" };
            let at = At {
                line: first,
                offset: self.first_offsets[i],
            };
            Some((
                at,
                format!(
                    "{n} {events} {} ({line} {}{more}): {}",
                    gap.lacked(),
                    lines.join(", "),
                    gap.default_taken()
                ),
            ))
        })
    }
}

/// What a reader of one part of a plain JSON-lines file counted: enough to continue the
/// file's reader past that part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub(crate) struct PartReading {
    pub counts: FileCounts,
    pub lines: u64,
    pub consumed: u64,
    pub produced: u64,
    pub native_events: u64,
    pub notes: u32,
}

/// Reads one file: decode, frame, parse.
#[derive(Debug)]
pub struct FileReader {
    decoder: Decoder,
    framer: Framer,
    records: RecordParser,
}

impl FileReader {
    /// A reader for the file `name`, the `file`-th of its analysis.
    pub fn new(name: &str, file: u32, limits: Limits) -> Self {
        FileReader {
            decoder: Decoder::new(limits.max_decoded_bytes, limits.max_gzip_ratio),
            framer: Framer::new(limits.max_record_bytes),
            records: RecordParser::new(name, file, limits.max_record_bytes),
        }
    }

    /// A reader for a part of a JSON-lines file that starts at a line boundary other than the
    /// first: the layout is known, not detected from this part's first line.
    pub fn continuing_lines(name: &str, file: u32, limits: Limits) -> Self {
        let mut reader = FileReader::new(name, file, limits);
        reader.framer.layout = Layout::Lines;
        reader
    }

    /// Reads the next chunk of the file.
    pub fn push(&mut self, bytes: &[u8], sink: &mut dyn Sink) {
        self.records.counts.bytes += bytes.len() as u64;
        let (framer, records) = (&mut self.framer, &mut self.records);
        let result = self.decoder.push(bytes, &mut |plain| {
            framer.push(plain, &mut |frame| records.frame(frame, sink));
        });
        self.after_decode(result, sink);
    }

    /// Ends the file: flushes the last line and closes the decoder.
    pub fn finish(&mut self, sink: &mut dyn Sink) {
        let (framer, records) = (&mut self.framer, &mut self.records);
        let result = self.decoder.finish(&mut |plain| {
            framer.push(plain, &mut |frame| records.frame(frame, sink));
        });
        self.after_decode(result, sink);
        let records = &mut self.records;
        self.framer.finish(&mut |frame| records.frame(frame, sink));
        self.records.counts.lines = self.framer.lines;
        self.records.counts.decoded_bytes = self.decoder.produced;
    }

    /// Says, once per field, which fields the file's events were written without: when the
    /// whole file has been read (a part read elsewhere does not, its counts are appended).
    pub fn report_gaps(&mut self, sink: &mut dyn Sink) {
        let counts = &mut self.records.counts;
        for (at, message) in counts.gaps.warnings() {
            counts.warnings += 1;
            sink.diagnostic(Diagnostic::warning(
                &self.records.name,
                at,
                DiagnosticKind::MissingFields,
                message,
            ));
        }
    }

    fn after_decode(&mut self, result: Result<(), DecodeStop>, sink: &mut dyn Sink) {
        self.records.counts.lines = self.framer.lines;
        self.records.counts.decoded_bytes = self.decoder.produced;
        let Err(stop) = result else { return };
        let at = At {
            line: self.framer.lines + 1,
            offset: self.decoder.produced,
        };
        let (kind, message) = match stop {
            DecodeStop::Limit => (
                DiagnosticKind::DecompressedLimit,
                format!(
                    "the file decompresses to more than {} bytes; the rest was not read \
                     (raise the decompressed-size limit if this is expected)",
                    self.decoder.limit
                ),
            ),
            DecodeStop::Ratio { compressed } => (
                DiagnosticKind::DecompressedLimit,
                format!(
                    "the gzip file inflates more than {} times ({compressed} compressed bytes \
                     became {} bytes), far beyond what audit logs reach (10 to 30 times): most \
                     likely a decompression bomb; the rest was not read (to read on, raise the \
                     gzip ratio limit, `--max-gzip-ratio`, or set it to 0)",
                    self.decoder.max_ratio, self.decoder.produced
                ),
            ),
            DecodeStop::Corrupt(why) => (
                DiagnosticKind::GzipError,
                format!("the gzip stream is corrupt or cut short ({why}); the rest was not read"),
            ),
        };
        sink.diagnostic(Diagnostic::error(&self.records.name, at, kind, message));
    }

    /// True when this reader has read plain (not gzip) JSON lines of native audit events only,
    /// and stopped between two lines: then a later part of the file can be read by another
    /// reader and appended with [`FileReader::append`].
    pub fn is_plain_native_lines(&self) -> bool {
        self.decoder.encoding() == Some(Encoding::Plain)
            && self.framer.at_line_boundary()
            && self.records.formats.only_native()
    }

    /// Appends what `later` read from the bytes that follow this reader's in the same file.
    /// Both must be [`FileReader::is_plain_native_lines`]; returns false and changes nothing
    /// otherwise.
    pub fn append(&mut self, later: &FileReader) -> bool {
        if !self.is_plain_native_lines() || !later.is_plain_native_lines() {
            return false;
        }
        let (lines_before, bytes_before) = (self.framer.lines, self.decoder.produced);
        self.framer.absorb(&later.framer);
        self.decoder.produced += later.decoder.produced;
        self.records.formats.absorb(&later.records.formats);
        let (mine, theirs) = (&mut self.records.counts, &later.records.counts);
        mine.bytes += theirs.bytes;
        mine.decoded_bytes += theirs.decoded_bytes;
        mine.lines += theirs.lines;
        mine.blank_lines += theirs.blank_lines;
        mine.records += theirs.records;
        mine.accepted += theirs.accepted;
        mine.rejected += theirs.rejected;
        mine.skipped += theirs.skipped;
        mine.events += theirs.events;
        mine.warnings += theirs.warnings;
        mine.gaps.append(&theirs.gaps, lines_before, bytes_before);
        true
    }

    /// What this reader of a part of a file counted, for appending the part elsewhere; `None`
    /// unless [`FileReader::is_plain_native_lines`].
    pub(crate) fn part_reading(&self) -> Option<PartReading> {
        if !self.is_plain_native_lines() {
            return None;
        }
        let (native_events, notes) = self.records.formats.native();
        Some(PartReading {
            counts: self.records.counts.clone(),
            lines: self.framer.lines,
            consumed: self.framer.consumed(),
            produced: self.decoder.produced,
            native_events,
            notes,
        })
    }

    /// A reader that stands for a part of a plain JSON-lines file read elsewhere, as if it had
    /// read that part itself.
    pub(crate) fn from_part_reading(
        name: &str,
        file: u32,
        limits: Limits,
        part: &PartReading,
    ) -> Self {
        let mut reader = FileReader::continuing_lines(name, file, limits);
        reader.decoder = Decoder::plain(limits.max_decoded_bytes, part.produced);
        reader.framer.advance(part.lines, part.consumed);
        reader.records.counts = part.counts.clone();
        reader
            .records
            .formats
            .add_native(part.native_events, part.notes);
        reader
    }

    /// Lines and decoded bytes read so far: where a later part of the file starts.
    pub fn position(&self) -> (u64, u64) {
        (self.framer.lines, self.decoder.produced)
    }

    /// What was read so far.
    pub fn counts(&self) -> &FileCounts {
        &self.records.counts
    }

    /// The file's encoding, once its first bytes are in.
    pub fn encoding(&self) -> Option<Encoding> {
        self.decoder.encoding()
    }

    /// The file's layout, once detected.
    pub fn layout(&self) -> Layout {
        self.framer.layout
    }

    fn gzip(&self) -> bool {
        self.decoder.encoding() == Some(Encoding::Gzip)
    }

    /// The detected format, short: `JSON lines (gzip)` for Kubernetes audit events,
    /// `EKS CloudWatch Logs Insights JSON export` for a wrapped form.
    pub fn format_name(&self) -> String {
        self.records
            .formats
            .format_name(self.framer.layout, self.gzip())
    }

    /// The detected format explained, with the events it gave:
    /// `EKS CloudWatch Logs Insights JSON export (gzip), 12,302 events`.
    pub fn detected(&self) -> String {
        self.records
            .formats
            .detected(self.framer.layout, self.gzip())
    }

    /// Where the events came from, as far as the wrappers say: `cluster`, `project`,
    /// `location`, `log group`, ... with their values (a few at most each), in order.
    pub fn context(&self) -> BTreeMap<String, Vec<String>> {
        self.records.formats.context()
    }

    /// What to tell a person when the file held no audit event at all.
    pub fn no_events_message(&self) -> String {
        self.records
            .formats
            .no_events_message(&self.records.name, &self.format_name())
    }
}
