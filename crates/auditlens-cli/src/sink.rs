//! Sinks: findings posted to Prometheus Alertmanager (API v2) or to a webhook as JSON.
//!
//! Each sink runs on a thread of its own with a [`Spool`] on disk: `watch` hands it findings
//! through a channel and never waits for it, the thread appends them to the spool and
//! delivers them in batches, oldest first. While the receiver is down or slow, delivery is
//! retried with exponential backoff (0.5 s doubling to 30 s) and the spool grows, not the
//! watch's lag; on the next run, a spool left over is delivered first.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::{json, Value};

use crate::spool::Spool;

/// Findings per POST.
const BATCH: usize = 64;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long an Alertmanager alert stays active after it was posted.
const ALERT_LIFETIME: Duration = Duration::from_secs(3600);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Alertmanager,
    Webhook,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Alertmanager => "alertmanager",
            Kind::Webhook => "webhook",
        }
    }
}

enum Message {
    Findings(Vec<String>),
    /// Deliver what is left for at most this long, then stop.
    Close(Duration),
}

/// A running sink.
pub struct Sink {
    kind: Kind,
    tx: Sender<Message>,
    thread: Option<JoinHandle<SinkReport>>,
}

/// What a sink did, for the exit summary.
#[derive(Debug, Default)]
pub struct SinkReport {
    pub delivered: u64,
    pub left: u64,
    pub dropped: u64,
}

impl Sink {
    /// Starts a sink posting to `url`, spooling in `spool_dir`.
    pub fn start(kind: Kind, url: &str, spool_dir: &Path, spool_max: u64) -> Result<Sink> {
        let spool = Spool::open(spool_dir, spool_max)?;
        let (tx, rx) = mpsc::channel();
        let url = match kind {
            Kind::Alertmanager => format!("{}/api/v2/alerts", url.trim_end_matches('/')),
            Kind::Webhook => url.to_string(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("sink-{}", kind.name()))
            .spawn(move || deliver(kind, &url, spool, &rx))?;
        Ok(Sink {
            kind,
            tx,
            thread: Some(thread),
        })
    }

    /// Hands findings (JSON, one per entry) to the sink; never blocks.
    pub fn send(&self, findings: Vec<String>) {
        if !findings.is_empty() {
            let _ = self.tx.send(Message::Findings(findings));
        }
    }

    /// Delivers what is left for at most `drain`, then stops; what is undelivered stays in
    /// the spool.
    pub fn close(mut self, drain: Duration) -> (Kind, SinkReport) {
        let _ = self.tx.send(Message::Close(drain));
        let report = self
            .thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        (self.kind, report)
    }
}

fn deliver(kind: Kind, url: &str, mut spool: Spool, rx: &Receiver<Message>) -> SinkReport {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .build();
    let mut report = SinkReport::default();
    let mut backoff = FIRST_BACKOFF;
    let mut next_try = Instant::now();
    let mut closing: Option<Instant> = None;
    let mut failing = false;
    loop {
        // Take in whatever arrived; wait only while there is nothing to deliver.
        let waiting = spool.is_empty() || Instant::now() < next_try;
        let timeout = if spool.is_empty() {
            Duration::from_millis(250)
        } else {
            next_try.saturating_duration_since(Instant::now())
        };
        let first = if waiting && closing.is_none() {
            match rx.recv_timeout(timeout) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(Message::Close(Duration::ZERO)),
            }
        } else {
            rx.try_recv().ok()
        };
        for message in first.into_iter().chain(rx.try_iter()) {
            match message {
                Message::Findings(lines) => {
                    if let Err(e) = spool.append(&lines) {
                        eprintln!("auditlens: {} spool: {e:#}", kind.name());
                    }
                }
                Message::Close(drain) => closing = Some(Instant::now() + drain),
            }
        }
        let empty = spool.is_empty();
        if let Some(deadline) = closing {
            if empty || Instant::now() >= deadline {
                break;
            }
        }
        if empty || Instant::now() < next_try {
            if closing.is_some() {
                std::thread::sleep(Duration::from_millis(50));
            }
            continue;
        }
        let Ok((batch, to)) = spool.peek(BATCH) else {
            continue;
        };
        match post(&agent, kind, url, &batch) {
            Ok(()) => {
                if failing {
                    eprintln!("auditlens: {} is reachable again", kind.name());
                    failing = false;
                }
                report.delivered += batch.len() as u64;
                if let Err(e) = spool.commit(to) {
                    eprintln!("auditlens: {} spool: {e:#}", kind.name());
                }
                backoff = FIRST_BACKOFF;
            }
            Err(message) => {
                if !failing {
                    eprintln!(
                        "auditlens: cannot post to {} ({message}); findings wait in the spool, \
                         retrying",
                        kind.name()
                    );
                    failing = true;
                }
                next_try = Instant::now() + backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    report.left = spool.peek(usize::MAX).map_or(0, |(v, _)| v.len() as u64);
    report.dropped = spool.dropped;
    report
}

fn post(agent: &ureq::Agent, kind: Kind, url: &str, batch: &[String]) -> Result<(), String> {
    let items: Vec<Value> = batch
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .map(|item| match kind {
            Kind::Alertmanager => with_end(item),
            Kind::Webhook => item,
        })
        .collect();
    let body = Value::Array(items).to_string();
    match agent
        .post(url)
        .set("Content-Type", "application/json")
        .send_string(&body)
    {
        Ok(_) => Ok(()),
        Err(ureq::Error::Status(code, response)) => {
            let text = response.into_string().unwrap_or_default();
            let text: String = text.chars().take(200).collect();
            Err(format!("HTTP {code}: {}", text.trim()))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// An alert stays active for [`ALERT_LIFETIME`] from when it is posted.
fn with_end(mut alert: Value) -> Value {
    let end = std::time::SystemTime::now() + ALERT_LIFETIME;
    let seconds = end
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    alert["endsAt"] = json!(auditlens_core::time::format_rfc3339(seconds));
    alert
}

/// A finding as an Alertmanager alert: labels that identify and group it, annotations that
/// explain it.
pub fn alertmanager_alert(finding: &auditlens_core::Finding, group: &str) -> Value {
    let rule = finding
        .rules
        .first()
        .cloned()
        .unwrap_or_else(|| "anomaly".to_string());
    let summary = finding
        .reasons
        .first()
        .map_or_else(String::new, |r| r.message.clone());
    let description: Vec<&str> = finding.reasons.iter().map(|r| r.message.as_str()).collect();
    let mut labels = serde_json::Map::new();
    let mut label = |key: &str, value: &str| {
        if !value.is_empty() {
            labels.insert(key.to_string(), json!(value));
        }
    };
    label("alertname", "AuditlensFinding");
    label("severity", finding.severity.as_str());
    label("rule", &rule);
    label("identity", &finding.identity);
    label("namespace", &finding.namespace);
    label("group_key", group);
    label("request", finding.request_key());
    label("class", &finding.class);
    json!({
        "labels": labels,
        "annotations": {
            "summary": summary,
            "description": description.join("\n"),
            "score": finding.score.to_string(),
            "rules": finding.rules.join(","),
            "action": format!("{} {}", finding.verb, finding.resource),
            "object": match (finding.namespace.as_str(), finding.name.as_str()) {
                ("", name) => name.to_string(),
                (ns, name) => format!("{ns}/{name}"),
            },
            "source": format!("{}:{}", finding.file, finding.line),
        },
        "startsAt": finding.timestamp,
    })
}
