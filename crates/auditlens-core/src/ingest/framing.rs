//! Framing: turning a byte stream into records, whatever the chunking.
//!
//! Two layouts are told apart from the start of each file:
//! - **lines**: one JSON value per line (the API server's log backend, webhook batches written
//!   one per line). A line is a record; blank lines are counted and skipped.
//! - **documents**: JSON spread over many lines: a top-level array of events, or objects (often
//!   pretty-printed, or concatenated with nothing between them as Firehose writes them) that are
//!   either one event or a list whose events sit under a known key (`items` of an `EventList`,
//!   and the wrapper keys of the cloud exports). The elements are the records and are emitted
//!   one by one, so a list is never held whole; the wrapper's fields before its list (a
//!   CloudWatch subscription message's `messageType` and `logGroup`) are handed on first as a
//!   [`Frame::ListOpen`], so records can be read in their context.
//!
//! The framer keeps only the current partial record between pushes, never more than
//! [`Framer::max_record`] bytes of it: a longer record is skipped as it streams and reported.

use memchr::memchr;

/// Keys of a top-level object whose array elements are records.
const LIST_KEYS: &[&[u8]] = &[b"items", b"records", b"events", b"logEvents"];

/// The layout of a file, as detected from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Undecided,
    Lines,
    /// A top-level JSON array.
    Array,
    /// One or more (pretty-printed) JSON objects.
    Objects,
}

/// What the framer hands on.
#[derive(Debug, PartialEq)]
pub(crate) enum Frame<'a> {
    /// A complete record: `line` is its first line, `offset` its first byte.
    Record {
        bytes: &'a [u8],
        line: u64,
        offset: u64,
        /// An element of a list under a key of a wrapper object (see [`Frame::ListOpen`]).
        nested: bool,
    },
    /// A wrapper object opened its list under `key`; `header` is the object up to the list
    /// (`{"messageType":"DATA_MESSAGE",...,"logEvents":`), empty when it was too long to keep.
    ListOpen {
        key: &'static [u8],
        header: &'a [u8],
    },
    /// A blank line (lines layout only).
    Blank,
    /// A record longer than the limit, skipped.
    TooLong { line: u64, offset: u64, len: u64 },
    /// Bytes outside any JSON document, or a document left open at the end.
    Stray {
        line: u64,
        offset: u64,
        unterminated: bool,
    },
}

/// Splits a stream into records. Feed it with [`Framer::push`], end with [`Framer::finish`].
#[derive(Debug)]
pub(crate) struct Framer {
    pub layout: Layout,
    pub max_record: usize,
    /// Physical lines seen so far (a last line without a newline counts at finish).
    pub lines: u64,
    /// Bytes consumed so far.
    consumed: u64,
    /// Start of the current line (lines layout) or record (documents).
    start_line: u64,
    start_offset: u64,
    /// The part of the current record carried over from earlier pushes.
    carry: Vec<u8>,
    /// Bytes of an over-long record skipped so far, while skipping it.
    skipping: Option<u64>,
    /// The last byte seen (documents layouts), to count a last line without a newline.
    last_byte: u8,
    scan: Scanner,
    /// How far the first object of the file was scanned while the layout is undecided.
    head: HeadScan,
}

/// Structural state for the documents layouts.
#[derive(Debug, Default)]
struct Scanner {
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// Depth at which array elements are records (1: top-level array, 2: list key in object).
    element_depth: Option<u32>,
    /// A record is open and started at this depth (0 for a whole top-level object).
    record_depth: Option<u32>,
    /// The open record is a scalar array element, ended by `,` or the closing bracket.
    scalar: bool,
    /// Top-level object: expecting a key, reading a key, or its key named a list.
    expect_key: bool,
    key: Option<Vec<u8>>,
    list_key_pending: bool,
    /// The list key just read, while `list_key_pending`.
    list_key: Option<&'static [u8]>,
    /// The open top-level object is a list wrapper; it is not itself a record.
    wrapper: bool,
    /// Start of a run of stray bytes at depth 0.
    stray: Option<(u64, u64)>,
}

impl Framer {
    pub fn new(max_record: usize) -> Self {
        Framer {
            layout: Layout::Undecided,
            max_record,
            lines: 0,
            consumed: 0,
            start_line: 1,
            start_offset: 0,
            carry: Vec::new(),
            skipping: None,
            last_byte: b'\n',
            scan: Scanner::default(),
            head: HeadScan::default(),
        }
    }

    /// True between lines of the lines layout: nothing is carried over.
    pub fn at_line_boundary(&self) -> bool {
        self.layout == Layout::Lines && self.carry.is_empty() && self.skipping.is_none()
    }

    /// Continues the count with a later part of the same stream, read by `later`.
    pub fn absorb(&mut self, later: &Framer) {
        self.advance(later.lines, later.consumed);
    }

    /// Continues the count past `lines` lines and `bytes` bytes read elsewhere.
    pub fn advance(&mut self, lines: u64, bytes: u64) {
        self.lines += lines;
        self.consumed += bytes;
        self.start_line = self.lines + 1;
        self.start_offset = self.consumed;
    }

    /// Bytes consumed so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Feeds the next bytes of the stream.
    pub fn push(&mut self, bytes: &[u8], emit: &mut dyn FnMut(Frame<'_>)) {
        match self.layout {
            Layout::Undecided => self.push_undecided(bytes, emit, false),
            Layout::Lines => self.push_lines(bytes, emit),
            Layout::Array | Layout::Objects => self.push_document(bytes, emit),
        }
    }

    /// Ends the stream, emitting what is left.
    pub fn finish(&mut self, emit: &mut dyn FnMut(Frame<'_>)) {
        if self.layout == Layout::Undecided {
            self.push_undecided(&[], emit, true);
        }
        match self.layout {
            Layout::Undecided | Layout::Lines => self.finish_lines(emit),
            Layout::Array | Layout::Objects => self.finish_document(emit),
        }
    }

    fn push_undecided(&mut self, bytes: &[u8], emit: &mut dyn FnMut(Frame<'_>), at_end: bool) {
        self.carry.extend_from_slice(bytes);
        let at_end = at_end || self.carry.len() > self.max_record;
        let Some(layout) = detect_layout(&self.carry, at_end, &mut self.head) else {
            return;
        };
        self.layout = layout;
        let held = std::mem::take(&mut self.carry);
        let body = match held.strip_prefix(b"\xEF\xBB\xBF") {
            Some(body) => {
                self.consumed = 3;
                self.start_offset = 3;
                body
            }
            None => &held,
        };
        self.push(body, emit);
    }

    fn push_lines(&mut self, bytes: &[u8], emit: &mut dyn FnMut(Frame<'_>)) {
        let mut rest = bytes;
        while let Some(pos) = memchr(b'\n', rest) {
            let piece = &rest[..pos];
            if let Some(skipped) = self.skipping.take() {
                emit(self.too_long(skipped + piece.len() as u64));
            } else if self.carry.is_empty() && piece.len() <= self.max_record {
                emit_line(piece, self.start_line, self.start_offset, emit);
            } else if self.carry.len() + piece.len() > self.max_record {
                let len = (self.carry.len() + piece.len()) as u64;
                self.carry.clear();
                emit(self.too_long(len));
            } else {
                self.carry.extend_from_slice(piece);
                emit_line(&self.carry, self.start_line, self.start_offset, emit);
                self.carry.clear();
            }
            self.consumed += pos as u64 + 1;
            self.lines += 1;
            self.start_line = self.lines + 1;
            self.start_offset = self.consumed;
            rest = &rest[pos + 1..];
        }
        self.consumed += rest.len() as u64;
        if let Some(skipped) = self.skipping.as_mut() {
            *skipped += rest.len() as u64;
        } else if self.carry.len() + rest.len() > self.max_record {
            self.skipping = Some((self.carry.len() + rest.len()) as u64);
            self.carry = Vec::new();
        } else {
            self.carry.extend_from_slice(rest);
        }
    }

    fn finish_lines(&mut self, emit: &mut dyn FnMut(Frame<'_>)) {
        if let Some(skipped) = self.skipping.take() {
            self.lines += 1;
            emit(self.too_long(skipped));
        } else if !self.carry.is_empty() {
            self.lines += 1;
            emit_line(&self.carry, self.start_line, self.start_offset, emit);
            self.carry.clear();
        }
    }

    fn too_long(&self, len: u64) -> Frame<'static> {
        Frame::TooLong {
            line: self.start_line,
            offset: self.start_offset,
            len,
        }
    }

    fn push_document(&mut self, bytes: &[u8], emit: &mut dyn FnMut(Frame<'_>)) {
        // Start of the open record within `bytes`, when one is open.
        let mut kept_from: Option<usize> = self.scan.record_depth.map(|_| 0);
        for (i, &byte) in bytes.iter().enumerate() {
            let offset = self.consumed + i as u64;
            if byte == b'\n' {
                self.lines += 1;
            }
            if self.scan.in_string {
                self.scan.string_byte(byte);
                continue;
            }
            if byte.is_ascii_whitespace() {
                continue;
            }
            // A scalar array element ends before `,` or the closing bracket.
            if self.scan.scalar && matches!(byte, b',' | b']' | b'}') {
                self.close_record(bytes, &mut kept_from, i, false, emit);
            }
            let depth = self.scan.depth;
            let at_element =
                self.scan.record_depth.is_none() && self.scan.element_depth == Some(depth);
            match byte {
                b'{' | b'[' => {
                    if depth == 0 {
                        self.flush_stray(emit);
                        if byte == b'[' {
                            self.scan.element_depth = Some(1);
                        } else {
                            self.scan.expect_key = true;
                            self.scan.wrapper = false;
                            self.open_record(&mut kept_from, i, offset, 0);
                        }
                    } else if at_element {
                        self.open_record(&mut kept_from, i, offset, depth);
                    } else if depth == 1 && byte == b'[' && self.scan.list_key_pending {
                        // `{"kind":"EventList","items":[` : drop the wrapper, stream its items.
                        self.open_list(bytes, kept_from, i, emit);
                        self.scan.wrapper = true;
                        self.scan.record_depth = None;
                        self.scan.element_depth = Some(2);
                        kept_from = None;
                        self.carry.clear();
                        self.skipping = None;
                    }
                    self.scan.list_key_pending = false;
                    self.scan.depth += 1;
                }
                b'}' | b']' => {
                    let s = &mut self.scan;
                    s.depth = s.depth.saturating_sub(1);
                    if s.element_depth.is_some_and(|d| s.depth < d) {
                        s.element_depth = None;
                    }
                    if s.record_depth == Some(s.depth) {
                        self.close_record(bytes, &mut kept_from, i, true, emit);
                    }
                }
                b'"' => {
                    self.scan.in_string = true;
                    let in_object_top = self.scan.element_depth != Some(1);
                    if depth == 1 && self.scan.expect_key && in_object_top {
                        self.scan.key = Some(Vec::new());
                        self.scan.expect_key = false;
                    } else if at_element {
                        self.scan.scalar = true;
                        self.open_record(&mut kept_from, i, offset, depth);
                    }
                }
                b',' => {
                    if depth == 1 {
                        self.scan.expect_key = true;
                    }
                    self.scan.list_key_pending = false;
                }
                b':' => {}
                _ => {
                    if depth == 0 {
                        if self.scan.stray.is_none() {
                            self.scan.stray = Some((self.lines + 1, offset));
                        }
                    } else if at_element {
                        self.scan.scalar = true;
                        self.open_record(&mut kept_from, i, offset, depth);
                    } else if depth == 1 {
                        self.scan.list_key_pending = false;
                    }
                }
            }
        }
        if let Some(from) = kept_from {
            self.keep(&bytes[from..]);
        }
        self.consumed += bytes.len() as u64;
        if let Some(&last) = bytes.last() {
            self.last_byte = last;
        }
    }

    fn flush_stray(&mut self, emit: &mut dyn FnMut(Frame<'_>)) {
        if let Some((line, offset)) = self.scan.stray.take() {
            emit(Frame::Stray {
                line,
                offset,
                unterminated: false,
            });
        }
    }

    /// Hands on the wrapper's fields before its list, when they were kept.
    fn open_list(
        &mut self,
        bytes: &[u8],
        kept_from: Option<usize>,
        i: usize,
        emit: &mut dyn FnMut(Frame<'_>),
    ) {
        let key = self.scan.list_key.take().unwrap_or(b"items");
        let piece = kept_from.map_or(&[][..], |from| &bytes[from.min(i)..i]);
        let header: &[u8] =
            if self.skipping.is_some() || self.carry.len() + piece.len() > self.max_record {
                &[]
            } else {
                self.carry.extend_from_slice(piece);
                &self.carry
            };
        emit(Frame::ListOpen { key, header });
    }

    fn open_record(&mut self, kept_from: &mut Option<usize>, i: usize, offset: u64, depth: u32) {
        self.scan.record_depth = Some(depth);
        self.start_line = self.lines + 1;
        self.start_offset = offset;
        self.carry.clear();
        self.skipping = None;
        *kept_from = Some(i);
    }

    /// Adds bytes to the open record, switching to skipping once it is over the limit.
    fn keep(&mut self, bytes: &[u8]) {
        if let Some(skipped) = self.skipping.as_mut() {
            *skipped += bytes.len() as u64;
        } else if self.carry.len() + bytes.len() > self.max_record {
            self.skipping = Some((self.carry.len() + bytes.len()) as u64);
            self.carry = Vec::new();
        } else {
            self.carry.extend_from_slice(bytes);
        }
    }

    /// Closes the open record; `inclusive` takes byte `i` into it.
    fn close_record(
        &mut self,
        bytes: &[u8],
        kept_from: &mut Option<usize>,
        i: usize,
        inclusive: bool,
        emit: &mut dyn FnMut(Frame<'_>),
    ) {
        let end = if inclusive { i + 1 } else { i };
        let from = kept_from.take().unwrap_or(end);
        self.scan.record_depth = None;
        self.scan.scalar = false;
        let piece = &bytes[from.min(end)..end];
        let nested = self.scan.wrapper && self.scan.element_depth == Some(2);
        if self.skipping.is_none() && self.carry.is_empty() && piece.len() <= self.max_record {
            emit(Frame::Record {
                bytes: piece,
                line: self.start_line,
                offset: self.start_offset,
                nested,
            });
            return;
        }
        self.keep(piece);
        match self.skipping.take() {
            Some(len) => emit(self.too_long(len)),
            None => emit(Frame::Record {
                bytes: &self.carry,
                line: self.start_line,
                offset: self.start_offset,
                nested,
            }),
        }
        self.carry.clear();
    }

    fn finish_document(&mut self, emit: &mut dyn FnMut(Frame<'_>)) {
        if self.consumed > 0 && self.last_byte != b'\n' {
            self.lines += 1;
        }
        if self.scan.scalar {
            let mut kept = Some(0);
            self.close_record(&[], &mut kept, 0, false, emit);
        }
        self.flush_stray(emit);
        if self.scan.depth > 0 || self.scan.in_string {
            let (line, offset) = if self.scan.record_depth.is_some() {
                (self.start_line, self.start_offset)
            } else {
                (self.lines.max(1), self.consumed)
            };
            emit(Frame::Stray {
                line,
                offset,
                unterminated: true,
            });
        }
        self.carry.clear();
    }
}

impl Scanner {
    /// One byte inside a JSON string.
    fn string_byte(&mut self, byte: u8) {
        if self.escaped {
            self.escaped = false;
        } else if byte == b'\\' {
            self.escaped = true;
        } else if byte == b'"' {
            self.in_string = false;
            if let Some(key) = self.key.take() {
                self.list_key = LIST_KEYS.iter().copied().find(|k| *k == key.as_slice());
                self.list_key_pending = self.list_key.is_some();
            }
        } else if let Some(key) = self.key.as_mut() {
            if key.len() < 16 {
                key.push(byte);
            }
        }
    }
}

/// Emits one line of the lines layout, without its `\r`, as a record or a blank.
fn emit_line(line: &[u8], number: u64, offset: u64, emit: &mut dyn FnMut(Frame<'_>)) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        emit(Frame::Blank);
    } else {
        emit(Frame::Record {
            bytes: line,
            line: number,
            offset,
            nested: false,
        });
    }
}

/// Decides the layout from the first bytes, or `None` when more are needed.
///
/// `[` opens an array. `{` alone on its line (a pretty-printer's output), or a short first line
/// that leaves an object open, starts the objects layout. Anything else is lines: a broken
/// first line must not swallow the lines after it.
fn detect_layout(head: &[u8], at_end: bool, scan: &mut HeadScan) -> Option<Layout> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    // The first bytes of a byte-order mark, the rest still to come: nothing to tell yet.
    if !at_end && head.len() < BOM.len() && BOM.starts_with(head) {
        return None;
    }
    let head_no_bom = head.strip_prefix(BOM).unwrap_or(head);
    let Some(first) = head_no_bom.iter().position(|b| !b.is_ascii_whitespace()) else {
        return at_end.then_some(Layout::Lines);
    };
    match head_no_bom[first] {
        b'[' => Some(Layout::Array),
        b'{' => {
            let rest = &head_no_bom[first..];
            if let Some(end) = scan.first_line_object_end(rest) {
                // `{...}{...}`: objects written back to back (Firehose deliveries).
                let next = rest[end..].iter().find(|b| !matches!(b, b' ' | b'\t'));
                return match next {
                    Some(b'{') => Some(Layout::Objects),
                    Some(_) => Some(Layout::Lines),
                    None if at_end => Some(Layout::Lines),
                    None => None,
                };
            }
            if scan.outcome.is_none() && !at_end {
                return None; // the first line goes on
            }
            let line = match memchr(b'\n', rest) {
                Some(end) => &rest[..end],
                None if at_end => rest,
                None => return None,
            };
            let line = line.trim_ascii_end();
            // The object did not close on its first line, so that line leaves it open.
            let opens_object = line.len() < 256;
            Some(
                if line == b"{" || (opens_object && !line.ends_with(b"[Truncated...]")) {
                    Layout::Objects
                } else {
                    Layout::Lines
                },
            )
        }
        _ => Some(Layout::Lines),
    }
}

/// The scan of the file's first object, carried across pushes so that a long first line is
/// scanned once, not once per push.
#[derive(Debug, Default)]
struct HeadScan {
    /// Bytes of the first object scanned so far.
    pos: usize,
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// Where the first object closed, or that a newline came first.
    outcome: Option<Option<usize>>,
}

impl HeadScan {
    /// Where the object opening `bytes` closes, if it closes before the first newline.
    /// `bytes` grows between calls; only the new part is scanned.
    fn first_line_object_end(&mut self, bytes: &[u8]) -> Option<usize> {
        if let Some(outcome) = self.outcome {
            return outcome;
        }
        for (i, &b) in bytes.iter().enumerate().skip(self.pos) {
            self.pos = i + 1;
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'\n' => {
                    self.outcome = Some(None);
                    return None;
                }
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        self.outcome = Some(Some(i + 1));
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        None
    }
}

#[cfg(test)]
#[path = "framing_tests.rs"]
mod tests;
