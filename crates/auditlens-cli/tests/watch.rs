//! `auditlens watch` end to end: a log written in bursts, rotated, with attacks, followed by
//! the real binary posting to a real Alertmanager (Debian's `prometheus-alertmanager`, started
//! by the test on a free loopback port); a restart from `--state`; findings equal to what
//! `analyze --baseline` gives on the same files; an outage of the receiver; stdin; bad lines.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_auditlens")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("auditlens-watch-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    start.elapsed()
}

/// A real Alertmanager on a free loopback port, stopped when dropped.
struct Alertmanager {
    child: Child,
    url: String,
}

impl Alertmanager {
    fn start(dir: &Path, port: u16) -> Alertmanager {
        let binary = ["/usr/bin/prometheus-alertmanager", "/usr/local/bin/alertmanager"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("Alertmanager is not installed: scripts/setup.sh installs Debian's prometheus-alertmanager");
        let config = dir.join("alertmanager.yml");
        fs::write(
            &config,
            "route:\n  receiver: none\n  group_by: [group_key]\nreceivers:\n  - name: none\n",
        )
        .unwrap();
        let storage = dir.join("alertmanager-data");
        fs::create_dir_all(&storage).unwrap();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", storage.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(File::create(dir.join("alertmanager.err")).unwrap())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let ready = format!("{url}/-/ready");
        wait_until("Alertmanager to be ready", Duration::from_secs(30), || {
            ureq::get(&ready).call().is_ok()
        });
        Alertmanager { child, url }
    }

    /// The alerts Alertmanager holds, by their `request` label.
    fn alerts(&self) -> BTreeMap<String, Value> {
        let text = ureq::get(&format!("{}/api/v2/alerts", self.url))
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        let body: Value = serde_json::from_str(&text).unwrap();
        body.as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["labels"]["request"].as_str().unwrap().to_string(),
                    a.clone(),
                )
            })
            .collect()
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo cluster's log, split into its first day (the baseline) and its second.
fn two_days(dir: &Path) -> (Vec<String>, Vec<String>) {
    let output = Command::new(bin())
        .args(["simulate", "--preset", "demo"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<String> = text.lines().map(|l| format!("{l}\n")).collect();
    let day = |line: &str| -> String {
        let v: Value = serde_json::from_str(line).unwrap();
        v["requestReceivedTimestamp"].as_str().unwrap()[..10].to_string()
    };
    let first = day(&lines[0]);
    let (one, two): (Vec<String>, Vec<String>) = lines.into_iter().partition(|l| day(l) == first);
    fs::write(dir.join("day1.log"), one.concat()).unwrap();
    (one, two)
}

fn build_baseline(dir: &Path) -> PathBuf {
    let out = dir.join("baseline.json");
    let status = Command::new(bin())
        .args(["baseline", "build"])
        .arg(dir.join("day1.log"))
        .arg("-o")
        .arg(&out)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    out
}

/// Appends lines in bursts of `burst`, a little apart, as an API server's log backend writes.
fn write_in_bursts(path: &Path, lines: &[String], burst: usize) {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for chunk in lines.chunks(burst) {
        file.write_all(chunk.concat().as_bytes()).unwrap();
        file.flush().unwrap();
        std::thread::sleep(Duration::from_millis(15));
    }
}

fn watch(dir: &Path, run: &str, extra: &[&str]) -> Child {
    Command::new(bin())
        .current_dir(dir)
        .args([
            "watch",
            "audit.log",
            "--min-severity",
            "high",
            "--poll-ms",
            "50",
        ])
        .args(["--reorder", "0.5", "--wait", "1", "--checkpoint", "0.2"])
        .args(extra)
        .stdout(File::create(dir.join(format!("{run}.out"))).unwrap())
        .stderr(File::create(dir.join(format!("{run}.err"))).unwrap())
        .spawn()
        .unwrap()
}

/// Sends SIGTERM and checks the watch flushes and exits 0.
fn terminate(mut child: Child, dir: &Path, run: &str) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut exit = None;
    wait_until("the watch to exit", Duration::from_secs(30), || {
        exit = child.try_wait().unwrap();
        exit.is_some()
    });
    let err = fs::read_to_string(dir.join(format!("{run}.err"))).unwrap();
    assert_eq!(exit.unwrap().code(), Some(0), "{err}");
    assert!(err.contains("watch stopped"), "{err}");
}

/// The saved position in `audit.log` (where a restart would read from).
fn saved_offset(state: &Path) -> Option<u64> {
    let text = fs::read_to_string(state).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["watch"]["positions"]
        .as_array()?
        .iter()
        .rev()
        .find(|p| p["name"] == "audit.log")?["offset"]
        .as_u64()
}

fn findings(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn key(finding: &Value) -> String {
    finding["auditID"]
        .as_str()
        .or(finding["request"].as_str())
        .unwrap()
        .to_string()
}

/// A finding without what depends on how it was read: the file name (a rotated file is read
/// under the name it had), its incident number and group key.
fn comparable(finding: &Value) -> Value {
    let mut f = finding.clone();
    for field in ["file", "incident", "group"] {
        f.as_object_mut().unwrap().remove(field);
    }
    f
}

fn by_key(list: &[Value]) -> BTreeMap<String, Value> {
    list.iter().map(|f| (key(f), comparable(f))).collect()
}

/// `auditlens analyze --format jsonl --min-severity high --baseline B EXTRA FILES...`.
fn analyze(dir: &Path, baseline: &Path, files: &[&Path], extra: &[&str]) -> Vec<Value> {
    let output = Command::new(bin())
        .current_dir(dir)
        .args([
            "analyze",
            "--format",
            "jsonl",
            "--min-severity",
            "high",
            "--baseline",
        ])
        .arg(baseline)
        .args(extra)
        .args(files)
        .output()
        .unwrap();
    assert!(output.status.success());
    findings(&String::from_utf8(output.stdout).unwrap())
}

/// The lines of `files` (numbered per file) that hold a stage of request `id`.
fn stage_lines(files: &[&Path], id: &str) -> BTreeSet<u64> {
    let needle = format!("\"auditID\":\"{id}\"");
    files
        .iter()
        .flat_map(|f| {
            let text = fs::read_to_string(f).unwrap();
            text.lines()
                .enumerate()
                .filter(|(_, l)| l.contains(&needle))
                .map(|(n, _)| n as u64 + 1)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Asserts two sets of findings are equal, naming only the differences. A request still
/// running when the watch judged it (an exec session, a long watch) is reported at the line
/// of the stage it was judged on, which may be an earlier stage than the one a whole-log
/// analysis keeps: the line may differ, to another line of the same request.
fn same(
    dir: &Path,
    files: &[&Path],
    got: &BTreeMap<String, Value>,
    want: &BTreeMap<String, Value>,
) {
    let _ = dir;
    let only_got: Vec<&String> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    let only_want: Vec<&String> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let without_line = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("line");
        v
    };
    let differ: Vec<(&Value, &Value)> = got
        .iter()
        .filter_map(|(k, v)| {
            let w = want.get(k)?;
            if v == w {
                return None;
            }
            let lines = stage_lines(files, k);
            let moved = without_line(v) == without_line(w)
                && lines.contains(&v["line"].as_u64().unwrap())
                && lines.contains(&w["line"].as_u64().unwrap());
            (!moved).then_some((v, w))
        })
        .take(2)
        .collect();
    assert!(
        only_got.is_empty() && only_want.is_empty() && differ.is_empty(),
        "reported but not expected: {only_got:?}\nexpected but not reported: {only_want:?}\n\
         reported differently (reported, expected): {differ:?}"
    );
}

#[test]
fn an_attack_written_in_bursts_across_a_rotation_and_a_restart_reaches_alertmanager_once() {
    let dir = temp_dir("alertmanager");
    let (_, day2) = two_days(&dir);
    let baseline = build_baseline(&dir);
    let alertmanager = Alertmanager::start(&dir, free_port());
    let log = dir.join("audit.log");
    let state = dir.join("state.json");
    let args = [
        "--from-start",
        "--baseline",
        baseline.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--alertmanager",
        &alertmanager.url,
    ];
    let (a, rest) = day2.split_at(day2.len() * 2 / 5);
    let (b, c) = rest.split_at(rest.len() / 2);
    File::create(&log).unwrap();

    // First run: part A, a rotation, part B.
    let first = watch(&dir, "first", &args);
    write_in_bursts(&log, a, 40);
    let rotated = dir.join("audit-2024-05-07T12-00-00.000.log");
    fs::rename(&log, &rotated).unwrap();
    File::create(&log).unwrap();
    write_in_bursts(&log, b, 40);
    let size = fs::metadata(&log).unwrap().len();
    wait_until(
        "the first run to judge part B",
        Duration::from_secs(30),
        || saved_offset(&state) == Some(size),
    );
    terminate(first, &dir, "first");

    // Second run, from the state: part C, then the attack's alert within seconds.
    let second = watch(&dir, "second", &args);
    write_in_bursts(&log, c, 40);
    let written = Instant::now();
    let size = fs::metadata(&log).unwrap().len();
    wait_until(
        "the second run to judge part C",
        Duration::from_secs(30),
        || saved_offset(&state) == Some(size),
    );
    let mut reported = findings(&fs::read_to_string(dir.join("first.out")).unwrap());
    reported.extend(findings(
        &fs::read_to_string(dir.join("second.out")).unwrap(),
    ));
    let in_c: BTreeSet<String> = findings(&fs::read_to_string(dir.join("second.out")).unwrap())
        .iter()
        .map(key)
        .collect();
    assert!(!in_c.is_empty(), "part C holds high findings");
    let latency = wait_until(
        "part C's alerts in Alertmanager",
        Duration::from_secs(20),
        || {
            let held = alertmanager.alerts();
            in_c.iter().all(|k| held.contains_key(k))
        },
    );
    terminate(second, &dir, "second");
    eprintln!(
        "part C's alerts reached Alertmanager {:?} after its last line was written",
        written.elapsed() - latency.min(written.elapsed())
    );

    // No finding twice, none missed.
    let keys: Vec<String> = reported.iter().map(key).collect();
    let distinct: BTreeSet<&String> = keys.iter().collect();
    assert_eq!(keys.len(), distinct.len(), "a finding was reported twice");
    let files = [rotated.as_path(), log.as_path()];
    // The same findings as `analyze --baseline --no-hindsight` on the two files.
    let without = analyze(&dir, &baseline, &files, &["--no-hindsight"]);
    assert!(without.len() >= 10, "the attacks give high findings");
    same(&dir, &files, &by_key(&reported), &by_key(&without));
    // And every finding of a plain `analyze --baseline` that hindsight did not revise.
    let full = analyze(&dir, &baseline, &files, &[]);
    let unrevised: Vec<Value> = full
        .into_iter()
        .filter(|f| {
            !f["reasons"].as_array().unwrap().iter().any(|r| {
                matches!(
                    r["code"].as_str(),
                    Some("window-anomaly" | "fleet-wide-change")
                )
            })
        })
        .collect();
    let reported_by_key = by_key(&reported);
    let unrevised = by_key(&unrevised);
    let subset: BTreeMap<String, Value> = reported_by_key
        .into_iter()
        .filter(|(k, _)| unrevised.contains_key(k))
        .collect();
    same(&dir, &files, &subset, &unrevised);

    // Every reported finding reached Alertmanager, labelled and explained.
    let held = alertmanager.alerts();
    for finding in &reported {
        let alert = &held[&key(finding)];
        assert_eq!(alert["labels"]["alertname"], "AuditlensFinding");
        assert_eq!(alert["labels"]["severity"], finding["severity"]);
        assert_eq!(alert["labels"]["identity"], finding["identity"]);
        assert_eq!(alert["labels"]["group_key"], finding["group"]);
        let first_reason = &finding["reasons"][0]["message"];
        assert_eq!(&alert["annotations"]["summary"], first_reason);
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn findings_wait_in_the_spool_while_alertmanager_is_down_and_arrive_after_a_restart() {
    let dir = temp_dir("outage");
    let (_, day2) = two_days(&dir);
    let baseline = build_baseline(&dir);
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let log = dir.join("audit.log");
    let state = dir.join("state.json");
    let args = [
        "--from-start",
        "--baseline",
        baseline.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--alertmanager",
        &url,
        "--drain",
        "1",
    ];
    // Alertmanager is down for the whole first run.
    let first = watch(&dir, "first", &args);
    write_in_bursts(&log, &day2, 200);
    let size = fs::metadata(&log).unwrap().len();
    wait_until("the log to be judged", Duration::from_secs(30), || {
        saved_offset(&state) == Some(size)
    });
    terminate(first, &dir, "first");
    let reported: BTreeSet<String> = findings(&fs::read_to_string(dir.join("first.out")).unwrap())
        .iter()
        .map(key)
        .collect();
    assert!(reported.len() >= 10);
    let err = fs::read_to_string(dir.join("first.err")).unwrap();
    assert!(err.contains("cannot post to alertmanager"), "{err}");
    assert!(
        err.contains(&format!(
            "0 findings delivered, {} left in the spool",
            reported.len()
        )),
        "{err}"
    );
    // Up again: the next run delivers the spool, and judges nothing again.
    let alertmanager = Alertmanager::start(&dir, port);
    let second = watch(&dir, "second", &args);
    wait_until(
        "the spooled alerts in Alertmanager",
        Duration::from_secs(20),
        || {
            let held = alertmanager.alerts();
            reported.iter().all(|k| held.contains_key(k))
        },
    );
    terminate(second, &dir, "second");
    assert_eq!(
        fs::read_to_string(dir.join("second.out")).unwrap(),
        "",
        "nothing judged twice"
    );
    assert_eq!(alertmanager.alerts().len(), reported.len());
    let _ = fs::remove_dir_all(&dir);
}

/// A webhook receiver on a free port: answers the first POST with 500 and each later one with
/// 200 after `delay`, and keeps every body.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(u16, Value, Instant)>>>;

fn webhook(delay: Duration) -> (String, Received) {
    use std::io::{BufRead, BufReader, Read};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = std::sync::Arc::clone(&received);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut list = kept.lock().unwrap();
            let code = if list.is_empty() { 500 } else { 200 };
            list.push((code, serde_json::from_slice(&body).unwrap(), Instant::now()));
            drop(list);
            if code == 200 {
                std::thread::sleep(delay);
            }
            let reply =
                format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (url, received)
}

#[test]
fn stdin_with_a_bad_line_feeds_a_slow_webhook_that_failed_once_without_waiting_for_it() {
    let dir = temp_dir("webhook");
    let (_, day2) = two_days(&dir);
    let baseline = build_baseline(&dir);
    let (url, received) = webhook(Duration::from_millis(400));
    let mut input = day2[..day2.len() / 2].concat();
    input.push_str("{\"kind\":\"Event\",\"auditID\": not json\n");
    let bad_line = day2.len() / 2 + 1;
    input.push_str(&day2[day2.len() / 2..].concat());
    let mut child = Command::new(bin())
        .current_dir(&dir)
        .args([
            "watch",
            "-",
            "--format",
            "ocsf",
            "--min-severity",
            "low",
            "--drain",
            "60",
        ])
        .arg("--baseline")
        .arg(&baseline)
        .args(["--webhook", &url, "--spool"])
        .arg(dir.join("spool"))
        .arg("--save-baseline")
        .arg(dir.join("learned.json"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // stderr line by line, with when each came.
    let stderr = child.stderr.take().unwrap();
    let lines = std::thread::spawn(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stderr)
            .lines()
            .map(|l| (l.unwrap(), Instant::now()))
            .collect::<Vec<_>>()
    });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let lines = lines.join().unwrap();
    let err: String = lines.iter().map(|(l, _)| format!("{l}\n")).collect();
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("-:{bad_line}: malformed-json")),
        "{err}"
    );
    let records = findings(&String::from_utf8(output.stdout).unwrap());
    assert!(records.len() >= 50, "{}", records.len());
    assert!(
        records.iter().all(|r| r["class_uid"] == 2004),
        "OCSF Detection Findings"
    );
    let list = received.lock().unwrap();
    assert_eq!(list[0].0, 500, "the first POST failed");
    let delivered: Vec<&Value> = list[1..]
        .iter()
        .flat_map(|(_, body, _)| body.as_array().unwrap())
        .collect();
    assert_eq!(
        delivered.len(),
        records.len(),
        "every record delivered once after the retry"
    );
    let first_batch = list[0].1.as_array().unwrap();
    assert_eq!(
        &delivered[..first_batch.len()],
        &first_batch.iter().collect::<Vec<_>>()[..]
    );
    assert!(
        err.contains(&format!(
            "webhook: {} findings delivered, 0 left",
            records.len()
        )),
        "{err}"
    );
    // Judging did not wait for the receiver: every finding was judged and written while the
    // webhook, at 0.4 s a POST, still had batches to take.
    let stopped = lines
        .iter()
        .find(|(l, _)| l.contains("watch stopped"))
        .unwrap()
        .1;
    let after = list.iter().filter(|(_, _, at)| *at > stopped).count();
    assert!(
        after >= 1,
        "{} POSTs, none after the watch stopped reading",
        list.len()
    );
    // The baseline kept learning: the loaded one plus every request judged, as `baseline
    // build` writes it.
    let show = |path: &Path| -> String {
        let output = Command::new(bin())
            .args(["baseline", "show"])
            .arg(path)
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };
    let requests = |text: &str| -> u64 {
        let head = text.lines().next().unwrap();
        let (_, rest) = head.split_once("identities, ").unwrap();
        rest.split_whitespace().next().unwrap().parse().unwrap()
    };
    let judged: u64 = err
        .split("requests judged")
        .next()
        .and_then(|s| s.rsplit(", ").next())
        .and_then(|s| s.trim().parse().ok())
        .unwrap();
    assert_eq!(
        requests(&show(&dir.join("learned.json"))),
        requests(&show(&baseline)) + judged
    );
    let _ = fs::remove_dir_all(&dir);
}
