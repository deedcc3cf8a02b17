//! The real `auditlens rbac` binary: the manifest it writes, JSON, `-o`, `--granted`, and the
//! errors a person can make; and `simulate --days`, which makes the weeks it is tried on.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::path::PathBuf;
use std::process::{Command, Output};

use auditlens_core::rbac::Policy;

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

const AUDIT2RBAC: &str = "tests/fixtures/third-party/audit2rbac/demo.v1beta1.ndjson";
const CLUSTER: &str = "tests/fixtures/rbac/cluster.ndjson";
const GRANTED: &str = "tests/fixtures/rbac/granted.json";

#[test]
fn the_manifest_on_stdout_is_rbac_for_the_identity_asked_for() {
    let output = auditlens(&["rbac", AUDIT2RBAC, "--identity", "ns1:sa1"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let parsed = Policy::parse("stdout", &text).unwrap();
    assert_eq!(
        parsed.policy.describe(),
        "0 Roles, 1 ClusterRoles, 0 RoleBindings, 1 ClusterRoleBindings"
    );
    assert!(parsed.notes.is_empty(), "{:?}", parsed.notes);
    let role = &parsed.policy.cluster_roles[0];
    assert_eq!(role.metadata.name, "auditlens:sa:ns1:sa1");
    assert_eq!(role.rules[0].resources, ["pods"]);
    // Why each rule is there, and what was refused, as comments.
    assert!(text.contains("# list 1: 1 request, at 2017-09-11T20:01:50.000000Z, e.g. auditID 07d17160-3e30-46a4-be6a-36e9d77acdac"));
    assert!(text.contains("#   list nodes: 1 request (403)"));
}

#[test]
fn json_goes_to_the_output_file_and_a_summary_to_stdout() {
    let dir = std::env::temp_dir().join(format!("auditlens-rbac-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rbac.json");
    let output = auditlens(&[
        "rbac",
        CLUSTER,
        "--class",
        "service-account",
        "--granted",
        GRANTED,
        "--format",
        "json",
        "-o",
        path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary = stdout(&output);
    assert!(
        summary.starts_with("4 objects for 2 identities written to "),
        "{summary}"
    );
    assert!(summary.contains(
        "system:serviceaccount:shop:web: 1 rule in 1 role from 3 allowed requests; 1 refused; uses 1 of 6 granted permissions (16.7 %)"
    ), "{summary}");
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(document["objects"]["kind"], "List");
    assert_eq!(document["objects"]["items"].as_array().unwrap().len(), 4);
    assert_eq!(
        document["identities"][1]["identity"],
        "system:serviceaccount:shop:web"
    );
    assert_eq!(
        document["identities"][1]["granted"]["permissions"]["granted"],
        6
    );
    assert_eq!(document["granted"]["file"], GRANTED);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_granted_file_that_cannot_be_read_is_named_with_its_line() {
    let dir = std::env::temp_dir().join(format!("auditlens-rbac-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "kind: ClusterRole\nrules:\n  - verbs: [get\n").unwrap();
    let output = auditlens(&["rbac", CLUSTER, "--granted", bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let error = stderr(&output);
    assert!(error.contains("bad.yaml: line "), "{error}");
    assert!(stdout(&output).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn identities_that_made_no_request_are_said_and_none_at_all_is_an_error() {
    let output = auditlens(&[
        "rbac",
        CLUSTER,
        "--identity",
        "carol",
        "--identity",
        "nobody",
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stderr(&output).contains("no request by nobody in these logs"));
    assert!(stdout(&output).contains("# No request by nobody in these logs."));
    let output = auditlens(&["rbac", CLUSTER, "--identity", "nobody"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("none of the identities asked for made a request"));
    let output = auditlens(&["rbac", CLUSTER, "--class", "robots"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("\"robots\" is not a class"));
}

#[test]
fn simulate_days_sets_the_length_of_the_log() {
    let output = auditlens(&["simulate", "--days", "3", "--seed", "5"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    let day = |line: &str| -> String {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        event["requestReceivedTimestamp"].as_str().unwrap()[..10].to_string()
    };
    let days: std::collections::BTreeSet<String> = text.lines().map(day).collect();
    assert_eq!(
        days.into_iter().collect::<Vec<_>>(),
        ["2024-05-06", "2024-05-07", "2024-05-08"]
    );
    assert_eq!(
        auditlens(&["simulate", "--days", "0"]).status.code(),
        Some(2)
    );
}
