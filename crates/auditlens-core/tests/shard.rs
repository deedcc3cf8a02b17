//! A file read in parts on separate shards and appended gives exactly what one pass gives:
//! the same events (down to interned ids), rule hits, diagnostics, counts and findings.

#![allow(clippy::disallowed_methods, clippy::unwrap_used)]

use std::path::PathBuf;

use auditlens_core::{Analysis, FileId, Limits, PartError};

fn read(relative: &str) -> Vec<u8> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read(root.join(relative)).unwrap()
}

fn fingerprint(analysis: &Analysis) -> String {
    let mut out = serde_json::to_string_pretty(&analysis.report()).unwrap();
    for event in analysis.requests() {
        out.push_str(&format!(
            "\n{event:?} {:?}",
            analysis.rule_hits(event.audit_id)
        ));
    }
    out
}

fn one_pass(name: &str, bytes: &[u8]) -> Analysis {
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file(name);
    analysis.push(file, bytes);
    analysis.finish();
    analysis
}

/// Where the parts of `len` bytes cut at `cuts` start and end: 0, the cuts, `len`.
fn bounds(cuts: &[usize], len: usize) -> Vec<usize> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(len);
    bounds
}

/// Appends `bytes`, the whole of `file`, as parts cut at `cuts` (byte positions just after a
/// newline), each read on a shard in 4096-byte chunks.
fn append_in_parts(analysis: &mut Analysis, file: FileId, bytes: &[u8], cuts: &[usize]) {
    for part in bounds(cuts, bytes.len()).windows(2) {
        let mut shard = analysis.shard(file, part[0] as u64);
        for chunk in bytes[part[0]..part[1]].chunks(4096) {
            shard.push(chunk);
        }
        if part[1] == bytes.len() {
            shard.finish();
        }
        assert!(
            analysis.append_shard(shard).is_ok(),
            "part {part:?} refused"
        );
    }
}

/// Reads `bytes` as parts cut at `cuts`, each on a shard, appended in order.
fn sharded(name: &str, bytes: &[u8], cuts: &[usize]) -> Analysis {
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file(name);
    append_in_parts(&mut analysis, file, bytes, cuts);
    analysis.finish();
    analysis
}

fn line_starts(bytes: &[u8]) -> Vec<usize> {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .map(|(i, _)| i + 1)
        .filter(|&i| i < bytes.len())
        .collect()
}

/// Asserts that `bytes` cut at every `step`-th line start, for each of `steps` (many parts at
/// once), gives `expected`.
fn assert_cut_every(name: &str, bytes: &[u8], expected: &str, steps: &[usize]) {
    let starts = line_starts(bytes);
    for &step in steps {
        let cuts: Vec<usize> = starts.iter().copied().step_by(step).collect();
        assert_eq!(
            fingerprint(&sharded(name, bytes, &cuts)),
            expected,
            "a cut every {step} lines"
        );
    }
}

#[test]
fn every_cut_of_a_real_log_gives_the_one_pass_result() {
    let bytes = read("tests/fixtures/third-party/audit2rbac/demo.v1beta1.ndjson");
    let expected = fingerprint(&one_pass("demo.log", &bytes));
    let starts = line_starts(&bytes);
    // Every 7th line boundary, so stages of one request fall on both sides of some cut.
    for &cut in starts.iter().step_by(7) {
        assert_eq!(
            fingerprint(&sharded("demo.log", &bytes, &[cut])),
            expected,
            "cut at {cut}"
        );
    }
    let thirds = [starts[starts.len() / 3], starts[2 * starts.len() / 3]];
    assert_eq!(fingerprint(&sharded("demo.log", &bytes, &thirds)), expected);
    // Many parts at once: stages cross cuts between appended parts, not only the first one.
    assert_cut_every("demo.log", &bytes, &expected, &[2, 3, 5]);
}

#[test]
fn a_log_read_twice_in_many_parts_merges_every_repeat() {
    // The second copy repeats every auditID of the first: each of its requests joins one kept
    // from an earlier part, appended or taken over.
    let once = read("tests/fixtures/third-party/audit2rbac/demo.v1beta1.ndjson");
    let twice = [once.clone(), once].concat();
    let expected = fingerprint(&one_pass("twice.log", &twice));
    assert_cut_every("twice.log", &twice, &expected, &[1, 4, 9]);
}

#[test]
fn a_file_read_in_one_pass_after_parts_joins_their_requests() {
    // The second file repeats auditIDs of the first, whose requests were appended in parts.
    let first = read("tests/fixtures/third-party/audit2rbac/demo.v1beta1.ndjson");
    let second = read("tests/fixtures/third-party/audit2rbac/demo.v1beta1.ndjson");
    let starts = line_starts(&first);
    let cuts: Vec<usize> = starts.iter().copied().step_by(4).collect();
    let mut parted = Analysis::new(Limits::default());
    let a = parted.add_file("a.log");
    append_in_parts(&mut parted, a, &first, &cuts);
    parted.finish_file(a);
    let b = parted.add_file("b.log");
    parted.push(b, &second);
    parted.finish();
    let mut single = Analysis::new(Limits::default());
    let a = single.add_file("a.log");
    single.push(a, &first);
    let b = single.add_file("b.log");
    single.push(b, &second);
    single.finish();
    assert_eq!(fingerprint(&parted), fingerprint(&single));
}

#[test]
fn rule_hits_diagnostics_and_findings_survive_the_cut() {
    let mut bytes = read("tests/fixtures/third-party/falco/events.ndjson");
    bytes.extend_from_slice(&read("tests/fixtures/ingest/bad-lines.jsonl"));
    bytes.push(b'\n');
    let single = one_pass("mixed.log", &bytes);
    assert!(!single.findings().is_empty());
    assert!(!single.diagnostics().is_empty());
    let expected = fingerprint(&single);
    for &cut in line_starts(&bytes).iter() {
        assert_eq!(
            fingerprint(&sharded("mixed.log", &bytes, &[cut])),
            expected,
            "cut at {cut}"
        );
    }
}

#[test]
fn a_part_that_is_not_plain_native_lines_is_refused_unchanged() {
    let lines = read("tests/fixtures/third-party/audit2rbac/demo.v1beta1.ndjson");
    let wrapped = read("tests/fixtures/third-party/aks-sysdig/eventhub-records.ndjson");
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file("mixed.log");
    let mut first = analysis.shard(file, 0);
    first.push(&lines);
    assert!(analysis.append_shard(first).is_ok());
    let before = fingerprint(&analysis);
    let mut second = analysis.shard(file, lines.len() as u64);
    second.push(&wrapped);
    second.finish();
    assert!(analysis.append_shard(second).is_err());
    assert_eq!(fingerprint(&analysis), before);
}

#[test]
fn a_file_sharded_after_another_gives_the_one_pass_result() {
    // The second file's first part joins requests, strings and hits already held; auditIDs
    // that are not UUIDs (interned) and ones that are (held by value) both cross the cut.
    let first = read("tests/fixtures/third-party/falco/events.ndjson");
    let mut second = read("tests/fixtures/ingest/bad-lines.jsonl");
    second.push(b'\n');
    second.extend_from_slice(&read(
        "tests/fixtures/third-party/audit2rbac/demo.v1beta1.ndjson",
    ));
    let both = |cuts: &[usize]| {
        let mut analysis = Analysis::new(Limits::default());
        let a = analysis.add_file("a.log");
        let b = analysis.add_file("b.log");
        analysis.push(a, &first);
        analysis.finish_file(a);
        append_in_parts(&mut analysis, b, &second, cuts);
        analysis.finish();
        fingerprint(&analysis)
    };
    // Each file is finished when it has been read, as the CLI and the page do.
    let mut single = Analysis::new(Limits::default());
    let a = single.add_file("a.log");
    let b = single.add_file("b.log");
    single.push(a, &first);
    single.finish_file(a);
    single.push(b, &second);
    single.finish();
    let expected = fingerprint(&single);
    assert_eq!(both(&[]), expected);
    let starts = line_starts(&second);
    for &cut in starts.iter().step_by(11) {
        assert_eq!(both(&[cut]), expected, "cut at {cut}");
    }
}

/// Reads the part before the first cut straight into the analysis and every later part on a
/// shard that travels as bytes, as the page's Web Workers do.
fn via_bytes(name: &str, bytes: &[u8], cuts: &[usize]) -> Analysis {
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file(name);
    let bounds = bounds(cuts, bytes.len());
    analysis.push(file, &bytes[..bounds[1]]);
    for part in bounds.windows(2).skip(1) {
        // The part is read where only the file names are known.
        let mut elsewhere = Analysis::new(Limits::default());
        let there = elsewhere.add_file(name);
        let mut shard = elsewhere.shard(there, part[0] as u64);
        shard.push(&bytes[part[0]..part[1]]);
        if part[1] == bytes.len() {
            shard.finish();
        }
        let sent = shard.into_bytes().expect("a plain part");
        assert_eq!(analysis.append_shard_bytes(file, &sent), Ok(()));
    }
    analysis.finish();
    analysis
}

#[test]
fn parts_sent_as_bytes_give_the_one_pass_result() {
    let mut bytes = read("tests/fixtures/third-party/falco/events.ndjson");
    bytes.extend_from_slice(&read("tests/fixtures/ingest/bad-lines.jsonl"));
    bytes.push(b'\n');
    bytes.extend_from_slice(&read(
        "tests/fixtures/third-party/audit2rbac/demo.v1beta1.ndjson",
    ));
    let expected = fingerprint(&one_pass("mixed.log", &bytes));
    let starts = line_starts(&bytes);
    for &cut in starts.iter().step_by(13) {
        assert_eq!(
            fingerprint(&via_bytes("mixed.log", &bytes, &[cut])),
            expected,
            "cut at {cut}"
        );
    }
    let quarters: Vec<usize> = (1..4).map(|k| starts[k * starts.len() / 4]).collect();
    assert_eq!(
        fingerprint(&via_bytes("mixed.log", &bytes, &quarters)),
        expected
    );
}

/// A part of the audit2rbac log that starts at line `from` and holds `count` lines, as bytes,
/// with the analysis that holds the lines before it.
fn part_after(lines: &[u8], from: usize, count: usize) -> (Analysis, FileId, Vec<u8>) {
    let starts = line_starts(lines);
    let cut = starts[from];
    let end = starts.get(from + count).copied().unwrap_or(lines.len());
    let mut elsewhere = Analysis::new(Limits::default());
    let there = elsewhere.add_file("demo.log");
    let mut shard = elsewhere.shard(there, cut as u64);
    shard.push(&lines[cut..end]);
    let bytes = shard.into_bytes().unwrap();
    let (analysis, file) = lines_before(lines, from);
    (analysis, file, bytes)
}

/// An analysis that has read the lines of `lines` before line `from` + 2 (a part's start).
fn lines_before(lines: &[u8], from: usize) -> (Analysis, FileId) {
    let cut = line_starts(lines)[from];
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file("demo.log");
    analysis.push(file, &lines[..cut]);
    (analysis, file)
}

/// `bytes` with its trailing CRC-32 made to fit its (changed) payload again.
fn resealed(mut bytes: Vec<u8>) -> Vec<u8> {
    let payload = bytes.len() - 4;
    let mut crc = flate2::Crc::new();
    crc.update(&bytes[..payload]);
    bytes[payload..].copy_from_slice(&crc.sum().to_le_bytes());
    bytes
}

#[test]
fn every_single_flipped_byte_of_a_part_is_refused() {
    let lines = read("tests/fixtures/third-party/audit2rbac/demo.v1beta1.ndjson");
    let (mut analysis, file, sent) = part_after(&lines, 100, 12);
    let before = fingerprint(&analysis);
    for i in 0..sent.len() {
        for bit in [0x01, 0x80] {
            let mut flipped = sent.clone();
            flipped[i] ^= bit;
            assert_eq!(
                analysis.append_shard_bytes(file, &flipped),
                Err(PartError::Corrupt),
                "byte {i} of {} flipped by {bit:#04x}",
                sent.len()
            );
        }
    }
    assert_eq!(
        fingerprint(&analysis),
        before,
        "refused parts changed nothing"
    );
    assert_eq!(analysis.append_shard_bytes(file, &sent), Ok(()));
}

/// Past the checksum (a part changed and sealed again, which only a forger does: parts come
/// from the same engine in another worker), every flipped byte is either refused, changing
/// nothing, or read without a panic into an analysis that finishes and reports.
#[test]
fn a_resealed_part_with_a_flipped_byte_is_refused_or_read_without_a_panic() {
    let lines = read("tests/fixtures/third-party/audit2rbac/demo.v1beta1.ndjson");
    let (template, _, sent) = part_after(&lines, 2, 6);
    let before = fingerprint(&template);
    let (mut refused, mut read_in) = (0, 0);
    for i in 0..sent.len() - 4 {
        let mut flipped = sent.clone();
        flipped[i] ^= 0x5a;
        let (mut analysis, file) = lines_before(&lines, 2);
        match analysis.append_shard_bytes(file, &resealed(flipped)) {
            Err(PartError::Corrupt) => {
                refused += 1;
                assert_eq!(
                    fingerprint(&analysis),
                    before,
                    "byte {i}: refused, unchanged"
                );
            }
            Err(PartError::Refused) => panic!("byte {i}: the file could continue"),
            Ok(()) => {
                read_in += 1;
                analysis.finish();
                let report = serde_json::to_string(&analysis.report()).unwrap();
                assert!(report.contains("demo.log"), "byte {i}");
            }
        }
    }
    assert!(
        refused > 0 && read_in > 0,
        "{refused} refused, {read_in} read"
    );
}

#[test]
fn damaged_or_unfitting_part_bytes_change_nothing() {
    let lines = read("tests/fixtures/third-party/audit2rbac/demo.v1beta1.ndjson");
    let (mut analysis, file, sent) = part_after(&lines, 100, 657);
    let before = fingerprint(&analysis);
    for damaged in [
        &sent[..sent.len() / 2],
        &sent[1..],
        &sent[..sent.len() - 1],
        &b"not a part"[..],
        &[][..],
    ] {
        assert_eq!(
            analysis.append_shard_bytes(file, damaged),
            Err(PartError::Corrupt)
        );
    }
    assert_eq!(fingerprint(&analysis), before);
    // A file that was finished cannot continue.
    analysis.finish_file(file);
    assert_eq!(
        analysis.append_shard_bytes(file, &sent),
        Err(PartError::Refused)
    );
    // A part of wrapped (not native) records does not travel.
    let wrapped = read("tests/fixtures/third-party/aks-sysdig/eventhub-records.ndjson");
    let mut elsewhere = Analysis::new(Limits::default());
    let there = elsewhere.add_file("mixed.log");
    let mut shard = elsewhere.shard(there, 1000);
    shard.push(&wrapped);
    shard.finish();
    assert!(shard.into_bytes().is_none());
}

/// Requests written without an auditID are named by where their record is; in a part, that is
/// counted from the part's start and moved when the part is appended, so every cut, in memory
/// or as bytes, gives the one-pass ids (the fingerprint holds each request's id).
#[test]
fn requests_without_an_auditid_keep_their_ids_across_parts() {
    let trimmed = read("tests/fixtures/trimmed/events.jsonl");
    // The native lines of the trimmed fixture (1-4), many times over, and a real log.
    let native: Vec<&[u8]> = trimmed.split_inclusive(|&b| b == b'\n').take(4).collect();
    let mut bytes = Vec::new();
    for _ in 0..25 {
        bytes.extend(native.concat());
    }
    bytes.extend(read("tests/fixtures/third-party/falco/events.ndjson"));
    let expected = fingerprint(&one_pass("mixed.log", &bytes));
    assert_cut_every("mixed.log", &bytes, &expected, &[1, 7, 40]);
    for &cut in line_starts(&bytes).iter().step_by(9) {
        assert_eq!(
            fingerprint(&via_bytes("mixed.log", &bytes, &[cut])),
            expected,
            "cut at {cut}"
        );
    }
}

/// The audit2rbac log's first `count` lines, and the byte where the next one starts.
fn first_lines(lines: &[u8], count: usize) -> usize {
    line_starts(lines)[count - 1]
}

#[test]
fn a_part_that_stops_inside_a_line_is_refused_unchanged() {
    let lines = read("tests/fixtures/third-party/audit2rbac/demo.v1beta1.ndjson");
    let cut = first_lines(&lines, 10);
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file("audit.log");
    analysis.push(file, &lines[..cut]);
    let before = fingerprint(&analysis);
    // Twenty bytes into the eleventh line, not finished: the rest of that line is elsewhere.
    let mut shard = analysis.shard(file, cut as u64);
    shard.push(&lines[cut..cut + 20]);
    assert!(analysis.append_shard(shard).is_err());
    assert_eq!(fingerprint(&analysis), before);

    // The reader the part would follow stops inside a line itself.
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file("audit.log");
    analysis.push(file, &lines[..cut + 20]);
    let before = fingerprint(&analysis);
    let mut shard = analysis.shard(file, cut as u64 + 20);
    shard.push(&lines[first_lines(&lines, 11)..first_lines(&lines, 12)]);
    assert!(analysis.append_shard(shard).is_err());
    assert_eq!(fingerprint(&analysis), before);
}

#[test]
fn a_part_that_stops_inside_a_line_too_long_to_keep_is_refused() {
    // A line longer than the record limit is skipped as it streams, so nothing is carried
    // over; the reader is still inside it.
    let limits = Limits {
        max_record_bytes: 1024,
        ..Limits::default()
    };
    let mut long = br#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","x":""#.to_vec();
    long.extend(std::iter::repeat_n(b'a', 4096));
    let mut analysis = Analysis::new(limits);
    let file = analysis.add_file("audit.log");
    analysis.push(file, &long);
    let before = fingerprint(&analysis);
    let mut shard = analysis.shard(file, long.len() as u64);
    shard.push(b"aaaa\"}\n");
    assert!(analysis.append_shard(shard).is_err());
    assert_eq!(fingerprint(&analysis), before);
}

#[test]
fn a_part_after_a_json_array_is_refused() {
    // An array ends between lines too, but its elements are not lines: a part of lines
    // cannot follow it.
    let array = read("tests/fixtures/ingest/array-pretty.json");
    let lines = read("tests/fixtures/third-party/audit2rbac/demo.v1beta1.ndjson");
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file("audit.json");
    analysis.push(file, &array);
    let before = fingerprint(&analysis);
    let mut shard = analysis.shard(file, array.len() as u64);
    shard.push(&lines);
    assert!(analysis.append_shard(shard).is_err());
    assert_eq!(fingerprint(&analysis), before);
}

#[test]
fn reading_on_after_appended_parts_keeps_lines_and_offsets() {
    // The first and last parts are read by the analysis itself, the middle ones elsewhere
    // (a shard, and a shard sent as bytes): where the last part's events lie in the file
    // must come out as in one pass.
    let mut bytes = read("tests/fixtures/third-party/audit2rbac/demo.v1beta1.ndjson");
    bytes.extend_from_slice(&read("tests/fixtures/ingest/bad-lines.jsonl"));
    let starts = line_starts(&bytes);
    let expected = fingerprint(&one_pass("audit.log", &bytes));
    let cuts = [starts[100], starts[300], starts[starts.len() - 20]];
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file("audit.log");
    analysis.push(file, &bytes[..cuts[0]]);
    let mut shard = analysis.shard(file, cuts[0] as u64);
    shard.push(&bytes[cuts[0]..cuts[1]]);
    assert!(analysis.append_shard(shard).is_ok());
    let mut elsewhere = Analysis::new(Limits::default());
    let there = elsewhere.add_file("audit.log");
    let mut shard = elsewhere.shard(there, cuts[1] as u64);
    shard.push(&bytes[cuts[1]..cuts[2]]);
    let sent = shard.into_bytes().expect("a plain part");
    assert_eq!(analysis.append_shard_bytes(file, &sent), Ok(()));
    analysis.push(file, &bytes[cuts[2]..]);
    analysis.finish();
    assert_eq!(fingerprint(&analysis), expected);
}
