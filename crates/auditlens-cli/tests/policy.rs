//! `auditlens policy` run as the real binary: check's findings and exit codes, evaluate's
//! JSON lines, simulate, suggest (whose policy must pass check) and retention's flags.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

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

const DEMO: &str = "tests/fixtures/demo/demo-audit.log.gz";
const WIDELY_COPIED: &str = "tests/fixtures/policy/widely-copied.yaml";
const SECRETS_EXEC: &str = "tests/fixtures/policy/secrets-with-bodies-exec-unlogged.yaml";
const REFUSED: &str = "tests/fixtures/policy/refused.yaml";
const METADATA_ONLY: &str = "tests/fixtures/policy/metadata-only.yaml";
const PARTIAL: &str = "tests/fixtures/policy/partial.json";

#[test]
fn check_reports_the_widely_copied_example_and_exits_1() {
    let output = auditlens(&["policy", "check", WIDELY_COPIED]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    for expected in [
        "error[unknown-field] tests/fixtures/policy/widely-copied.yaml:6\n    at rules[0].resources[0].groups\n",
        "error[unknown-field] tests/fixtures/policy/widely-copied.yaml:11\n    at rules[1].resources[0].groups\n",
        "fix: did you mean `group`?",
        "error[wrong-group] tests/fixtures/policy/widely-copied.yaml:11\n    at rules[1].resources[0].resources[0]\n",
        "error[security-unlogged]",
        "warning[no-catch-all]",
        "warning[request-received]",
        "kube-apiserver loads it, but it does not do what it says",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
}

#[test]
fn check_reports_secret_bodies_and_unlogged_exec() {
    let output = auditlens(&["policy", "check", "--format", "json", SECRETS_EXEC]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["loads"], true);
    let lints = report["lints"].as_array().unwrap();
    let find = |code: &str| -> Vec<&Value> { lints.iter().filter(|l| l["code"] == code).collect() };
    let secrets = find("secret-bodies");
    assert_eq!(secrets.len(), 1);
    assert_eq!(
        (
            &secrets[0]["severity"],
            &secrets[0]["rule"],
            &secrets[0]["line"]
        ),
        (&Value::from("error"), &Value::from(0), &Value::from(6))
    );
    assert!(secrets[0]["message"]
        .as_str()
        .unwrap()
        .contains("secret values"));
    let unlogged = find("security-unlogged");
    let text: Vec<&str> = unlogged
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert!(
        text.iter().any(|m| m.contains("exec into pods")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|m| m.contains("attaching to pods")),
        "{text:?}"
    );
    assert!(unlogged
        .iter()
        .all(|l| l["rule"] == 1 && l["field"] == "rules[1]"));
    assert!(lints.iter().all(|l| !l["fix"].as_str().unwrap().is_empty()));
    let errors = lints.iter().filter(|l| l["severity"] == "error").count();
    assert_eq!(report["errors"], errors);
    assert_eq!(report["warnings"], lints.len() - errors);
}

#[test]
fn check_exits_0_with_warnings_only_and_2_when_the_file_cannot_be_read() {
    let output = auditlens(&["policy", "check", METADATA_ONLY]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("warning[detection-level]"));
    let json = auditlens(&["policy", "check", "--format", "json", METADATA_ONLY]);
    assert_eq!(json.status.code(), Some(0));
    let report: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(
        (&report["errors"], &report["warnings"]),
        (&Value::from(0), &Value::from(1))
    );
    let output = auditlens(&["policy", "check", "tests/fixtures/policy/no-such-file.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot read policy"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_policy_the_server_refuses_is_an_error_with_its_reasons() {
    let output = auditlens(&["policy", "check", "--format", "json", REFUSED]);
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["loads"], false);
    let refused: Vec<(&str, u64)> = report["lints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["code"] == "refused")
        .map(|l| (l["message"].as_str().unwrap(), l["line"].as_u64().unwrap()))
        .collect();
    // Every reason, each at its line: the version, the level, the path.
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused[0]
        .0
        .contains("no kind \"Policy\" is registered for version \"audit.k8s.io/v1beta1\""));
    assert_eq!(refused[0].1, 1);
    assert!(refused[1]
        .0
        .contains("rules[0].level: Unsupported value: \"Everything\""));
    assert!(refused[2]
        .0
        .contains("rules[0].nonResourceURLs[0]: Invalid value: \"healthz\""));
    assert!(stdout(&auditlens(&["policy", "check", REFUSED]))
        .contains("kube-apiserver refuses this policy"));
    // Evaluating with it is refused, with the reasons.
    let output = auditlens(&["policy", "evaluate", "--policy", REFUSED, DEMO]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("kube-apiserver would refuse the policy"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn evaluate_prints_one_json_line_per_request_with_the_documented_fields() {
    let output = auditlens(&[
        "policy", "evaluate", "--policy", PARTIAL, "--format", "jsonl", DEMO,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // One per request of the demo log (the analysis of the same log counts them).
    let stats = auditlens(&["stats", "--json", DEMO]);
    let requests = serde_json::from_str::<Value>(&stdout(&stats)).unwrap()["requests"].clone();
    assert_eq!(Value::from(rows.len()), requests);
    let mut seen_rules = std::collections::BTreeSet::new();
    let mut last_line = 0;
    for row in &rows {
        let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["auditID", "file", "level", "line", "omitStages", "rule"],
            "{row}"
        );
        assert_eq!(row["file"], DEMO);
        let line = row["line"].as_u64().unwrap();
        assert!(line > last_line, "in input order");
        last_line = line;
        let stages: Vec<&str> = row["omitStages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let mut sorted = stages.clone();
        sorted.sort_unstable();
        assert_eq!(stages, sorted);
        match row["rule"].as_u64() {
            None => {
                // No rule: level None, the policy's stages only.
                assert_eq!(row["level"], "None");
                assert_eq!(stages, ["Panic", "RequestReceived"]);
            }
            Some(1) => {
                assert_eq!(row["level"], "RequestResponse");
                assert_eq!(stages, ["Panic", "RequestReceived", "ResponseStarted"]);
            }
            Some(rule) => assert!(rule == 0 || rule == 2, "{row}"),
        }
        seen_rules.insert(row["rule"].as_u64());
    }
    // The demo log has requests for every rule, and requests no rule matches (anonymous).
    assert_eq!(seen_rules.len(), 4, "{seen_rules:?}");
}

#[test]
fn simulate_reports_volume_and_what_goes_blind() {
    let output = auditlens(&[
        "policy",
        "simulate",
        "--policy",
        SECRETS_EXEC,
        "--format",
        "json",
        DEMO,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let sim: Value = serde_json::from_str(&stdout(&output)).unwrap();
    for key in [
        "observed",
        "simulated",
        "observedPerDay",
        "byDay",
        "byLevel",
        "byIdentity",
        "byResource",
        "blindRules",
        "series",
    ] {
        assert!(sim.get(key).is_some(), "{key}");
    }
    // Exec at None: the exec rule loses every hit it had.
    let blind = sim["blindRules"].as_array().unwrap();
    let exec = blind.iter().find(|b| b["rule"] == "k8s.pod.exec").unwrap();
    assert_eq!(exec["lost"], exec["hits"]);
    assert!(exec["hits"].as_u64().unwrap() > 0);
    let table = auditlens(&["policy", "simulate", "--policy", SECRETS_EXEC, DEMO]);
    assert!(stdout(&table).contains("WHAT WOULD GO BLIND"));
    assert!(stdout(&table).contains("k8s.pod.exec"));
}

#[test]
fn suggest_writes_a_policy_that_check_passes_and_that_saves_bytes() {
    let dir = std::env::temp_dir().join(format!("auditlens-suggest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("suggested.yaml");
    let output = auditlens(&["policy", "suggest", DEMO, "-o", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("policy check: no error"),
        "{}",
        stdout(&output)
    );
    let check = auditlens(&["policy", "check", path.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
    // To stdout without -o: the same policy.
    let printed = auditlens(&["policy", "suggest", DEMO]);
    assert_eq!(stdout(&printed), std::fs::read_to_string(&path).unwrap());
    let sim = auditlens(&[
        "policy",
        "simulate",
        "--policy",
        path.to_str().unwrap(),
        "--format",
        "json",
        DEMO,
    ]);
    let sim: Value = serde_json::from_str(&stdout(&sim)).unwrap();
    let (observed, simulated) = (
        sim["observed"]["bytes"].as_u64().unwrap(),
        sim["simulated"]["bytes"].as_u64().unwrap(),
    );
    assert!(simulated * 2 < observed, "{simulated} of {observed}");
    assert!(sim["blindRules"].as_array().unwrap().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn retention_prints_ready_to_paste_flags() {
    let output = auditlens(&[
        "policy",
        "retention",
        DEMO,
        "--keep-days",
        "30",
        "--disk",
        "1GB",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let flags: Vec<String> = stdout(&output).lines().map(String::from).collect();
    assert_eq!(flags.len(), 4, "{flags:?}");
    assert_eq!(
        flags[0],
        "--audit-log-path=/var/log/kubernetes/audit/audit.log"
    );
    assert_eq!(flags[1], "--audit-log-maxsize=95");
    assert!(flags[2].starts_with("--audit-log-maxbackup="));
    assert_eq!(flags[3], "--audit-log-maxage=30");
    assert!(
        stderr(&output).contains("30 days need"),
        "{}",
        stderr(&output)
    );
    // With a policy: its volume, and its file among the flags.
    let output = auditlens(&[
        "policy",
        "retention",
        DEMO,
        "--keep-days",
        "7",
        "--disk",
        "10MB",
        "--policy",
        METADATA_ONLY,
        "--json",
    ]);
    let plan: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(plan["plan"]["keepDays"], 7);
    assert!(plan["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f.as_str().unwrap().starts_with("--audit-policy-file=")));
}

#[test]
fn simulate_days_sets_the_length_of_the_log() {
    let output = auditlens(&["simulate", "--days", "1", "--seed", "3"]);
    assert_eq!(output.status.code(), Some(0));
    let days: std::collections::BTreeSet<String> = stdout(&output)
        .lines()
        .map(|l| {
            let event: Value = serde_json::from_str(l).unwrap();
            event["requestReceivedTimestamp"].as_str().unwrap()[..10].to_string()
        })
        .collect();
    assert_eq!(days.len(), 1, "{days:?}");
}
