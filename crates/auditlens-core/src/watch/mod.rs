//! Watching audit logs as the API server writes them: each request judged as it arrives.
//!
//! ```text
//! push(source, bytes, now) ─▶ FileReader ─▶ Intake: normalize, event rules ─▶ Pending
//!                                                  (stages merged, time order, reorder span)
//! advance(now) ─▶ ready requests ─▶ sequence rules ─▶ OnlineScorer ─▶ Alert (finding, group key,
//!                                                                   OCSF or ECS record)
//! ```
//!
//! The caller owns the files and the clock: it pushes bytes as they are written, says when a
//! file ends (rotated away, or stdin closed), and calls [`Watch::advance`] with the time now,
//! which releases the requests that are ready (see [`pending`]) and judges them, in time
//! order, with the same rules, signals and explanations as a whole log's analysis
//! ([`crate::scoring::online`] says what only hindsight adds there).
//!
//! Memory stays flat however long the watch runs: a judged request is dropped at once; what
//! remains is the model (bounded per identity), each identity's last hour, the sequence
//! rules' five-minute windows, and the auditIDs judged within the last [`WatchOptions::remember`]
//! (at most [`pending::MAX_REMEMBERED`]), which stop a late stage from being judged again.
//!
//! [`Watch::state`] and [`Watch::restore`] carry a watch across a restart: where to read each
//! file from (the first line of a request not yet judged), the requests judged past that
//! point, the learned baseline and the open incidents, so that no request is judged twice and
//! none is skipped.

mod pending;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::analysis::EventStore;
use crate::baseline::Baseline;
use crate::diagnostics::Diagnostic;
use crate::export::{self, Schema};
use crate::ingest::{FileReader, Limits, Sink, WireEvent};
use crate::intern::AuditId;
use crate::model::Source;
use crate::report::Finding;
use crate::rules::sequence::SequenceState;
use crate::rules::RuleConfig;
use crate::scoring::online::OnlineScorer;
use crate::time::Micros;
use pending::{Arrival, Held, Pending};

const SECOND: Micros = 1_000_000;

/// How a watch holds and judges requests.
#[derive(Clone, Copy, Debug)]
pub struct WatchOptions {
    /// How long a complete request is held, so that a slightly earlier one written after it
    /// is judged first.
    pub reorder: Micros,
    /// How long a request whose last stage has not come is held before it is judged with the
    /// stages it has.
    pub wait: Micros,
    /// Without a baseline: how long the start of the watch only teaches (rules still fire).
    pub learn_for: Micros,
    /// How long (log time) a judged auditID is remembered, so that a stage arriving later is
    /// dropped rather than judged again.
    pub remember: Micros,
    /// Also render each finding as a record of this schema.
    pub schema: Option<Schema>,
    /// Strings interned before the first compaction of the interner; later ones come when it
    /// holds twice what the last one kept (see [`Watch::footprint`]).
    pub compact_after: usize,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            reorder: 2 * SECOND,
            wait: 10 * SECOND,
            learn_for: 24 * 3600 * SECOND,
            remember: 3600 * SECOND,
            schema: None,
            compact_after: 200_000,
        }
    }
}

/// Handle of a file (or stream) added to a [`Watch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceId(pub u32);

/// A finding, as soon as its request is judged.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub finding: Finding,
    /// Shared by the findings of one incident (the same actor, findings less than half an
    /// hour apart).
    pub group: String,
    /// The finding as a record of [`WatchOptions::schema`], when one was asked for.
    pub record: Option<Value>,
}

/// What a watch has seen so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WatchCounts {
    pub events: u64,
    /// Stages of requests judged before they arrived (dropped).
    pub late_stages: u64,
    pub judged: u64,
    pub findings: u64,
    pub diagnostics: u64,
}

/// See [`Watch::footprint`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Footprint {
    pub strings: u64,
    pub string_bytes: u64,
    pub remembered: u64,
    pub held: u64,
    pub identities: u64,
    pub compactions: u64,
    /// Open windows of the sequence rules (per identity, client or source).
    pub sequence_windows: u64,
}

struct WatchSource {
    name: String,
    reader: FileReader,
    /// Lines and bytes before where reading started (a restart resumes mid-file).
    line_base: u64,
    byte_base: u64,
    /// Bytes pushed and newlines among them, counting the bases.
    pushed: u64,
    newlines: u64,
    /// Offset just past the last newline pushed, and the line that starts there.
    line_start: (u64, u64),
    ended: bool,
}

/// Where to read a file from after a restart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub name: String,
    /// Byte offset of the first line not yet fully judged, and its (1-based) line number.
    pub offset: u64,
    pub line: u64,
}

/// A request judged after a restart's resume point: its auditID (or key), the file and the
/// offset of its last stage, and its time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JudgedRequest {
    pub request: String,
    pub name: String,
    pub offset: u64,
    pub time: Micros,
}

/// An incident still open: later findings of its actor join it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenIncident {
    pub actor: String,
    pub first: Micros,
    pub last: Micros,
}

/// What carries a watch across a restart; see the module docs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WatchState {
    pub format: String,
    pub version: u32,
    pub positions: Vec<Position>,
    pub judged: Vec<JudgedRequest>,
    pub incidents: Vec<OpenIncident>,
    /// Before this time requests only teach (no baseline was loaded).
    pub learning_end: Option<Micros>,
    pub watermark: Micros,
    /// The baseline learned so far, as `baseline build` writes it.
    pub baseline: Box<RawValue>,
}

const STATE_FORMAT: &str = "auditlens-watch-state";
const STATE_VERSION: u32 = 1;

/// A watch over audit logs; see the module docs.
pub struct Watch {
    limits: Limits,
    options: WatchOptions,
    store: EventStore,
    sources: Vec<WatchSource>,
    pending: Pending,
    scorer: Option<OnlineScorer>,
    baseline: Option<Baseline>,
    learning_end: Option<Micros>,
    sequence: SequenceState,
    sequence_index: usize,
    /// When the sequence rules' stale windows were last forgotten (log time).
    sequence_swept: Micros,
    /// Strings interned past which the interner is compacted, and how often it was.
    compact_at: usize,
    compactions: u64,
    diagnostics: Vec<Diagnostic>,
    counts: WatchCounts,
    incidents: Vec<OpenIncident>,
    /// Requests a restored state says were judged, for sources added after [`Watch::restore`].
    restored_judged: Vec<JudgedRequest>,
}

/// Receives what a file's reader finds.
struct Intake<'a> {
    store: &'a mut EventStore,
    pending: &'a mut Pending,
    diagnostics: &'a mut Vec<Diagnostic>,
    counts: &'a mut WatchCounts,
    now: Micros,
    line_base: u64,
    byte_base: u64,
}

impl<'a> Intake<'a> {
    /// What `source`'s reader finds, at `now`, into the store and the held requests.
    fn new(
        (store, pending): (&'a mut EventStore, &'a mut Pending),
        (diagnostics, counts): (&'a mut Vec<Diagnostic>, &'a mut WatchCounts),
        source: &WatchSource,
        now: Micros,
    ) -> Self {
        Intake {
            store,
            pending,
            diagnostics,
            counts,
            now,
            line_base: source.line_base,
            byte_base: source.byte_base,
        }
    }
}

impl Sink for Intake<'_> {
    fn event(&mut self, wire: &WireEvent<'_>, source: Source, index: u32, truncated: bool) {
        let source = Source {
            line: source.line + self.line_base,
            offset: source.offset + self.byte_base,
            ..source
        };
        let (mut event, agent) = self.store.normalize(wire, source, index, truncated);
        self.counts.events += 1;
        if self
            .pending
            .was_judged(event.audit_id, (source.file, source.offset))
        {
            self.counts.late_stages += 1;
            return;
        }
        if let Some(kept) = self.pending.held(event.audit_id) {
            if let Some(d) = self.store.keep_apart_from(kept, &mut event, index) {
                self.diagnostic(d);
            }
        }
        self.store.match_rules(wire, &event, &agent);
        if let Arrival::Late = self.pending.add(event, self.now) {
            self.counts.late_stages += 1;
        }
    }

    fn diagnostic(&mut self, mut diagnostic: Diagnostic) {
        diagnostic.line += self.line_base;
        diagnostic.offset += self.byte_base;
        self.counts.diagnostics += 1;
        self.diagnostics.push(diagnostic);
    }
}

impl Watch {
    /// A watch with these limits and rules, scoring against `baseline` (learned from earlier
    /// logs) when given.
    pub fn new(
        limits: Limits,
        rules: RuleConfig,
        baseline: Option<Baseline>,
        options: WatchOptions,
    ) -> Watch {
        let analysis = crate::Analysis::new(limits).with_rules(rules);
        let store = analysis.into_store();
        let sequence = store.rules_engine().sequence_state();
        Watch {
            limits,
            options,
            store,
            sources: Vec::new(),
            pending: Pending::default(),
            scorer: None,
            learning_end: baseline.as_ref().map(|_| Micros::MIN),
            baseline,
            sequence,
            sequence_index: 0,
            sequence_swept: Micros::MIN,
            compact_at: options.compact_after,
            compactions: 0,
            diagnostics: Vec::new(),
            counts: WatchCounts::default(),
            incidents: Vec::new(),
            restored_judged: Vec::new(),
        }
    }

    /// Adds a file or stream read from its start.
    pub fn add_source(&mut self, name: &str) -> SourceId {
        self.add_source_at(name, 0, 1)
    }

    /// Adds a file read from byte `offset`, where line `line` (1-based) starts.
    pub fn add_source_at(&mut self, name: &str, offset: u64, line: u64) -> SourceId {
        let id = u32::try_from(self.sources.len()).unwrap_or(u32::MAX);
        let line_base = line.saturating_sub(1);
        self.sources.push(WatchSource {
            name: name.to_string(),
            reader: FileReader::new(name, id, self.limits),
            line_base,
            byte_base: offset,
            pushed: offset,
            newlines: line_base,
            line_start: (offset, line.max(1)),
            ended: false,
        });
        self.store.add_file_name(name);
        for judged in self.restored_judged.iter().filter(|j| j.name == name) {
            let audit_id = AuditId::parse_absent_key(&judged.request)
                .unwrap_or_else(|| self.store.interner.intern_audit_id(&judged.request));
            self.pending
                .remember(audit_id, judged.time, (id, judged.offset));
        }
        SourceId(id)
    }

    /// The name a source was added with.
    pub fn source_name(&self, source: SourceId) -> &str {
        self.sources
            .get(source.0 as usize)
            .map_or("", |s| s.name.as_str())
    }

    /// Reads the next bytes of a source, which arrived at `now` (the caller's clock, in
    /// microseconds; only differences matter).
    pub fn push(&mut self, source: SourceId, bytes: &[u8], now: Micros) {
        let Some(input) = self.sources.get_mut(source.0 as usize) else {
            return;
        };
        if input.ended {
            return;
        }
        let mut intake = Intake::new(
            (&mut self.store, &mut self.pending),
            (&mut self.diagnostics, &mut self.counts),
            input,
            now,
        );
        input.reader.push(bytes, &mut intake);
        input.newlines += memchr::memchr_iter(b'\n', bytes).count() as u64;
        if let Some(last) = memchr::memrchr(b'\n', bytes) {
            input.line_start = (input.pushed + last as u64 + 1, input.newlines + 1);
        }
        input.pushed += bytes.len() as u64;
    }

    /// Ends a source (a file rotated away and read to its end, or a stream closed): its last
    /// line is read.
    pub fn end_source(&mut self, source: SourceId, now: Micros) {
        let Some(input) = self.sources.get_mut(source.0 as usize) else {
            return;
        };
        if input.ended {
            return;
        }
        input.ended = true;
        let mut intake = Intake::new(
            (&mut self.store, &mut self.pending),
            (&mut self.diagnostics, &mut self.counts),
            input,
            now,
        );
        input.reader.finish(&mut intake);
        input.line_start = (input.pushed, input.newlines + 1);
    }

    /// Judges the requests that are ready at `now`; gives the findings among them.
    pub fn advance(&mut self, now: Micros) -> Vec<Alert> {
        let ready = self
            .pending
            .ready(now, self.options.reorder, self.options.wait);
        let alerts = self.judge_all(ready);
        self.pending.forget(self.options.remember);
        alerts
    }

    /// Judges every request still held (at shutdown, or at the end of a stream).
    pub fn flush(&mut self) -> Vec<Alert> {
        let held = self.pending.drain();
        self.judge_all(held)
    }

    /// Diagnostics found since the last call.
    pub fn take_diagnostics(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.diagnostics)
    }

    pub fn counts(&self) -> WatchCounts {
        self.counts
    }

    /// What the watch holds in memory, for people watching its size: strings interned (and
    /// their bytes), judged auditIDs remembered, requests held, identities profiled, how often
    /// the strings were compacted, and the sequence rules' open windows.
    pub fn footprint(&self) -> Footprint {
        Footprint {
            strings: self.store.interner.len() as u64,
            string_bytes: self.store.interner.text_bytes() as u64,
            remembered: self.pending.remembered() as u64,
            held: self.pending.len() as u64,
            identities: self
                .scorer
                .as_ref()
                .map_or(0, |s| s.model().identities.len() as u64),
            compactions: self.compactions,
            sequence_windows: self.sequence.windows() as u64,
        }
    }

    /// Requests held, not yet judged.
    pub fn held(&self) -> usize {
        self.pending.len()
    }

    /// The baseline learned so far: the loaded one (or the restored one) and every request
    /// judged since.
    pub fn baseline(&self) -> Baseline {
        match (&self.scorer, &self.baseline) {
            (Some(scorer), _) => scorer.baseline(&self.store.interner),
            (None, Some(baseline)) => baseline.clone(),
            (None, None) => Baseline::from_model(&Default::default(), &self.store.interner),
        }
    }

    fn judge_all(&mut self, ready: Vec<Held>) -> Vec<Alert> {
        let mut alerts = Vec::new();
        let last = ready.last().map(|h| h.event.received);
        for held in ready {
            if let Some(alert) = self.judge(held) {
                alerts.push(alert);
            }
        }
        // Once a minute of log time, windows that can no longer complete a pattern go.
        if let Some(last) = last {
            if last.saturating_sub(self.sequence_swept) >= 60 * SECOND {
                self.sequence.forget_before(last);
                self.sequence_swept = last;
            }
            self.compact_if_due(last);
        }
        alerts
    }

    /// Moves every string still referred to into a fresh interner and drops the old one, once
    /// it holds twice what the last compaction kept: names, URIs and the like of requests
    /// long judged would otherwise pile up for as long as the watch runs.
    fn compact_if_due(&mut self, t: Micros) {
        if self.store.interner.len() < self.compact_at {
            return;
        }
        let old = std::mem::take(&mut self.store.interner);
        let mut fresh = crate::intern::Interner::default();
        if let Some(scorer) = self.scorer.as_mut() {
            scorer.move_to(&old, &mut fresh, t);
        }
        let mut mover = old.mover(&mut fresh);
        self.pending.move_to(&mut mover);
        self.sequence.move_to(&mut mover);
        self.store.move_rule_hits(&mut mover);
        drop(mover);
        self.store.interner = fresh;
        self.compactions += 1;
        self.compact_at = (self.store.interner.len() * 2).max(self.options.compact_after);
    }

    fn scorer(&mut self, first: Micros) -> &mut OnlineScorer {
        let learning_end = *self
            .learning_end
            .get_or_insert_with(|| first.saturating_add(self.options.learn_for));
        let store = &mut self.store;
        let baseline = &self.baseline;
        let incidents = &self.incidents;
        self.scorer.get_or_insert_with(|| {
            let mut scorer =
                OnlineScorer::new(baseline.as_ref(), learning_end, &mut store.interner);
            for open in incidents {
                scorer.resume_incident(&open.actor, open.first, open.last, &mut store.interner);
            }
            scorer
        })
    }

    fn judge(&mut self, held: Held) -> Option<Alert> {
        let event = held.event;
        self.counts.judged += 1;
        let mut hits = self.store.take_rule_hits(event.audit_id);
        let index = self.sequence_index;
        self.sequence_index += 1;
        self.sequence
            .step(&self.store.interner, index, &event, &hits);
        for (_, meta, message) in self.sequence.take_found() {
            let engine = self.store.rules_engine();
            if let Some(hit) = engine.sequence_hit(meta, message, &event, &self.store.interner) {
                if !hits.iter().any(|h| h.rule == hit.rule) {
                    hits.push(hit);
                }
            }
        }
        self.scorer(event.received);
        let file = self
            .sources
            .get(event.source.file as usize)
            .map_or("", |s| s.name.as_str());
        let scorer = self.scorer.as_mut()?;
        let judged = scorer.judge(&event, &hits, file, &mut self.store.interner)?;
        self.counts.findings += 1;
        let record = self.options.schema.map(|schema| {
            export::record(
                schema,
                &judged.finding,
                Some(&event),
                &self.store.interner,
                judged.group.clone(),
            )
        });
        Some(Alert {
            finding: judged.finding,
            group: judged.group,
            record,
        })
    }

    /// What a restart needs to go on where this watch is now; see the module docs. Besides
    /// the requests judged past each file's resume point, those judged within `recent` (log
    /// time) of the latest are kept, so that a stage of theirs written after the restart is
    /// not taken for a new request.
    pub fn state(&self, recent: Micros) -> WatchState {
        let interner = &self.store.interner;
        let mut positions = Vec::new();
        let mut judged = Vec::new();
        for (index, source) in self.sources.iter().enumerate() {
            let file = index as u32;
            let (offset, line) = self
                .pending
                .earliest_place(file)
                .map_or(source.line_start, |place| place.min(source.line_start));
            positions.push(Position {
                name: source.name.clone(),
                offset,
                line,
            });
            let since = self.pending.watermark.saturating_sub(recent);
            let mut after: Vec<JudgedRequest> = self
                .pending
                .judged_from(file, offset, since)
                .map(|(id, j)| JudgedRequest {
                    request: interner.request_key(id).into_owned(),
                    name: source.name.clone(),
                    offset: j.place.1,
                    time: j.at,
                })
                .collect();
            after.sort_by(|a, b| (a.offset, &a.request).cmp(&(b.offset, &b.request)));
            judged.extend(after);
        }
        let incidents = match &self.scorer {
            Some(scorer) => scorer
                .open_incidents(self.pending.watermark, interner)
                .into_iter()
                .map(|(actor, first, last)| OpenIncident { actor, first, last })
                .collect(),
            None => self.incidents.clone(),
        };
        // Carried as the text `Baseline::to_json` writes, neither parsed nor written again.
        let baseline = RawValue::from_string(self.baseline().to_json()).unwrap_or_default();
        WatchState {
            format: STATE_FORMAT.to_string(),
            version: STATE_VERSION,
            positions,
            judged,
            incidents,
            learning_end: self.learning_end,
            watermark: self.pending.watermark,
            baseline,
        }
    }

    /// Goes on from a saved state: call before adding the sources (each at its saved
    /// position). Fails, saying why, on a state this version cannot read.
    pub fn restore(&mut self, state: &WatchState) -> Result<(), String> {
        if state.format != STATE_FORMAT || state.version != STATE_VERSION {
            return Err(format!(
                "not a watch state this version reads ({} version {}; expected {STATE_FORMAT} \
                 version {STATE_VERSION})",
                state.format, state.version
            ));
        }
        let baseline =
            Baseline::from_json(state.baseline.get()).map_err(|e| format!("its baseline: {e}"))?;
        self.baseline = Some(baseline);
        self.learning_end = state.learning_end;
        self.scorer = None;
        self.incidents = state.incidents.clone();
        self.pending.watermark = state.watermark;
        self.restored_judged = state.judged.clone();
        Ok(())
    }
}
