//! Golden tests of the real `auditlens` binary: output formats, exit codes, stdin, bad input.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `auditlens ARGS` from the repository root, so paths in the output are stable.
fn auditlens(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditlens"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

const AUDIT2RBAC: &str = "tests/fixtures/third-party/audit2rbac/demo.v1beta1.ndjson";
const FALCO: &str = "tests/fixtures/third-party/falco/events.ndjson";
const BAD_LINES: &str = "tests/fixtures/ingest/bad-lines.jsonl";

#[test]
fn table_output_fits_80_columns() {
    let output = auditlens(&["analyze", AUDIT2RBAC, BAD_LINES]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line:?}");
    }
    insta::assert_snapshot!("analyze_table", text);
}

#[test]
fn json_output_is_one_document_with_summary_files_and_diagnostics() {
    let output = auditlens(&["analyze", "--format", "json", AUDIT2RBAC, BAD_LINES]);
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let summary = &report["summary"];
    assert_eq!(summary["lines"], 757 + 13);
    assert_eq!(summary["events"], 757 + 6);
    // The good events of bad-lines.jsonl are copies of the first audit2rbac events: the same
    // requests. Only the recovered truncated event has an auditID of its own.
    assert_eq!(summary["requests"], 437 + 1);
    assert_eq!(summary["first"], "2017-09-11T19:55:05.000000Z");
    let files = summary["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["path"], AUDIT2RBAC);
    assert_eq!(files[0]["format"], "JSON lines");
    assert_eq!(files[1]["diagnostics"], 8);
    let diagnostics = report["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 9);
    // The first file's one warning, said when it was read: its events carry no user agent.
    assert_eq!(diagnostics[0]["file"], AUDIT2RBAC);
    assert_eq!(diagnostics[0]["kind"], "missing-fields");
    assert_eq!(diagnostics[1]["file"], BAD_LINES);
    assert_eq!(diagnostics[1]["line"], 2);
    assert_eq!(diagnostics[1]["kind"], "malformed-json");
    assert!(report["findings"].is_array());
    insta::assert_snapshot!(
        "analyze_json_diagnostics",
        serde_json::to_string_pretty(&report["diagnostics"]).unwrap()
    );
}

#[test]
fn jsonl_has_one_finding_per_line_with_the_documented_fields() {
    let output = auditlens(&["analyze", "--format", "jsonl", FALCO]);
    assert_eq!(output.status.code(), Some(0));
    let json = stdout(&auditlens(&["analyze", "--format", "json", FALCO]));
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let expected: Vec<&serde_json::Value> = report["findings"].as_array().unwrap().iter().collect();
    assert!(expected.len() > 20, "{} findings", expected.len());
    let text = stdout(&output);
    assert_eq!(text.lines().count(), expected.len(), "one line per finding");
    for (line, same) in text.lines().zip(&expected) {
        let finding: serde_json::Value = serde_json::from_str(line).unwrap();
        for field in [
            "auditID",
            "timestamp",
            "identity",
            "verb",
            "resource",
            "namespace",
            "severity",
            "score",
            "reasons",
            "rules",
            "file",
            "line",
        ] {
            assert!(finding.get(field).is_some(), "{field} missing in {line}");
        }
        assert!(finding["score"].as_u64().unwrap() <= 100);
        assert_eq!(finding["file"], FALCO);
        assert_eq!(
            &&finding, same,
            "the same finding as in --format json, in order"
        );
    }
}

#[test]
fn csv_has_a_header_and_one_row_per_finding() {
    let jsonl = stdout(&auditlens(&["analyze", "--format", "jsonl", FALCO]));
    let output = auditlens(&["analyze", "--format", "csv", FALCO]);
    assert_eq!(output.status.code(), Some(0));
    let mut reader = csv::Reader::from_reader(output.stdout.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[0], "auditID");
    assert_eq!(header.len(), 13);
    let ids: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[0].to_string())
        .collect();
    let expected: Vec<String> = jsonl
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["auditID"].clone())
        // A request known by its place in the file has no auditID: an empty cell.
        .map(|id| id.as_str().unwrap_or("").to_string())
        .collect();
    assert!(expected.len() > 20, "{} findings", expected.len());
    assert_eq!(ids, expected, "one row per finding, in the same order");
}

#[test]
fn stdin_is_read_with_a_dash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_auditlens"))
        .args(["analyze", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(repo_root().join(AUDIT2RBAC)).unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let output = child.wait_with_output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["summary"]["requests"], 437);
    assert_eq!(report["summary"]["files"][0]["path"], "-");
}

#[test]
fn gzip_files_are_read_whatever_their_name() {
    let dir = std::env::temp_dir().join(format!("auditlens-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("audit-2026-03-01T10-00-00.000.log.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all(&std::fs::read(repo_root().join(AUDIT2RBAC)).unwrap())
        .unwrap();
    std::fs::write(&path, encoder.finish().unwrap()).unwrap();
    let output = auditlens(&["analyze", "--format", "json", path.to_str().unwrap()]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["summary"]["requests"], 437);
    assert_eq!(report["summary"]["files"][0]["format"], "JSON lines (gzip)");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unreadable_file_exits_2_after_analysing_the_others() {
    let output = auditlens(&[
        "analyze",
        "--format",
        "json",
        "no/such/file.log",
        AUDIT2RBAC,
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no/such/file.log"),
        "{}",
        stderr(&output)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["summary"]["requests"], 437);
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(auditlens(&["analyze"]).status.code(), Some(2));
    let bad = auditlens(&["analyze", "--fail-on", "scary", AUDIT2RBAC]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("is not a severity"));
    assert_eq!(auditlens(&["--help"]).status.code(), Some(0));
}

#[test]
fn fail_on_exits_1_only_when_a_finding_reaches_the_threshold() {
    const ORDER: [&str; 5] = ["info", "low", "medium", "high", "critical"];
    let rank = |s: &str| ORDER.iter().position(|x| *x == s);
    let mut codes = BTreeSet::new();
    // The Falco events reach critical; the audit2rbac log stops at medium.
    for file in [FALCO, AUDIT2RBAC] {
        let json = stdout(&auditlens(&["analyze", "--format", "json", file]));
        let report: serde_json::Value = serde_json::from_str(&json).unwrap();
        let severities: Vec<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["severity"].as_str().unwrap())
            .collect();
        assert!(!severities.is_empty(), "{file}: no findings");
        for threshold in ORDER {
            let expected = severities.iter().any(|s| rank(s) >= rank(threshold));
            let output = auditlens(&["analyze", "--fail-on", threshold, file]);
            assert_eq!(
                output.status.code(),
                Some(i32::from(expected)),
                "{file}: --fail-on {threshold}"
            );
            codes.insert(expected);
        }
    }
    assert_eq!(codes.len(), 2, "both outcomes were tried");
}

#[test]
fn stats_counts_by_dimension() {
    let output = auditlens(&["stats", "--json", AUDIT2RBAC]);
    assert_eq!(output.status.code(), Some(0));
    let stats: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(stats["requests"], 437);
    let identities = stats["identities"].as_array().unwrap();
    let total: u64 = identities
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert!(total <= 437);
    insta::assert_snapshot!("stats_table", stdout(&auditlens(&["stats", AUDIT2RBAC])));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_auditlens"))
        .args(["simulate", "--preset", "bench", "--size", "50MB"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 4096];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut head)
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
}

#[test]
fn simulate_is_deterministic_and_analysable() {
    let a = auditlens(&[
        "simulate", "--preset", "bench", "--size", "2MB", "--seed", "7",
    ]);
    let b = auditlens(&[
        "simulate", "--preset", "bench", "--size", "2MB", "--seed", "7",
    ]);
    assert_eq!(a.status.code(), Some(0));
    assert_eq!(a.stdout, b.stdout);
    assert!(a.stdout.len() >= 2_000_000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_auditlens"))
        .args(["analyze", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&a.stdout).unwrap();
    let output = child.wait_with_output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["summary"]["diagnostics"], 0);
    assert_eq!(report["summary"]["rejected"], 0);
    assert!(report["summary"]["requests"].as_u64().unwrap() > 1000);
}

#[test]
fn rules_lists_the_catalog_with_attack_ids_and_levels() {
    let output = auditlens(&["rules", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let rules: Vec<serde_json::Value> = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(rules.len() >= 80, "{} rules", rules.len());
    let mut ids = std::collections::BTreeSet::new();
    for rule in &rules {
        assert!(
            ids.insert(rule["id"].as_str().unwrap().to_string()),
            "duplicate {rule}"
        );
        assert!(["info", "low", "medium", "high", "critical"]
            .contains(&rule["severity"].as_str().unwrap()));
        assert!(rule["level"].is_string());
        assert!(rule["techniques"].is_array());
    }
    let table = stdout(&auditlens(&["rules"]));
    assert!(table.contains("k8s.pod.privileged"));
}

#[test]
fn a_config_file_switches_rules_off_and_bad_ones_are_named() {
    let dir = std::env::temp_dir().join(format!("auditlens-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let off = dir.join("off.toml");
    std::fs::write(&off, "disabled = [\"k8s\"]\n").unwrap();
    let rules_of = |args: &[&str]| -> usize {
        let report: serde_json::Value = serde_json::from_str(&stdout(&auditlens(args))).unwrap();
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rules"].as_array().unwrap().len())
            .sum()
    };
    assert!(rules_of(&["analyze", "--format", "json", FALCO]) > 0);
    let off_arg = off.to_str().unwrap();
    assert_eq!(
        rules_of(&["analyze", "--format", "json", "--config", off_arg, FALCO]),
        0
    );
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "disabled = 3\n").unwrap();
    let output = auditlens(&["analyze", "--config", bad.to_str().unwrap(), FALCO]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("bad.toml"), "{}", stderr(&output));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_large_file_read_on_two_threads_gives_the_one_thread_result() {
    let dir = std::env::temp_dir().join(format!("auditlens-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("big.log");
    let log_arg = log.to_str().unwrap();
    let made = auditlens(&[
        "simulate", "--preset", "bench", "--size", "70MB", "-o", log_arg,
    ]);
    // Four parts of at least 16 MB: more parts than threads, so a thread reads several.
    assert_eq!(made.status.code(), Some(0));
    let one = auditlens(&["analyze", "--format", "json", "--threads", "1", log_arg]);
    let two = auditlens(&["analyze", "--format", "json", "--threads", "2", log_arg]);
    assert_eq!(one.status.code(), Some(0));
    assert!(
        stdout(&one) == stdout(&two),
        "two threads give another report"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&two)).unwrap();
    assert!(report["summary"]["requests"].as_u64().unwrap() > 60_000);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn events_without_an_auditid_are_analysed_and_written_with_a_null_auditid() {
    const TRIMMED: &str = "tests/fixtures/trimmed/events.jsonl";
    let output = auditlens(&["analyze", "--format", "jsonl", TRIMMED]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let findings: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let privileged = findings
        .iter()
        .find(|f| {
            f["rules"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == "k8s.pod.privileged")
        })
        .expect("the privileged pod of line 1");
    assert_eq!(privileged["auditID"], serde_json::Value::Null);
    assert!(privileged["request"].as_str().unwrap().starts_with("~0."));
    assert_eq!(
        (privileged["file"].as_str(), privileged["line"].as_u64()),
        (Some(TRIMMED), Some(1))
    );
    // The CSV leaves the cell empty rather than inventing an id.
    let csv = stdout(&auditlens(&["analyze", "--format", "csv", TRIMMED]));
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let first_line_rows: Vec<_> = reader
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[11] == TRIMMED && &r[12] == "1")
        .collect();
    assert!(!first_line_rows.is_empty());
    assert!(first_line_rows.iter().all(|r| r[0].is_empty()));
}

#[test]
fn the_table_leads_with_what_needs_review_and_machine_formats_list_everything() {
    let json = stdout(&auditlens(&["analyze", "--format", "json", FALCO]));
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let severities: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["severity"].as_str().unwrap().to_string())
        .collect();
    let review = severities
        .iter()
        .filter(|s| matches!(s.as_str(), "medium" | "high" | "critical"))
        .count();
    let lower = severities.len() - review;
    assert!(review > 0 && lower > 0, "{review} to review, {lower} lower");
    // The table: the summary line, then only what needs review.
    let table = stdout(&auditlens(&["analyze", "--top", "1000", FALCO]));
    let line = format!("findings: {review} to review, and {lower} low or informational notes");
    assert!(table.lines().any(|l| l == line), "{table}");
    let listed = |text: &str, severity: &str| {
        text.lines()
            .filter(|l| l.starts_with(&format!("{severity:<8} ")))
            .count()
    };
    assert_eq!(listed(&table, "low") + listed(&table, "info"), 0);
    let shown: usize = ["medium", "high", "critical"]
        .iter()
        .map(|s| listed(&table, s))
        .sum();
    assert_eq!(shown, review);
    // --min-severity info lists everything in the table; machine formats list everything
    // unless asked otherwise.
    let everything = stdout(&auditlens(&[
        "analyze",
        "--top",
        "1000",
        "--min-severity",
        "info",
        FALCO,
    ]));
    let all: usize = ["info", "low", "medium", "high", "critical"]
        .iter()
        .map(|s| listed(&everything, s))
        .sum();
    assert_eq!(all, severities.len());
    let jsonl = stdout(&auditlens(&["analyze", "--format", "jsonl", FALCO]));
    assert_eq!(jsonl.lines().count(), severities.len());
    let high = stdout(&auditlens(&[
        "analyze",
        "--format",
        "jsonl",
        "--min-severity",
        "high",
        FALCO,
    ]));
    let expected = severities
        .iter()
        .filter(|s| matches!(s.as_str(), "high" | "critical"))
        .count();
    assert_eq!(high.lines().count(), expected);
}
