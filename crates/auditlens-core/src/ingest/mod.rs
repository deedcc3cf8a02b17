//! Ingestion: bytes in, audit events and diagnostics out, one file at a time.
//!
//! ```text
//! push(bytes) ─▶ Decoder (gzip?) ─▶ Framer (lines | array | objects) ─▶ parse_record ─▶ Sink
//! ```
//!
//! A [`FileReader`] is push-based: the caller hands it chunks of any size as they arrive
//! (`Blob.stream()` in the browser, `read()` in the CLI) and calls [`FileReader::finish`] at the
//! end. Partial lines are carried across chunks, so every chunking gives the same result. Each
//! record either becomes an event handed to the [`Sink`] or a [`Diagnostic`]; nothing in the
//! input can stop the stream. The counts in [`FileCounts`] account for every line and record.

mod decode;
mod framing;
mod wire;

pub use decode::Encoding;
pub use framing::Layout;
pub use wire::{
    is_truncated, parse_record, salvage_truncated, Parsed, Rejection, WireEvent, WireObjectRef,
    WireStatus, WireUser, TRUNCATION_MARKER,
};

use serde::Serialize;

use crate::diagnostics::{At, Diagnostic, DiagnosticKind};
use crate::model::Source;
use decode::{DecodeStop, Decoder};
use framing::{Frame, Framer};

/// Size limits that keep a hostile or broken file from exhausting memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// The longest line or record kept, in bytes (8 MiB by default). Longer ones are skipped
    /// as they stream, without being held, and reported.
    pub max_record_bytes: usize,
    /// The most bytes one file may decode to (64 GiB by default): a gzip bomb stops here.
    pub max_decoded_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_record_bytes: 8 * 1024 * 1024,
            max_decoded_bytes: 64 * 1024 * 1024 * 1024,
        }
    }
}

/// Receives what a [`FileReader`] finds.
pub trait Sink {
    /// One audit event, borrowed from the record for the duration of the call.
    fn event(&mut self, event: &WireEvent<'_>, source: Source, truncated: bool);
    /// One problem with the input.
    fn diagnostic(&mut self, diagnostic: Diagnostic);
}

/// What one file held, accounting for every line and record.
///
/// For line-delimited files `lines = blank_lines + records`; for every file
/// `records = accepted + rejected`, and the accepted records held `events` events (an
/// `EventList` record holds many).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
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
    pub events: u64,
    /// Records kept with a warning (recovered from truncation, invalid UTF-8 replaced).
    pub warnings: u64,
}

/// Reads one file: decode, frame, parse.
#[derive(Debug)]
pub struct FileReader {
    decoder: Decoder,
    framer: Framer,
    records: RecordParser,
}

#[derive(Debug)]
struct RecordParser {
    name: String,
    file: u32,
    max_record_bytes: usize,
    counts: FileCounts,
}

impl FileReader {
    /// A reader for the file `name`, the `file`-th of its analysis.
    pub fn new(name: &str, file: u32, limits: Limits) -> Self {
        FileReader {
            decoder: Decoder::new(limits.max_decoded_bytes),
            framer: Framer::new(limits.max_record_bytes),
            records: RecordParser {
                name: name.to_string(),
                file,
                max_record_bytes: limits.max_record_bytes,
                counts: FileCounts::default(),
            },
        }
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
            DecodeStop::Corrupt(why) => (
                DiagnosticKind::GzipError,
                format!("the gzip stream is corrupt or cut short ({why}); the rest was not read"),
            ),
        };
        sink.diagnostic(Diagnostic::error(&self.records.name, at, kind, message));
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

    /// A description of the detected format, for people: `JSON lines (gzip)`.
    pub fn format_name(&self) -> String {
        let layout = match self.framer.layout {
            Layout::Undecided => "empty",
            Layout::Lines => "JSON lines",
            Layout::Array => "JSON array",
            Layout::Objects => "JSON objects",
        };
        match self.decoder.encoding() {
            Some(Encoding::Gzip) => format!("{layout} (gzip)"),
            _ => layout.to_string(),
        }
    }
}

impl RecordParser {
    fn frame(&mut self, frame: Frame<'_>, sink: &mut dyn Sink) {
        match frame {
            Frame::Blank => self.counts.blank_lines += 1,
            Frame::Record {
                bytes,
                line,
                offset,
            } => {
                self.counts.records += 1;
                let source = Source {
                    file: self.file,
                    line,
                    offset,
                    len: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
                };
                self.record(bytes, source, sink);
            }
            Frame::TooLong { line, offset, len } => {
                self.counts.records += 1;
                self.counts.rejected += 1;
                let message = format!(
                    "a record of {len} bytes is longer than the limit of {} bytes; skipped",
                    self.max_record_bytes
                );
                let at = At { line, offset };
                sink.diagnostic(Diagnostic::error(
                    &self.name,
                    at,
                    DiagnosticKind::RecordTooLong,
                    message,
                ));
            }
            Frame::Stray {
                line,
                offset,
                unterminated,
            } => {
                let (kind, message) = if unterminated {
                    (
                        DiagnosticKind::UnterminatedDocument,
                        "the file ends inside a JSON document (cut short?); \
                         its last, unfinished event was not read"
                            .to_string(),
                    )
                } else {
                    (
                        DiagnosticKind::UnexpectedContent,
                        "text outside any JSON document; skipped up to the next '{' or '['"
                            .to_string(),
                    )
                };
                sink.diagnostic(Diagnostic::error(
                    &self.name,
                    At { line, offset },
                    kind,
                    message,
                ));
            }
        }
    }

    fn record(&mut self, bytes: &[u8], source: Source, sink: &mut dyn Sink) {
        let at = At {
            line: source.line,
            offset: source.offset,
        };
        if is_truncated(bytes) {
            return self.truncated(bytes, source, sink);
        }
        let parsed = parse_record(bytes);
        let rejection = match parsed {
            Ok(parsed) => return self.accept(parsed, source, sink),
            Err(rejection) => rejection,
        };
        if std::str::from_utf8(bytes).is_err() {
            let repaired = String::from_utf8_lossy(bytes).into_owned();
            if let Ok(parsed) = parse_record(repaired.as_bytes()) {
                self.counts.warnings += 1;
                sink.diagnostic(Diagnostic::warning(
                    &self.name,
                    at,
                    DiagnosticKind::InvalidUtf8,
                    "bytes that are not UTF-8 were replaced with U+FFFD; the event was kept"
                        .to_string(),
                ));
                return self.accept(parsed, source, sink);
            }
        }
        self.counts.rejected += 1;
        sink.diagnostic(Diagnostic::error(
            &self.name,
            at,
            rejection.kind,
            rejection.message,
        ));
    }

    fn truncated(&mut self, bytes: &[u8], source: Source, sink: &mut dyn Sink) {
        let at = At {
            line: source.line,
            offset: source.offset,
        };
        let salvaged = salvage_truncated(bytes);
        let parsed = salvaged.as_deref().map(parse_record);
        if let Some(Ok(Parsed::Event(event))) = parsed {
            self.counts.accepted += 1;
            self.counts.events += 1;
            self.counts.warnings += 1;
            sink.diagnostic(Diagnostic::warning(
                &self.name,
                at,
                DiagnosticKind::TruncatedEvent,
                format!(
                    "the event was cut short by its producer ([Truncated...]); kept the fields \
                     before the cut (auditID {})",
                    event.audit_id.as_deref().unwrap_or("?")
                ),
            ));
            sink.event(&event, source, true);
            return;
        }
        self.counts.rejected += 1;
        sink.diagnostic(Diagnostic::error(
            &self.name,
            at,
            DiagnosticKind::TruncatedEvent,
            "the event was cut short by its producer ([Truncated...]) before its auditID; dropped"
                .to_string(),
        ));
    }

    fn accept(&mut self, parsed: Parsed<'_>, source: Source, sink: &mut dyn Sink) {
        match parsed {
            Parsed::Event(event) => {
                self.counts.accepted += 1;
                self.counts.events += 1;
                sink.event(&event, source, false);
            }
            Parsed::List(items) => {
                let mut events = 0u64;
                for (index, item) in items.iter().enumerate() {
                    match serde_json::from_str::<WireEvent<'_>>(item.get()) {
                        Ok(event) => match event.not_an_event() {
                            None => {
                                events += 1;
                                sink.event(&event, source, false);
                            }
                            Some(why) => self.item_rejected(source, index, why, sink),
                        },
                        Err(e) => self.item_rejected(source, index, e.to_string(), sink),
                    }
                }
                self.counts.events += events;
                if events > 0 {
                    self.counts.accepted += 1;
                } else {
                    self.counts.rejected += 1;
                }
            }
        }
    }

    fn item_rejected(&mut self, source: Source, index: usize, why: String, sink: &mut dyn Sink) {
        let at = At {
            line: source.line,
            offset: source.offset,
        };
        sink.diagnostic(Diagnostic::error(
            &self.name,
            at,
            DiagnosticKind::NotAuditEvent,
            format!("item {index} of the EventList is not an audit event: {why}"),
        ));
    }
}
