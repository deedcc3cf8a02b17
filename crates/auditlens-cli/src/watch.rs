//! `auditlens watch`: follow audit logs and report each finding as its request arrives.
//!
//! Followers (`follow`) read the files and stdin on their own threads; this thread pushes
//! their bytes into a core [`Watch`], asks it every poll for the requests that are ready, and
//! writes the findings to stdout and to the sinks (`sink`), which deliver them on threads of
//! their own. SIGINT and SIGTERM end the watch: what is held is judged, the state saved, the
//! sinks given `--drain` seconds, and the exit status is 0.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use auditlens_core::export::Schema;
use auditlens_core::watch::{Alert, SourceId, Watch, WatchOptions, WatchState};
use auditlens_core::Limits;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::args::{WatchArgs, WatchFormat};
use crate::follow::{self, FileIdentity, Input, Start};
use crate::sink::{self, Kind, Sink};

/// Messages that may wait between a follower and this thread.
const QUEUE: usize = 16;

/// How far back (log time) judged requests are kept in the state, so that a later stage of
/// one is recognised after a restart.
const RECENT_JUDGED: i64 = 15 * 60 * 1_000_000;

/// The state file: the core's state and which file each followed path named.
#[derive(Serialize, Deserialize)]
struct SavedState {
    watch: WatchState,
    files: Vec<SavedFile>,
}

#[derive(Clone, Serialize, Deserialize)]
struct SavedFile {
    path: String,
    identity: FileIdentity,
}

/// A followed path: the source its bytes go to now, and the file it names.
struct Followed {
    name: String,
    source: Option<SourceId>,
    identity: Option<FileIdentity>,
    ended: bool,
    stdin: bool,
}

pub fn run(args: &WatchArgs, out: &mut dyn Write) -> Result<u8> {
    let rules = match &args.config {
        Some(path) => crate::rules::load_config(path)?,
        None => auditlens_core::rules::RuleConfig::default(),
    };
    let baseline = match &args.baseline {
        Some(path) => Some(crate::baseline::load(path)?),
        None => None,
    };
    let saved = match &args.state {
        Some(path) if path.exists() => Some(load_state(path)?),
        _ => None,
    };
    let micros = |seconds: f64| (seconds * 1e6) as i64;
    let options = WatchOptions {
        reorder: micros(args.reorder),
        wait: micros(args.wait),
        learn_for: micros(args.learn_for),
        schema: match args.format {
            WatchFormat::Jsonl => None,
            WatchFormat::Ocsf => Some(Schema::Ocsf),
            WatchFormat::Ecs => Some(Schema::Ecs),
        },
        ..WatchOptions::default()
    };
    let limits = Limits {
        max_record_bytes: args.max_record_bytes,
        ..Limits::default()
    };
    let mut watch = Watch::new(limits, rules, baseline, options);
    if let Some(saved) = &saved {
        watch
            .restore(&saved.watch)
            .map_err(|e| anyhow::anyhow!("state {}: {e}", display(args.state.as_deref())))?;
    }
    let sinks = start_sinks(args)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot handle SIGINT and SIGTERM")?;
    }
    let (tx, rx) = mpsc::sync_channel::<Input>(QUEUE);
    let poll = Duration::from_millis(args.poll_ms.max(10));
    let mut followed = Vec::new();
    let mut threads = Vec::new();
    if args.files.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        bail!("stdin (-) can be read only once");
    }
    for (index, path) in args.files.iter().enumerate() {
        let name = path.display().to_string();
        let stdin = path.as_os_str() == "-";
        let tx = tx.clone();
        let thread = if stdin {
            std::thread::spawn(move || follow::stdin(index, tx))
        } else {
            let start = start_of(&name, saved.as_ref(), args.from_start);
            let (path, stop) = (path.clone(), Arc::clone(&stop));
            std::thread::spawn(move || follow::follow(index, path, start, poll, tx, stop))
        };
        threads.push(thread);
        followed.push(Followed {
            name,
            source: None,
            identity: None,
            ended: false,
            stdin,
        });
    }
    drop(tx);
    let started = Instant::now();
    let now = || started.elapsed().as_micros() as i64;
    let mut checkpoint = Instant::now();
    let mut emitted = 0u64;
    loop {
        let mut message = match rx.recv_timeout(poll) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        // Take what is queued (a bounded number, so that findings keep flowing under load).
        let mut taken = 0;
        while let Some(m) = message.take() {
            take_input(&mut watch, &mut followed, m, now());
            taken += 1;
            if taken < 256 {
                message = rx.try_recv().ok();
            }
        }
        let ready = watch.advance(now());
        emitted += emit(&mut watch, ready, args, out, &sinks)?;
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if followed.iter().all(|f| f.stdin && f.ended) {
            break;
        }
        if args.state.is_some() && checkpoint.elapsed().as_secs_f64() >= args.checkpoint {
            save(args, &watch, &followed)?;
            checkpoint = Instant::now();
        }
    }
    stop.store(true, Ordering::Relaxed);
    // Followers blocked on a full queue are released; what they read is not taken in (the
    // state resumes before it).
    drop(rx);
    for thread in threads.into_iter().filter(|t| t.is_finished()) {
        let _ = thread.join();
    }
    let last = watch.flush();
    emitted += emit(&mut watch, last, args, out, &sinks)?;
    if args.state.is_some() {
        save(args, &watch, &followed)?;
    }
    if let Some(path) = &args.save_baseline {
        let mut json = watch.baseline().to_json();
        json.push('\n');
        write_atomically(path, json.as_bytes())?;
    }
    let counts = watch.counts();
    eprintln!(
        "auditlens: watch stopped: {} events, {} requests judged, {} findings ({} reported at \
         {} or above), {} late stages dropped, {} diagnostics",
        counts.events,
        counts.judged,
        counts.findings,
        emitted,
        args.min_severity.as_str(),
        counts.late_stages,
        counts.diagnostics
    );
    let held = watch.footprint();
    eprintln!(
        "auditlens: holding {} strings ({:.1} MB, compacted {} times), {} judged auditIDs \
         remembered, {} identities, {} sequence windows",
        held.strings,
        held.string_bytes as f64 / 1e6,
        held.compactions,
        held.remembered,
        held.identities,
        held.sequence_windows
    );
    let drain = Duration::from_secs_f64(args.drain);
    for (_, sink) in sinks {
        let (kind, report) = sink.close(drain);
        eprintln!(
            "auditlens: {}: {} findings delivered, {} left in the spool, {} dropped (spool full)",
            kind.name(),
            report.delivered,
            report.left,
            report.dropped
        );
    }
    Ok(0)
}

fn display(path: Option<&Path>) -> String {
    path.map_or_else(String::new, |p| p.display().to_string())
}

/// Where to start following `name`: at its saved position, else at its start or end.
fn start_of(name: &str, saved: Option<&SavedState>, from_start: bool) -> Start {
    let position = saved.and_then(|s| {
        let file = s.files.iter().find(|f| f.path == name)?;
        let position = s.watch.positions.iter().rev().find(|p| p.name == name)?;
        Some(Start::At(file.identity, position.offset, position.line))
    });
    match position {
        Some(start) => start,
        None if from_start => Start::Beginning,
        None => Start::End,
    }
}

fn take_input(watch: &mut Watch, followed: &mut [Followed], input: Input, now: i64) {
    match input {
        Input::Opened {
            follower,
            identity,
            offset,
            line,
        } => {
            let Some(f) = followed.get_mut(follower) else {
                return;
            };
            if let Some(source) = f.source.take() {
                watch.end_source(source, now);
            }
            f.source = Some(watch.add_source_at(&f.name, offset, line));
            f.identity = Some(identity);
            f.ended = false;
        }
        Input::Data { follower, bytes } => {
            if let Some(source) = followed.get(follower).and_then(|f| f.source) {
                watch.push(source, &bytes, now);
            }
        }
        Input::Ended { follower } => {
            if let Some(f) = followed.get_mut(follower) {
                if let Some(source) = f.source {
                    watch.end_source(source, now);
                }
                f.ended = true;
            }
        }
        Input::Problem { message, .. } => eprintln!("auditlens: {message}"),
    }
}

/// Writes the findings at or above the threshold to stdout and the sinks, and the
/// diagnostics to stderr; gives how many findings were reported.
fn emit(
    watch: &mut Watch,
    alerts: Vec<Alert>,
    args: &WatchArgs,
    out: &mut dyn Write,
    sinks: &[(Kind, Sink)],
) -> Result<u64> {
    for d in watch.take_diagnostics() {
        eprintln!(
            "auditlens: {}:{}: {}: {}",
            d.file,
            d.line,
            d.kind.code(),
            d.message
        );
    }
    let mut reported = 0;
    let mut batches: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for alert in alerts
        .into_iter()
        .filter(|a| a.finding.severity >= args.min_severity)
    {
        let line = line_of(&alert)?;
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
        for (kind, _) in sinks {
            let item = match kind {
                Kind::Alertmanager => sink::alertmanager_alert(&alert.finding, &alert.group),
                Kind::Webhook => serde_json::from_str(&line)?,
            };
            batches
                .entry(kind.name())
                .or_default()
                .push(item.to_string());
        }
        reported += 1;
    }
    out.flush()?;
    for (kind, sink) in sinks {
        if let Some(batch) = batches.remove(kind.name()) {
            sink.send(batch);
        }
    }
    Ok(reported)
}

/// One finding as written on stdout: the record of the chosen schema, or the finding with its
/// group key.
fn line_of(alert: &Alert) -> Result<String> {
    if let Some(record) = &alert.record {
        return Ok(record.to_string());
    }
    // The fields in `analyze --format jsonl`'s order, then the group key.
    let mut line = serde_json::to_string(&alert.finding)?;
    line.pop();
    line.push_str(",\"group\":");
    line.push_str(&Value::String(alert.group.clone()).to_string());
    line.push('}');
    Ok(line)
}

fn start_sinks(args: &WatchArgs) -> Result<Vec<(Kind, Sink)>> {
    let base = args.spool.clone().unwrap_or_else(|| match &args.state {
        Some(state) => {
            let mut name = state.as_os_str().to_owned();
            name.push(".spool");
            PathBuf::from(name)
        }
        None => PathBuf::from("auditlens-spool"),
    });
    let mut sinks = Vec::new();
    for (kind, url) in [
        (Kind::Alertmanager, &args.alertmanager),
        (Kind::Webhook, &args.webhook),
    ] {
        if let Some(url) = url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("--{} {url:?}: give an http:// or https:// URL", kind.name());
            }
            let sink = Sink::start(kind, url, &base.join(kind.name()), args.spool_max)?;
            sinks.push((kind, sink));
        }
    }
    Ok(sinks)
}

fn load_state(path: &Path) -> Result<SavedState> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read state {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "state {} is not a watch state (remove it to start afresh)",
            path.display()
        )
    })
}

fn save(args: &WatchArgs, watch: &Watch, followed: &[Followed]) -> Result<()> {
    let Some(path) = &args.state else {
        return Ok(());
    };
    let files = followed
        .iter()
        .filter(|f| !f.stdin)
        .filter_map(|f| {
            Some(SavedFile {
                path: f.name.clone(),
                identity: f.identity?,
            })
        })
        .collect();
    let state = SavedState {
        watch: watch.state(RECENT_JUDGED),
        files,
    };
    write_atomically(path, &serde_json::to_vec(&state)?)
}

/// Writes a file so that a reader (or a crash) sees the old content or the new, never a mix:
/// a temporary file beside it, synced, then renamed over it.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}
