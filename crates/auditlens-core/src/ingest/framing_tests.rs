//! The framer's tests: records bounded by the limit whatever the chunking, and each layout's
//! records, wrappers, strays and line counts as the frames say them.

use super::*;

/// What a framer emitted, with the record bytes copied out.
#[derive(Debug, PartialEq)]
enum Seen {
    Record(Vec<u8>),
    TooLong { line: u64, len: u64 },
    Other,
}

/// Feeds `bytes` in `chunk`-byte pushes, checking after each push that the framer holds no
/// more than the limit (plus what a growing buffer may set aside) of a record.
fn frame_bounded(bytes: &[u8], chunk: usize, max_record: usize) -> Vec<Seen> {
    let mut framer = Framer::new(max_record);
    let mut seen = Vec::new();
    let mut emit = |frame: Frame<'_>| {
        seen.push(match frame {
            Frame::Record { bytes, .. } => Seen::Record(bytes.to_vec()),
            Frame::TooLong { line, len, .. } => Seen::TooLong { line, len },
            _ => Seen::Other,
        });
    };
    for piece in bytes.chunks(chunk) {
        framer.push(piece, &mut emit);
        assert!(
            framer.carry.len() <= max_record && framer.carry.capacity() <= 2 * max_record,
            "holds {} bytes ({} set aside) of a record, limit {max_record}",
            framer.carry.len(),
            framer.carry.capacity()
        );
    }
    framer.finish(&mut emit);
    seen
}

#[test]
fn a_long_line_built_from_small_chunks_is_never_held() {
    let mut bytes = br#"{"a":1}"#.to_vec();
    bytes.push(b'\n');
    bytes.extend(std::iter::repeat_n(b'x', 10_000));
    bytes.extend_from_slice(b"\n{\"b\":2}\n");
    for chunk in [1, 7, 100] {
        let seen = frame_bounded(&bytes, chunk, 64);
        assert_eq!(
            seen,
            [
                Seen::Record(br#"{"a":1}"#.to_vec()),
                Seen::TooLong {
                    line: 2,
                    len: 10_000
                },
                Seen::Record(br#"{"b":2}"#.to_vec()),
            ],
            "chunk {chunk}"
        );
    }
}

#[test]
fn a_long_first_line_is_never_held_while_the_layout_is_decided() {
    let mut bytes = br#"{"a":""#.to_vec();
    bytes.extend(std::iter::repeat_n(b'x', 10_000));
    bytes.extend_from_slice(b"\"}\n{\"b\":2}\n");
    for chunk in [1, 7, 100] {
        let seen = frame_bounded(&bytes, chunk, 64);
        assert_eq!(seen.last(), Some(&Seen::Record(br#"{"b":2}"#.to_vec())));
        assert!(
            matches!(seen.first(), Some(Seen::TooLong { line: 1, .. })),
            "chunk {chunk}: {seen:?}"
        );
    }
}

#[test]
fn a_long_array_element_built_from_small_chunks_is_never_held() {
    let mut bytes = b"[\n  {\"a\": 1},\n  {\"long\": \"".to_vec();
    bytes.extend(std::iter::repeat_n(b'x', 10_000));
    bytes.extend_from_slice(b"\"},\n  {\"b\": 2}\n]\n");
    for chunk in [1, 7, 100] {
        let seen = frame_bounded(&bytes, chunk, 64);
        assert_eq!(seen.len(), 3, "chunk {chunk}: {seen:?}");
        assert_eq!(seen[0], Seen::Record(br#"{"a": 1}"#.to_vec()));
        assert!(matches!(seen[1], Seen::TooLong { line: 3, len } if len > 10_000));
        assert_eq!(seen[2], Seen::Record(br#"{"b": 2}"#.to_vec()));
    }
}

/// Every frame, owned, with all its fields.
#[derive(Debug, PartialEq)]
enum F {
    Record(String, u64, u64, bool),
    ListOpen(String, String),
    Blank,
    TooLong(u64, u64, u64),
    Stray(u64, u64, bool),
}

/// The frames of `bytes` fed in `chunk`-byte pushes, the layout and the lines counted; every
/// chunking must give the same.
fn frames(bytes: &[u8], max_record: usize) -> (Vec<F>, Layout, u64) {
    let run = |chunk: usize| {
        let mut framer = Framer::new(max_record);
        let mut out = Vec::new();
        let mut emit = |frame: Frame<'_>| {
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            out.push(match frame {
                Frame::Record {
                    bytes,
                    line,
                    offset,
                    nested,
                } => F::Record(text(bytes), line, offset, nested),
                Frame::ListOpen { key, header } => F::ListOpen(text(key), text(header)),
                Frame::Blank => F::Blank,
                Frame::TooLong { line, offset, len } => F::TooLong(line, offset, len),
                Frame::Stray {
                    line,
                    offset,
                    unterminated,
                } => F::Stray(line, offset, unterminated),
            });
        };
        for piece in bytes.chunks(chunk.max(1)) {
            framer.push(piece, &mut emit);
        }
        framer.finish(&mut emit);
        (out, framer.layout, framer.lines)
    };
    let whole = run(bytes.len());
    for chunk in [1, 2, 7] {
        assert_eq!(
            run(chunk),
            whole,
            "chunk {chunk} of {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    whole
}

fn record(text: &str, line: u64, offset: u64) -> F {
    F::Record(text.to_string(), line, offset, false)
}

fn item(text: &str, line: u64, offset: u64) -> F {
    F::Record(text.to_string(), line, offset, true)
}

#[test]
fn a_line_of_exactly_the_limit_is_kept_and_one_byte_more_is_skipped() {
    // Ten bytes a line, limit ten: kept whole, however it arrives; eleven: skipped.
    let (seen, layout, lines) = frames(b"{\"a\":\"12\"}\n{\"b\":\"123\"}\n{\"c\":1}", 10);
    assert_eq!(layout, Layout::Lines);
    assert_eq!(
        seen,
        [
            record(r#"{"a":"12"}"#, 1, 0),
            F::TooLong(2, 11, 11),
            record(r#"{"c":1}"#, 3, 23)
        ]
    );
    assert_eq!(lines, 3);
}

#[test]
fn a_later_line_of_exactly_the_limit_is_kept_when_it_arrives_in_pieces() {
    // Once the layout is known, a line that arrives in pieces is held until its newline: at
    // exactly the limit it is still a record; a byte more and it is skipped.
    let (seen, layout, _) = frames(b"{\"c\":1}\n{\"a\":\"12\"}\n{\"b\":\"123\"}\n", 10);
    assert_eq!(layout, Layout::Lines);
    assert_eq!(
        seen,
        [
            record(r#"{"c":1}"#, 1, 0),
            record(r#"{"a":"12"}"#, 2, 8),
            F::TooLong(3, 19, 11)
        ]
    );
}

#[test]
fn objects_back_to_back_are_told_apart_when_the_first_is_exactly_the_limit() {
    // The layout waits for the byte after the first object, however the bytes arrive: here a
    // second object (Firehose deliveries), so the file is objects, not lines.
    let (seen, layout, _) = frames(b"{\"a\":\"12\"}{\"b\":1}\n", 10);
    assert_eq!(layout, Layout::Objects);
    assert_eq!(
        seen,
        [record(r#"{"a":"12"}"#, 1, 0), record(r#"{"b":1}"#, 1, 10)]
    );
}

#[test]
fn a_byte_order_mark_in_pieces_does_not_decide_the_layout() {
    // Found by fuzzing (the gzip target: inflated output arrives in small pieces): pushed a
    // byte at a time, the BOM's first byte was taken for the start of a line.
    let (seen, layout, _) = frames(b"\xEF\xBB\xBF[{\"a\":1}]\n", 10);
    assert_eq!(layout, Layout::Array);
    assert_eq!(seen, [record(r#"{"a":1}"#, 1, 4)]);
    let (_, layout, _) = frames(b"\xEF\xBB\xBF\x0c[[[[", 10);
    assert_eq!(layout, Layout::Array);
}

#[test]
fn an_over_long_last_line_without_a_newline_is_still_a_line() {
    let (seen, _, lines) = frames(b"{\"a\":1}\n{\"b\":\"123456789\"}", 10);
    assert_eq!(seen, [record(r#"{"a":1}"#, 1, 0), F::TooLong(2, 8, 17)]);
    assert_eq!(lines, 2);
}

#[test]
fn an_array_element_of_exactly_the_limit_is_kept_and_one_byte_more_is_skipped() {
    let (seen, layout, lines) = frames(b"[\n{\"a\":\"12\"},\n{\"b\":\"123\"}\n]\n", 10);
    assert_eq!(layout, Layout::Array);
    assert_eq!(seen, [record(r#"{"a":"12"}"#, 2, 2), F::TooLong(3, 14, 11)]);
    assert_eq!(lines, 4);
}

#[test]
fn an_event_list_streams_its_items_after_its_header() {
    let list = br#"{"kind":"EventList","metadata":{"items":[1]},"items":[{"a":1},{"b":2}]}
{"kind":"EventList","items":[]}
"#;
    let header = r#"{"kind":"EventList","metadata":{"items":[1]},"items":"#;
    let (seen, layout, lines) = frames(list, 1000);
    assert_eq!(layout, Layout::Lines, "one object a line");
    // In the lines layout a list is one record; the record parser reads its items.
    assert_eq!(seen.len(), 2);
    let pretty =
        "{\n  \"kind\": \"EventList\",\n  \"items\": [\n    {\"a\": 1},\n    {\"b\": 2}\n  ]\n}\n";
    let (seen, layout, lines_pretty) = frames(pretty.as_bytes(), 1000);
    assert_eq!(layout, Layout::Objects);
    assert_eq!(
        seen,
        [
            F::ListOpen(
                "items".into(),
                "{\n  \"kind\": \"EventList\",\n  \"items\": ".into()
            ),
            item(r#"{"a": 1}"#, 4, 42),
            item(r#"{"b": 2}"#, 5, 56),
        ]
    );
    assert_eq!((lines, lines_pretty), (2, 7));
    // A list key inside a nested object is not the wrapper's; the top-level one is, and the
    // header ends at it, however long the header was, up to the limit.
    let nested = format!("{{\n{}[{{\"a\":1}}]}}\n", &header[1..]);
    let (seen, _, _) = frames(nested.as_bytes(), 1000);
    assert_eq!(
        seen[0],
        F::ListOpen("items".into(), format!("{{\n{}", &header[1..]))
    );
    assert_eq!(seen[1], item(r#"{"a":1}"#, 2, 55));
    let (seen, _, _) = frames(nested.as_bytes(), 20);
    assert_eq!(
        seen[0],
        F::ListOpen("items".into(), String::new()),
        "a header past the limit"
    );
    // A header of exactly the limit is kept; one byte more is not.
    let kept = format!("{{\n{}", &header[1..]);
    let (seen, _, _) = frames(nested.as_bytes(), kept.len());
    assert_eq!(seen[0], F::ListOpen("items".into(), kept.clone()));
    let (seen, _, _) = frames(nested.as_bytes(), kept.len() - 1);
    assert_eq!(seen[0], F::ListOpen("items".into(), String::new()));
}

#[test]
fn elements_of_an_array_after_a_wrapper_are_not_its_items() {
    let doc = b"{\n\"items\": [{\"a\":1}]}\n[\n{\"b\":2}\n]\n";
    let (seen, _, _) = frames(doc, 1000);
    assert_eq!(
        seen,
        [
            F::ListOpen("items".into(), "{\n\"items\": ".into()),
            item(r#"{"a":1}"#, 2, 12),
            record(r#"{"b":2}"#, 4, 24),
        ]
    );
}

#[test]
fn only_a_list_right_after_its_key_is_streamed() {
    // `items` holds a number, then another key holds an array: nothing is a wrapper.
    let doc = b"{\n\"items\": 5, \"x\": [1, 2]}\n";
    let (seen, _, _) = frames(doc, 1000);
    assert_eq!(seen, [record("{\n\"items\": 5, \"x\": [1, 2]}", 1, 0)]);
    // A list key in an element of a top-level array is not a wrapper either.
    let doc = b"[\n{\"items\":[{\"a\":1}]}\n]\n";
    let (seen, _, _) = frames(doc, 1000);
    assert_eq!(seen, [record(r#"{"items":[{"a":1}]}"#, 2, 2)]);
    // A key that only starts like a list key is not one.
    let doc = b"{\n\"itemsAndMore\": [{\"a\":1}]}\n";
    let (seen, _, _) = frames(doc, 1000);
    assert_eq!(seen.len(), 1, "{seen:?}");
    // In a broken document, a list after a value (a number, or a string that reads like a
    // list key) is not the wrapper's list: the document stays one record, which the parser
    // then reports.
    for doc in [
        "{\n\"items\": 5 [{\"a\":1}]}\n",
        "{\n\"note\": \"items\" [{\"a\":1}]}\n",
    ] {
        let (seen, _, _) = frames(doc.as_bytes(), 1000);
        assert_eq!(seen, [record(doc.trim_end(), 1, 0)], "{doc:?}");
    }
}

#[test]
fn text_between_documents_is_reported_where_it_starts() {
    let doc = b"{\n\"a\": 1\n}\nnot json\n{\n\"b\": 2\n}\n";
    let (seen, layout, lines) = frames(doc, 1000);
    assert_eq!(layout, Layout::Objects);
    assert_eq!(
        seen,
        [
            record("{\n\"a\": 1\n}", 1, 0),
            F::Stray(4, 11, false),
            record("{\n\"b\": 2\n}", 5, 20),
        ]
    );
    assert_eq!(lines, 7);
}

#[test]
fn a_document_left_open_is_reported_where_its_record_starts() {
    // An object cut short: reported at its start; the last line counts without a newline.
    let (seen, _, lines) = frames(b"{\n\"a\": 1\n}\n{\n\"b\": [1,", 1000);
    assert_eq!(
        seen,
        [record("{\n\"a\": 1\n}", 1, 0), F::Stray(4, 11, true)]
    );
    assert_eq!(lines, 5);
    // An array cut between elements: reported at the end, where it stopped.
    let (seen, _, lines) = frames(b"[\n{\"a\":1},\n", 1000);
    assert_eq!(seen, [record(r#"{"a":1}"#, 2, 2), F::Stray(2, 11, true)]);
    assert_eq!(lines, 2);
    // A string element left open is handed on as it is (the record parser rejects it), and
    // the array is reported open where the file stops.
    let (seen, _, _) = frames(b"[\n\"abc", 1000);
    assert_eq!(seen, [record("\"abc", 2, 2), F::Stray(2, 6, true)]);
    // A scalar element that ends the file is a record.
    let (seen, _, _) = frames(b"[1, 2", 1000);
    assert_eq!(seen[..2], [record("1", 1, 1), record("2", 1, 4)]);
}

#[test]
fn the_layout_is_told_from_the_first_line() {
    let layout = |bytes: &[u8]| frames(bytes, 1000).1;
    // An object alone on its first line, or a short first line that leaves one open: objects.
    assert_eq!(layout(b"{\n\"a\": 1\n}\n"), Layout::Objects);
    assert_eq!(
        layout(b"{\"kind\":\"EventList\",\"items\":[\n{\"a\":1}]}\n"),
        Layout::Objects
    );
    // Objects back to back on one line (Firehose), even with braces inside strings.
    assert_eq!(layout(br#"{"a":"{"}{"b":1}"#), Layout::Objects);
    assert_eq!(layout(br#"{"a":"}"} {"b":1}"#), Layout::Objects);
    // A whole object and a newline, or one object and nothing else: lines.
    assert_eq!(layout(b"{\"a\":1}\n{\"b\":2}\n"), Layout::Lines);
    assert_eq!(layout(br#"{"a":1}"#), Layout::Lines);
    // A first line cut short by its producer, or too long to be a pretty-printer's opening:
    // lines, so that one broken line does not swallow the next.
    assert_eq!(
        layout(b"{\"a\":{\"b\":1[Truncated...]\n{\"c\":1}\n"),
        Layout::Lines
    );
    let long = format!("{{\"a\":\"{}\",\"b\":{{\n{{\"c\":1}}\n", "x".repeat(300));
    assert_eq!(layout(long.as_bytes()), Layout::Lines);
    // A first line that closes more than it opens is broken too.
    assert_eq!(layout(b"{\"a\":1}}\n{\"c\":1}\n"), Layout::Lines);
    // Arrays, blank files.
    assert_eq!(layout(b"  [\n]"), Layout::Array);
    assert_eq!(layout(b"\n\n"), Layout::Lines);
}

#[test]
fn a_first_line_that_leaves_an_object_open_is_a_pretty_document_only_when_short() {
    for (len, layout) in [(255, Layout::Objects), (256, Layout::Lines)] {
        let mut doc = String::from("{\"a\": \"");
        doc.push_str(&"x".repeat(len - doc.len() - 2));
        doc.push_str("\",\n\"b\": 1\n}\n");
        assert_eq!(doc.find('\n'), Some(len));
        assert_eq!(
            frames(doc.as_bytes(), 1000).1,
            layout,
            "a first line of {len} bytes"
        );
    }
}

#[test]
fn objects_back_to_back_on_the_first_line_are_objects_however_the_bytes_arrive() {
    let (seen, layout, _) = frames(b"{\"a\":1}{\"b\":2}\n", 1000);
    assert_eq!(layout, Layout::Objects);
    assert_eq!(
        seen,
        [record(r#"{"a":1}"#, 1, 0), record(r#"{"b":2}"#, 1, 7)]
    );
}

#[test]
fn a_file_that_is_only_the_start_of_a_byte_order_mark_is_a_line() {
    let (seen, layout, lines) = frames(b"\xEF\xBB", 1000);
    assert_eq!((layout, lines), (Layout::Lines, 1));
    assert_eq!(seen.len(), 1, "{seen:?}");
}
