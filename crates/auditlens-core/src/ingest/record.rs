//! Records: one framed record in, events and diagnostics out, every record counted once.
//!
//! A record that parses as a Kubernetes audit event (or an `EventList`) takes the fast path:
//! one borrowed serde parse, straight to the sink. Anything else goes to [`Formats`], which
//! looks for the event inside a cloud export or a log shipper's wrapper. A record that matches
//! nothing is reported with the reason the native parse gave, so plain garbage reads as it
//! always did; bytes that are not UTF-8 are replaced and the record is read again.

use crate::diagnostics::{At, Diagnostic, DiagnosticKind};
use crate::model::Source;

use super::formats::{aks, Formats, Found, Shape};
use super::framing::Frame;
use super::wire::{is_truncated, parse_record, Gap, Parsed, Rejection, WireEvent};
use super::{FileCounts, Sink};

/// Reads the records of one file.
#[derive(Debug)]
pub(crate) struct RecordParser {
    pub name: String,
    pub file: u32,
    pub max_record_bytes: usize,
    pub counts: FileCounts,
    pub formats: Formats,
}

/// Hands events and diagnostics of one record to the sink, counting them.
pub(crate) struct Emit<'s> {
    name: &'s str,
    source: Source,
    sink: &'s mut dyn Sink,
    pub events: u64,
    pub warnings: u64,
    pub errors: u64,
    /// Events of this record written without each [`Gap`] field.
    gaps: [u32; Gap::ALL.len()],
}

impl<'s> Emit<'s> {
    fn new(name: &'s str, source: Source, sink: &'s mut dyn Sink) -> Self {
        Emit {
            name,
            source,
            sink,
            events: 0,
            warnings: 0,
            errors: 0,
            gaps: [0; Gap::ALL.len()],
        }
    }

    fn at(&self) -> At {
        At {
            line: self.source.line,
            offset: self.source.offset,
        }
    }

    /// One event as the API server writes it. A body that AKS left out for its size is
    /// dropped and the event flagged.
    pub fn event(&mut self, event: &mut WireEvent<'_>, truncated: bool) {
        // What a cut-short event lacks, its own warning already says.
        if !truncated {
            self.count_gaps(event.gaps(true));
        }
        self.hand_on(event, truncated);
    }

    /// One event mapped from a cloud provider's own record (a GKE entry, an AKSAudit row),
    /// which never carries the event's `apiVersion` and `kind`.
    pub fn mapped_event(&mut self, event: &mut WireEvent<'_>, truncated: bool) {
        if !truncated {
            self.count_gaps(event.gaps(false));
        }
        self.hand_on(event, truncated);
    }

    fn count_gaps(&mut self, bits: u16) {
        for (count, gap) in self.gaps.iter_mut().zip(Gap::ALL) {
            if bits & gap.bit() != 0 {
                *count += 1;
            }
        }
    }

    fn hand_on(&mut self, event: &mut WireEvent<'_>, truncated: bool) {
        let mut truncated = truncated;
        if aks::drop_skipped_bodies(event) {
            truncated = true;
            self.body_skipped(event);
        }
        let index = u32::try_from(self.events).unwrap_or(u32::MAX);
        self.events += 1;
        self.sink.event(event, self.source, index, truncated);
    }

    /// Says that AKS left out a body of `event` for its size.
    pub fn body_skipped(&mut self, event: &WireEvent<'_>) {
        let message = format!(
            "a request or response body was left out for its size \
             (skipped-too-big-size-object); the event was kept without it (auditID {})",
            event.audit_id.as_deref().unwrap_or("?")
        );
        self.warn(DiagnosticKind::TruncatedEvent, message);
    }

    /// A problem after which the record's content was kept.
    pub fn warn(&mut self, kind: DiagnosticKind, message: String) {
        self.warnings += 1;
        let at = self.at();
        self.sink
            .diagnostic(Diagnostic::warning(self.name, at, kind, message));
    }

    /// A part of the record (an item of a batch) that was dropped.
    pub fn error(&mut self, kind: DiagnosticKind, message: String) {
        self.errors += 1;
        let at = self.at();
        self.sink
            .diagnostic(Diagnostic::error(self.name, at, kind, message));
    }
}

/// Hands a parsed event or `EventList` on; `truncated` flags every event of it.
pub(crate) fn deliver(parsed: Parsed<'_>, truncated: bool, emit: &mut Emit<'_>) {
    match parsed {
        Parsed::Event(mut event) => emit.event(&mut event, truncated),
        Parsed::List(items) => {
            for (index, item) in items.iter().enumerate() {
                match serde_json::from_str::<WireEvent<'_>>(item.get()) {
                    Ok(mut event) => match event.not_an_event() {
                        None => emit.event(&mut event, truncated),
                        Some(why) => emit.error(
                            DiagnosticKind::NotAuditEvent,
                            format!("item {index} of the EventList is not an audit event: {why}"),
                        ),
                    },
                    Err(e) => emit.error(
                        DiagnosticKind::NotAuditEvent,
                        format!("item {index} of the EventList is not an audit event: {e}"),
                    ),
                }
            }
        }
    }
}

impl RecordParser {
    pub fn new(name: &str, file: u32, max_record_bytes: usize) -> Self {
        RecordParser {
            name: name.to_string(),
            file,
            max_record_bytes,
            counts: FileCounts::default(),
            formats: Formats::default(),
        }
    }

    pub fn frame(&mut self, frame: Frame<'_>, sink: &mut dyn Sink) {
        match frame {
            Frame::Blank => self.counts.blank_lines += 1,
            Frame::ListOpen { key, header } => self.formats.list_opened(key, header),
            Frame::Record {
                bytes,
                line,
                offset,
                nested,
            } => {
                self.counts.records += 1;
                let source = Source {
                    file: self.file,
                    line,
                    offset,
                    len: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
                };
                self.record(bytes, source, nested, sink);
            }
            Frame::TooLong { line, offset, len } => {
                self.counts.records += 1;
                self.counts.rejected += 1;
                let message = format!(
                    "a record of {len} bytes is longer than the limit of {} bytes; skipped \
                     (raise the record-size limit, `--max-record-bytes`, if such records are \
                     expected)",
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

    fn record(&mut self, bytes: &[u8], source: Source, nested: bool, sink: &mut dyn Sink) {
        let mut rejection = None;
        if self.formats.native_first(nested) && !is_truncated(bytes) {
            match parse_record(bytes) {
                Ok(parsed) => {
                    let mut emit = Emit::new(&self.name, source, sink);
                    deliver(parsed, false, &mut emit);
                    return count(
                        &mut self.counts,
                        &mut self.formats,
                        Found::Handled(Shape::Native),
                        emit,
                    );
                }
                Err(why) => rejection = Some(why),
            }
        }
        let mut emit = Emit::new(&self.name, source, sink);
        let found = self
            .formats
            .record(bytes, nested, rejection.as_ref(), &mut emit);
        let Found::Unknown(why) = found else {
            return count(&mut self.counts, &mut self.formats, found, emit);
        };
        self.unknown(bytes, source, nested, rejection.unwrap_or(why), sink);
    }

    /// A record of no known shape: read again with its damage repaired (bytes that are not
    /// UTF-8 and escapes of lone surrogates replaced, keys that appear twice in one object
    /// taken once), or reported with the native parser's reason.
    fn unknown(
        &mut self,
        bytes: &[u8],
        source: Source,
        nested: bool,
        rejection: Rejection,
        sink: &mut dyn Sink,
    ) {
        let at = At {
            line: source.line,
            offset: source.offset,
        };
        let not_utf8 = std::str::from_utf8(bytes).is_err();
        let text = String::from_utf8_lossy(bytes);
        let lone_surrogates = repair_surrogates(&text);
        let mut warnings: Vec<(DiagnosticKind, String)> = Vec::new();
        let mut repaired: Option<String> = None;
        if not_utf8 || lone_surrogates.is_some() {
            let warning = match (not_utf8, lone_surrogates.is_some()) {
                (true, false) => {
                    "bytes that are not UTF-8 were replaced with U+FFFD; the event was kept"
                }
                (false, true) => {
                    "escapes of lone UTF-16 surrogates (\\ud800 to \\udfff, which are no \
                     characters) were replaced with U+FFFD; the event was kept"
                }
                _ => {
                    "bytes that are not UTF-8 and escapes of lone UTF-16 surrogates were \
                     replaced with U+FFFD; the event was kept"
                }
            };
            warnings.push((DiagnosticKind::InvalidUtf8, warning.to_string()));
            repaired = Some(lone_surrogates.unwrap_or_else(|| text.to_string()));
        }
        if let Some((deduplicated, keys)) =
            last_of_duplicate_keys(repaired.as_deref().unwrap_or(&text))
        {
            warnings.push((DiagnosticKind::DuplicateKey, duplicate_key_warning(&keys)));
            repaired = Some(deduplicated);
        }
        if let Some(repaired) = repaired {
            let mut emit = Emit::new(&self.name, source, sink);
            match parse_record(repaired.as_bytes()) {
                Ok(parsed) => {
                    for (kind, message) in warnings {
                        emit.warn(kind, message);
                    }
                    deliver(parsed, false, &mut emit);
                    return count(
                        &mut self.counts,
                        &mut self.formats,
                        Found::Handled(Shape::Native),
                        emit,
                    );
                }
                Err(why) => {
                    let found =
                        self.formats
                            .record(repaired.as_bytes(), nested, Some(&why), &mut emit);
                    match found {
                        Found::Handled(_) => {
                            for (kind, message) in warnings {
                                emit.warn(kind, message);
                            }
                            return count(&mut self.counts, &mut self.formats, found, emit);
                        }
                        Found::Skipped => {
                            return count(&mut self.counts, &mut self.formats, found, emit)
                        }
                        Found::Rejected(..) | Found::Unknown(_) => {}
                    }
                }
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
}

fn duplicate_key_warning(keys: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut named: Vec<String> = keys.iter().take(SHOWN).map(|k| format!("{k:?}")).collect();
    if keys.len() > SHOWN {
        named.push(format!("and {} more", keys.len() - SHOWN));
    }
    format!(
        "keys that appear more than once in one JSON object ({}): the last value of each was \
         read, as Go's encoding/json, jq and most SIEMs read it; the API server never writes \
         such keys, so the record was altered after it was written; the event was kept",
        named.join(", ")
    )
}

/// The JSON text rewritten with every key that appears more than once in an object kept once,
/// with its last value, and the keys that did; `None` when the text is not JSON or has no such
/// key. serde's derived readers refuse a known field given twice, which would let an edited
/// line drop out of the analysis; JSON itself leaves duplicates to the reader.
pub(crate) fn last_of_duplicate_keys(text: &str) -> Option<(String, Vec<String>)> {
    use serde::de::DeserializeSeed;
    if !text.contains('"') {
        return None;
    }
    let duplicates = std::cell::RefCell::new(Vec::new());
    // serde_json's recursion limit stays: a record nested deeper is refused as it was.
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = LastWins(&duplicates).deserialize(&mut deserializer).ok()?;
    deserializer.end().ok()?;
    let keys = duplicates.into_inner();
    if keys.is_empty() {
        return None;
    }
    Some((value.to_string(), keys))
}

/// Builds a [`serde_json::Value`] as serde_json does, noting the keys an object repeats.
struct LastWins<'d>(&'d std::cell::RefCell<Vec<String>>);

impl<'de> serde::de::DeserializeSeed<'de> for LastWins<'_> {
    type Value = serde_json::Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for LastWins<'_> {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(LastWins(self.0))? {
            items.push(item);
        }
        Ok(serde_json::Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(LastWins(self.0))?;
            if object.insert(key.clone(), value).is_some() {
                let mut seen = self.0.borrow_mut();
                if !seen.contains(&key) {
                    seen.push(key);
                }
            }
        }
        Ok(serde_json::Value::Object(object))
    }
}

/// Counts what one record gave.
fn count(counts: &mut FileCounts, formats: &mut Formats, found: Found, emit: Emit<'_>) {
    let mut emit = emit;
    match found {
        Found::Handled(shape) => {
            formats.credit(shape, emit.events);
            if emit.events > 0 {
                counts.accepted += 1;
            } else if emit.errors > 0 {
                counts.rejected += 1;
            } else {
                counts.skipped += 1;
            }
        }
        Found::Skipped => counts.skipped += 1,
        Found::Rejected(shape, rejection) => {
            formats.recognized(shape);
            counts.rejected += 1;
            let at = emit.at();
            emit.sink.diagnostic(Diagnostic::error(
                emit.name,
                at,
                rejection.kind,
                rejection.message,
            ));
        }
        Found::Unknown(why) => {
            counts.rejected += 1;
            emit.error(why.kind, why.message);
        }
    }
    counts.events += emit.events;
    counts.warnings += emit.warnings;
    let at = emit.at();
    counts.gaps.add(&emit.gaps, at);
}

/// The JSON text with every `\\uXXXX` escape of a lone UTF-16 surrogate (one not in a
/// high-low pair) replaced by `\\ufffd`, or `None` when there is none. JSON allows such escapes
/// but they stand for no character, so a strict parser refuses the record; the API server
/// never writes them, a forger can.
pub(crate) fn repair_surrogates(text: &str) -> Option<String> {
    if !text.contains("\\u") {
        return None;
    }
    let bytes = text.as_bytes();
    let escape_at = |i: usize| -> Option<u16> {
        let hex = bytes.get(i..i + 6)?;
        if hex[0] != b'\\' || hex[1] != b'u' {
            return None;
        }
        u16::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16).ok()
    };
    let mut out = String::with_capacity(text.len());
    let (mut i, mut copied, mut changed) = (0, 0, false);
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let Some(unit) = escape_at(i) else {
            // Another escape (`\\\\`, `\\"`, ...): its two characters stay together.
            i += 2;
            continue;
        };
        let pair = (0xD800..0xDC00).contains(&unit)
            && escape_at(i + 6).is_some_and(|low| (0xDC00..0xE000).contains(&low));
        if pair {
            i += 12;
        } else if (0xD800..0xE000).contains(&unit) {
            out.push_str(&text[copied..i]);
            out.push_str("\\ufffd");
            i += 6;
            copied = i;
            changed = true;
        } else {
            i += 6;
        }
    }
    if !changed {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

#[cfg(test)]
mod surrogate_tests {
    use super::repair_surrogates;

    #[test]
    fn lone_surrogates_are_replaced_and_pairs_kept() {
        let fixed = |t: &str| repair_surrogates(t);
        assert_eq!(
            fixed(r#"{"a":"al\ud800ice"}"#).as_deref(),
            Some(r#"{"a":"al\ufffdice"}"#)
        );
        assert_eq!(
            fixed(r#"{"a":"x\udc00"}"#).as_deref(),
            Some(r#"{"a":"x\ufffd"}"#)
        );
        assert_eq!(
            fixed(r#"{"a":"\ud83d\ude00"}"#),
            None,
            "a pair is a character"
        );
        assert_eq!(
            fixed(r#"{"a":"\\ud800"}"#),
            None,
            "an escaped backslash, then text"
        );
        assert_eq!(fixed(r#"{"a":"\u0041"}"#), None);
        assert_eq!(
            fixed(r#"{"a":"\ud800\ud800\udc00"}"#).as_deref(),
            Some(r#"{"a":"\ufffd\ud800\udc00"}"#)
        );
        assert_eq!(fixed(r#"{"a":"\ud8"}"#), None, "too short to be an escape");
        for text in [r#"{"a":"\ud800ice"}"#, r#"{"a":"x\udfff"}"#] {
            let repaired = fixed(text).unwrap();
            assert!(
                serde_json::from_str::<serde_json::Value>(&repaired).is_ok(),
                "{repaired}"
            );
        }
    }
}

#[cfg(test)]
mod duplicate_key_tests {
    use super::last_of_duplicate_keys;

    #[test]
    fn the_last_value_of_a_repeated_key_is_kept_at_any_depth() {
        let (text, keys) =
            last_of_duplicate_keys(r#"{"a":1,"b":[{"c":"x","c":"y"}],"a":{"d":2,"d":3},"a":4}"#)
                .unwrap();
        assert_eq!(text, r#"{"a":4,"b":[{"c":"y"}]}"#);
        assert_eq!(
            keys,
            ["c", "d", "a"],
            "each key named once, in the order met"
        );
        let (text, keys) = last_of_duplicate_keys(r#"{"x":{"d":2,"d":3.5}}"#).unwrap();
        assert_eq!(
            (text.as_str(), keys.as_slice()),
            (r#"{"x":{"d":3.5}}"#, &["d".to_string()][..])
        );
        assert_eq!(
            last_of_duplicate_keys(r#"{"a":1,"b":1}"#),
            None,
            "no repeat"
        );
        assert_eq!(last_of_duplicate_keys(r#"{"a":1,"a":2"#), None, "not JSON");
        assert_eq!(
            last_of_duplicate_keys(r#"{"a":1,"a":2} x"#),
            None,
            "trailing text"
        );
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(
            last_of_duplicate_keys(&deep),
            None,
            "too deep: refused, not a crash"
        );
    }
}
