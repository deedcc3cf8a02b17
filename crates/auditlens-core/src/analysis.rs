//! An analysis: several files read into one set of requests.
//!
//! The caller adds files, pushes their bytes in chunks of any size (in any interleaving), and
//! calls [`Analysis::finish`]. Events are normalized into compact [`Event`]s as they stream
//! past; the stages of one request (same auditID) are merged into one, keeping the most
//! complete stage. After `finish`, requests are in time order, ready for scoring.

use std::collections::BTreeSet;

use hashbrown::HashTable;

use crate::baseline::sketch::IdMap;
use crate::baseline::{Baseline, Model};
use crate::detection::{RuleHit, RuleHits};
use crate::diagnostics::{Diagnostic, DiagnosticKind};
use crate::ingest::{FileCounts, FileReader, Limits, Sink, WireEvent, WireUser};
use crate::intern::{AuditId, Interner, ListId, Sym};
use crate::model::{parse_user_agent, BodyBytes, Decision, Event, Level, Source, Stage};
use crate::report::{FileSummary, Finding, IdentityProfile, Incident, Report, Summary};
use crate::rules::{AgentFacts, RuleConfig, RuleEngine};
use crate::scoring;
use crate::time::{format_rfc3339, Micros};

/// Diagnostics kept in full; past this only their counts grow. A file of garbage must not
/// turn into a second copy of itself in memory.
pub const MAX_KEPT_DIAGNOSTICS: usize = 10_000;

/// Handle of a file added to an [`Analysis`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

#[derive(Debug)]
struct InputFile {
    name: String,
    reader: FileReader,
    finished: bool,
    /// The file's size in bytes, when the caller knows it (see [`Analysis::set_file_size`]).
    size: Option<u64>,
    /// Requests held when the file's first bytes arrived.
    requests_before: usize,
}

/// Bytes of a file of known size after which its requests so far show how much room the rest
/// will take.
const ESTIMATE_AFTER: u64 = 16 << 20;

/// The fewest bytes a request is assumed to take, whatever a file's first bytes held: bounds
/// the room set aside for a file whose first requests were unusually small.
const MIN_REQUEST_BYTES: u64 = 256;

/// What appending a part found: requests of the part whose auditID named a request here with
/// different content, each given an id of its own, and the diagnostics that say so.
#[derive(Debug, Default)]
pub(crate) struct PartConflicts {
    /// (the auditID, the id the request was given instead).
    pub rekeyed: Vec<(AuditId, AuditId)>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Normalized requests and the diagnostics met on the way.
#[derive(Debug, Default)]
pub struct EventStore {
    pub interner: Interner,
    requests: Vec<Event>,
    /// Requests by auditID: (index into `requests`, [`audit_hash`] of its auditID). The hash
    /// is kept so that growing the table reads no request.
    by_audit_id: HashTable<(u32, u32)>,
    /// Requests taken in from appended parts, which `by_audit_id` leaves out: ([`audit_hash`]
    /// of the auditID, index into `requests`), sorted. A part's auditIDs are looked up here in
    /// one merge of sorted lists rather than one random probe each.
    appended: Vec<(u32, u32)>,
    /// Per distinct user agent: its client and version, and what the rules read from it.
    user_agents: IdMap<Sym, Agent>,
    diagnostics: Vec<Diagnostic>,
    /// Detection rule hits per request, by auditID, over all its stages.
    rule_hits: RuleHits,
    /// The detection rules, judged on each event as it streams past.
    rules: RuleEngine,
    /// Per file: diagnostics (kept or not), and the time of its latest event, which stands in
    /// for events that carry no timestamp of their own.
    file_diagnostics: Vec<u64>,
    file_last_time: Vec<Micros>,
    /// Per file: its name, for diagnostics found while merging.
    file_names: Vec<String>,
    current_file: usize,
    /// Reused while interning a list, so that normalizing an event allocates nothing.
    list_buffer: Vec<Sym>,
}

/// What normalizing and the rules read from one distinct user agent.
#[derive(Clone, Copy, Debug)]
struct Agent {
    client: Sym,
    version: Sym,
    facts: AgentFacts,
}

/// Reads audit log files into requests. See the module docs.
#[derive(Debug, Default)]
pub struct Analysis {
    limits: Limits,
    files: Vec<InputFile>,
    store: EventStore,
    findings: Vec<Finding>,
    /// A baseline to score against, from earlier logs.
    baseline: Option<Baseline>,
    incidents: Vec<Incident>,
    identities: Vec<IdentityProfile>,
    /// What was learned: the loaded baseline plus these logs.
    learned: Model,
    finished: bool,
    /// Whether scoring revises its verdicts with hindsight (see [`Analysis::without_hindsight`]).
    no_hindsight: bool,
}

impl Analysis {
    pub fn new(limits: Limits) -> Self {
        Analysis {
            limits,
            ..Analysis::default()
        }
    }

    /// Runs the detection rules under `config` instead of the built-in configuration. Call
    /// before adding files.
    pub fn with_rules(mut self, config: RuleConfig) -> Self {
        self.store.rules = RuleEngine::new(config);
        self
    }

    /// A new analysis with the same limits and rules, and no files.
    pub(crate) fn empty_like(&self) -> Analysis {
        Analysis::new(self.limits).with_rules(self.store.rules.config().clone())
    }

    /// Ends a shard's file: its last line is read; no judgement on the file as a whole.
    pub(crate) fn finish_shard_file(&mut self, file: FileId) {
        if let Some(input) = self.files.get_mut(file.0 as usize) {
            self.store.current_file = file.0 as usize;
            input.reader.finish(&mut self.store);
        }
    }

    /// Makes a file's reader continue JSON lines from a line boundary.
    pub(crate) fn continue_lines(&mut self, file: FileId) {
        if let Some(input) = self.files.get_mut(file.0 as usize) {
            input.reader = FileReader::continuing_lines(&input.name, file.0, self.limits);
        }
    }

    /// Takes a file's reader out, leaving a new one.
    pub(crate) fn take_reader(&mut self, file: FileId) -> Option<Box<FileReader>> {
        let input = self.files.get_mut(file.0 as usize)?;
        let fresh = FileReader::new(&input.name, file.0, self.limits);
        Some(Box::new(std::mem::replace(&mut input.reader, fresh)))
    }

    /// Puts a reader back in place.
    pub(crate) fn put_reader(&mut self, file: FileId, reader: Box<FileReader>) {
        if let Some(input) = self.files.get_mut(file.0 as usize) {
            input.reader = *reader;
        }
    }

    /// Continues a file with what `later` read after it; gives the lines and bytes that came
    /// before, or the reader back when it cannot continue this file.
    pub(crate) fn append_reader(
        &mut self,
        file: FileId,
        later: Box<FileReader>,
    ) -> Result<(u64, u64), Box<FileReader>> {
        let Some(input) = self.files.get_mut(file.0 as usize) else {
            return Err(later);
        };
        if input.finished || !later.is_plain_native_lines() {
            return Err(later);
        }
        if input.reader.counts().bytes == 0 {
            input.reader = *later;
            return Ok((0, 0));
        }
        let position = input.reader.position();
        if input.reader.append(&later) {
            Ok(position)
        } else {
            Err(later)
        }
    }

    pub(crate) fn store_mut(&mut self) -> &mut EventStore {
        &mut self.store
    }

    /// The reader of a file.
    pub(crate) fn reader(&self, file: FileId) -> Option<&FileReader> {
        self.files.get(file.0 as usize).map(|f| &f.reader)
    }

    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    pub(crate) fn into_store(self) -> EventStore {
        self.store
    }

    /// Scores each request as it would have been scored when it arrived, as `auditlens watch`
    /// does: without the window model and the fleet check, which look at the whole log
    /// ([`crate::scoring::online`]). Call before [`Analysis::finish`].
    pub fn without_hindsight(mut self) -> Self {
        self.no_hindsight = true;
        self
    }

    /// Scores requests against `baseline` (learned from earlier logs) as well as their own
    /// history, with no learning period. Call before [`Analysis::finish`].
    pub fn with_baseline(mut self, baseline: Baseline) -> Self {
        self.baseline = Some(baseline);
        self
    }

    /// Adds a file; its bytes follow with [`Analysis::push`].
    pub fn add_file(&mut self, name: &str) -> FileId {
        let id = u32::try_from(self.files.len()).unwrap_or(u32::MAX);
        self.files.push(InputFile {
            name: name.to_string(),
            reader: FileReader::new(name, id, self.limits),
            finished: false,
            size: None,
            requests_before: 0,
        });
        self.store.file_diagnostics.push(0);
        self.store.file_last_time.push(0);
        self.store.file_names.push(name.to_string());
        FileId(id)
    }

    /// Says how many bytes a file holds (as pushed: compressed, for a gzip file), when known.
    ///
    /// Once its first 16 MB are read, the requests they held say how many the whole file will
    /// hold, and room for them all is set aside at once. Without it, the list of requests grows
    /// by doubling: each time, the old list is copied into a new one twice its size, which in
    /// wasm's linear memory (which never shrinks) leaves the peak far above what the requests
    /// need. Parts appended later (see [`Analysis::append_shard`]) then fit in that room too.
    pub fn set_file_size(&mut self, file: FileId, bytes: u64) {
        if let Some(input) = self.files.get_mut(file.0 as usize) {
            input.size = Some(bytes);
        }
    }

    /// Reads the next chunk of a file.
    pub fn push(&mut self, file: FileId, bytes: &[u8]) {
        let Some(input) = self.files.get_mut(file.0 as usize) else {
            return;
        };
        if input.finished {
            return;
        }
        self.store.current_file = file.0 as usize;
        let before = input.reader.counts().bytes;
        if before == 0 {
            input.requests_before = self.store.requests.len();
        }
        input.reader.push(bytes, &mut self.store);
        let read = input.reader.counts().bytes;
        // Once, as the file's first ESTIMATE_AFTER bytes are passed.
        if let Some(size) = input
            .size
            .filter(|_| before < ESTIMATE_AFTER && read >= ESTIMATE_AFTER)
        {
            let seen = self
                .store
                .requests
                .len()
                .saturating_sub(input.requests_before);
            self.store.make_room(seen, read, size);
        }
    }

    /// Ends a file: its last line is read.
    pub fn finish_file(&mut self, file: FileId) {
        let Some(input) = self.files.get_mut(file.0 as usize) else {
            return;
        };
        if input.finished {
            return;
        }
        input.finished = true;
        self.store.current_file = file.0 as usize;
        input.reader.finish(&mut self.store);
        input.reader.report_gaps(&mut self.store);
        let counts = input.reader.counts();
        if counts.events == 0 && counts.records > 0 {
            let message = input.reader.no_events_message();
            let at = crate::diagnostics::At { line: 1, offset: 0 };
            self.store.diagnostic(Diagnostic::error(
                &input.name,
                at,
                DiagnosticKind::NotAuditEvent,
                message,
            ));
        }
    }

    /// Ends a file that could not be read to its end (removed or changed while being read, a
    /// disk error): what was read stays analysed, and a `read-error` diagnostic at the place
    /// where reading stopped says why (`reason`, as the reader gave it).
    pub fn read_failed(&mut self, file: FileId, reason: &str) {
        let Some(input) = self.files.get(file.0 as usize) else {
            return;
        };
        if input.finished {
            return;
        }
        let (lines, offset) = input.reader.position();
        let message = format!(
            "the file could not be read past byte {offset} ({reason}); what came before was \
             analysed (was it moved, changed or removed while it was read? read it again, or \
             copy it somewhere stable first)"
        );
        let at = crate::diagnostics::At {
            line: lines + 1,
            offset,
        };
        let diagnostic = Diagnostic::error(&input.name, at, DiagnosticKind::ReadError, message);
        self.store.current_file = file.0 as usize;
        self.store.diagnostic(diagnostic);
        self.finish_file(file);
    }

    /// Ends every file and puts the requests in time order. Pushes after this are ignored.
    pub fn finish(&mut self) {
        if self.finished {
            return;
        }
        for index in 0..self.files.len() {
            self.finish_file(FileId(index as u32));
        }
        self.store.sort_by_time();
        let s = &mut self.store;
        s.rules.finish(&s.requests, &s.interner, &mut s.rule_hits);
        self.score();
        self.finished = true;
    }

    /// The requests (in time order after [`Analysis::finish`]).
    pub fn requests(&self) -> &[Event] {
        &self.store.requests
    }

    /// The strings behind every [`Sym`].
    pub fn interner(&self) -> &Interner {
        &self.store.interner
    }

    /// Diagnostics kept (at most [`MAX_KEPT_DIAGNOSTICS`]), in the order met.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.store.diagnostics
    }

    /// The rules of this analysis: the catalog, each rule's state, the configuration.
    pub fn rules(&self) -> &RuleEngine {
        &self.store.rules
    }

    /// The detection rules a request matched (by its auditID).
    pub fn rule_hits(&self, audit_id: AuditId) -> &[RuleHit] {
        self.store
            .rule_hits
            .get(&audit_id)
            .map_or(&[], Vec::as_slice)
    }

    /// Findings, most urgent first.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Incidents (findings of one identity close in time), most urgent first.
    pub fn incidents(&self) -> &[Incident] {
        &self.incidents
    }

    /// What is normal for each identity, by username.
    pub fn identity_profiles(&self) -> &[IdentityProfile] {
        &self.identities
    }

    /// The baseline learned from these logs (merged into the loaded one, if any), ready to be
    /// saved with [`Baseline::to_json`] and loaded into a later analysis.
    pub fn baseline(&self) -> Baseline {
        Baseline::from_model(&self.learned, &self.store.interner)
    }

    /// Scores the requests (after they are in time order and every rule has run).
    fn score(&mut self) {
        let names: Vec<&str> = self.files.iter().map(|f| f.name.as_str()).collect();
        let store = &mut self.store;
        let inputs = scoring::Inputs {
            requests: &store.requests,
            rule_hits: &store.rule_hits,
            files: &names,
            baseline: self.baseline.as_ref(),
        };
        let scored = if self.no_hindsight {
            scoring::score_without_hindsight(&inputs, &mut store.interner)
        } else {
            scoring::score(&inputs, &mut store.interner)
        };
        self.findings = scored.findings;
        self.incidents = scored.incidents;
        self.identities = scored.identities;
        self.learned = scored.model;
    }

    /// The name of a file.
    pub fn file_name(&self, file: u32) -> &str {
        self.files
            .get(file as usize)
            .map_or("", |f| f.name.as_str())
    }

    /// Counts for one file so far.
    pub fn file_counts(&self, file: FileId) -> Option<&FileCounts> {
        self.files.get(file.0 as usize).map(|f| f.reader.counts())
    }

    /// Bytes read so far, over all files (compressed sizes for gzip).
    pub fn bytes_read(&self) -> u64 {
        self.files.iter().map(|f| f.reader.counts().bytes).sum()
    }

    /// Totals, per file and overall.
    pub fn summary(&self) -> Summary {
        let mut per_file: Vec<(u64, BTreeSet<Sym>)> = vec![(0, BTreeSet::new()); self.files.len()];
        let mut identities = BTreeSet::new();
        let (mut first, mut last) = (Micros::MAX, Micros::MIN);
        for event in &self.store.requests {
            if let Some((requests, ids)) = per_file.get_mut(event.source.file as usize) {
                *requests += 1;
                ids.insert(event.effective_user());
            }
            identities.insert(event.effective_user());
            first = first.min(event.received);
            last = last.max(event.received);
        }
        let files: Vec<FileSummary> = self
            .files
            .iter()
            .zip(per_file)
            .zip(&self.store.file_diagnostics)
            .map(|((input, (requests, ids)), &diagnostics)| {
                let c = input.reader.counts();
                FileSummary {
                    path: input.name.clone(),
                    format: input.reader.format_name(),
                    detected: input.reader.detected(),
                    context: input.reader.context(),
                    bytes: c.bytes,
                    decoded_bytes: c.decoded_bytes,
                    lines: c.lines,
                    blank_lines: c.blank_lines,
                    records: c.records,
                    accepted: c.accepted,
                    rejected: c.rejected,
                    skipped: c.skipped,
                    events: c.events,
                    requests,
                    identities: ids.len() as u64,
                    diagnostics,
                    warnings: c.warnings,
                }
            })
            .collect();
        let any = !self.store.requests.is_empty();
        Summary {
            lines: files.iter().map(|f| f.lines).sum(),
            blank_lines: files.iter().map(|f| f.blank_lines).sum(),
            records: files.iter().map(|f| f.records).sum(),
            accepted: files.iter().map(|f| f.accepted).sum(),
            rejected: files.iter().map(|f| f.rejected).sum(),
            skipped: files.iter().map(|f| f.skipped).sum(),
            events: files.iter().map(|f| f.events).sum(),
            requests: self.store.requests.len() as u64,
            identities: identities.len() as u64,
            diagnostics: files.iter().map(|f| f.diagnostics).sum(),
            warnings: files.iter().map(|f| f.warnings).sum(),
            first: any.then(|| format_rfc3339(first)),
            last: any.then(|| format_rfc3339(last)),
            files,
        }
    }

    /// The whole result, as `--format json` prints it.
    pub fn report(&self) -> Report {
        Report {
            summary: self.summary(),
            findings: self.findings.clone(),
            incidents: self.incidents.clone(),
            diagnostics: self.store.diagnostics.clone(),
        }
    }
}

impl EventStore {
    /// Sets aside room for the requests a file of `size` bytes will hold, having held `seen` in
    /// its first `read` bytes (with a small margin, and never more than one per
    /// [`MIN_REQUEST_BYTES`]). Where that room cannot be had, the list grows as it would have.
    fn make_room(&mut self, seen: usize, read: u64, size: u64) {
        if read == 0 || seen == 0 {
            return;
        }
        let expected = (seen as u128 * u128::from(size) / u128::from(read))
            .min(u128::from(size / MIN_REQUEST_BYTES));
        let wanted = expected + expected / 32;
        let more = usize::try_from(wanted.saturating_sub(seen as u128)).unwrap_or(usize::MAX);
        // Only a hint: a refusal (too large for this platform) leaves things as they were.
        let _ = self.requests.try_reserve_exact(more);
    }

    /// Puts the requests in time order (ties in file order) and frees the auditID index,
    /// which only merging stages needs.
    fn sort_by_time(&mut self) {
        // Sorting small keys and then moving each request once is faster than sorting the
        // requests, and needs no second copy of them.
        let mut keys: Vec<(Micros, u32, u64, u32)> = self
            .requests
            .iter()
            .enumerate()
            .map(|(i, e)| (e.received, e.source.file, e.source.offset, i as u32))
            .collect();
        keys.sort_unstable();
        let mut from: Vec<u32> = keys.into_iter().map(|k| k.3).collect();
        // Position `i` takes the request at `from[i]`: follow each cycle of the permutation,
        // moving each request once.
        for start in 0..from.len() {
            if from[start] as usize == start {
                continue;
            }
            let first = self.requests[start].clone();
            let mut at = start;
            loop {
                let source = from[at] as usize;
                from[at] = at as u32;
                if source == start {
                    self.requests[at] = first;
                    break;
                }
                self.requests[at] = self.requests[source].clone();
                at = source;
            }
        }
        self.by_audit_id = HashTable::new();
        self.appended = Vec::new();
    }

    fn intern_opt(&mut self, text: Option<&str>) -> Sym {
        text.map_or(Sym::EMPTY, |t| self.interner.intern(t))
    }

    fn intern_strings<'s>(&mut self, items: impl Iterator<Item = &'s str>) -> ListId {
        let mut syms = std::mem::take(&mut self.list_buffer);
        syms.clear();
        syms.extend(items.map(|s| self.interner.intern(s)));
        let id = self.interner.intern_list(&syms);
        self.list_buffer = syms;
        id
    }

    fn user(&mut self, user: Option<&WireUser<'_>>) -> (Sym, Sym, ListId, ListId) {
        let Some(user) = user else {
            return (Sym::EMPTY, Sym::EMPTY, ListId::EMPTY, ListId::EMPTY);
        };
        let name = self.intern_opt(user.username.as_deref());
        let uid = self.intern_opt(user.uid.as_deref());
        let groups = match &user.groups {
            Some(groups) => self.intern_strings(groups.iter().map(|g| g.as_ref())),
            None => ListId::EMPTY,
        };
        let extra = match &user.extra {
            Some(extra) => {
                let mut entries: Vec<String> = extra
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.join(",")))
                    .collect();
                entries.sort();
                self.intern_strings(entries.iter().map(String::as_str))
            }
            None => ListId::EMPTY,
        };
        (name, uid, groups, extra)
    }

    fn agent(&mut self, user_agent: Sym) -> Agent {
        if let Some(&agent) = self.user_agents.get(&user_agent) {
            return agent;
        }
        let text = self.interner.resolve(user_agent).to_string();
        let (client, version) = parse_user_agent(&text);
        let agent = Agent {
            client: self.interner.intern(client),
            version: self.interner.intern(version),
            facts: AgentFacts::of(&text),
        };
        self.user_agents.insert(user_agent, agent);
        agent
    }

    /// Normalizes a wire event; also gives what the rules read from its user agent.
    pub(crate) fn normalize(
        &mut self,
        wire: &WireEvent<'_>,
        source: Source,
        index: u32,
        truncated: bool,
    ) -> (Event, AgentFacts) {
        let last_time = self
            .file_last_time
            .get(source.file as usize)
            .copied()
            .unwrap_or(0);
        let received = wire.time().unwrap_or(last_time);
        if let Some(slot) = self.file_last_time.get_mut(source.file as usize) {
            *slot = received;
        }
        let (user, uid, groups, extra) = self.user(wire.user.as_ref());
        let (impersonated_user, _, impersonated_groups, _) =
            self.user(wire.impersonated_user.as_ref());
        let object = wire.object_ref.as_ref();
        let api_group = object.and_then(|o| o.api_group.as_deref());
        let api_version = object.and_then(|o| o.api_version.as_deref());
        let resource = object.and_then(|o| o.resource.as_deref());
        let subresource = object.and_then(|o| o.subresource.as_deref());
        let namespace = object.and_then(|o| o.namespace.as_deref());
        let name = object.and_then(|o| o.name.as_deref());
        let user_agent = self.intern_opt(wire.user_agent.as_deref());
        let agent = self.agent(user_agent);
        let source_ips = match &wire.source_ips {
            Some(ips) => self.intern_strings(ips.iter().map(|ip| ip.as_ref())),
            None => ListId::EMPTY,
        };
        // No stage: the event stands for the whole request.
        let stage = Stage::parse(wire.stage.as_deref().unwrap_or("ResponseComplete"));
        // No auditID: an id of its own, never merged with another request.
        let audit_id = match wire.audit_id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => self.interner.intern_audit_id(id),
            None => AuditId::absent(source.file, source.offset, index),
        };
        let event = Event {
            audit_id,
            stage,
            stages_seen: stage.bit(),
            level: Level::parse(wire.level.as_deref().unwrap_or("")),
            received,
            user,
            uid,
            groups,
            extra,
            impersonated_user,
            impersonated_groups,
            verb: self.intern_opt(wire.verb.as_deref()),
            api_group: self.intern_opt(api_group),
            api_version: self.intern_opt(api_version),
            resource: self.intern_opt(resource),
            subresource: self.intern_opt(subresource),
            namespace: self.intern_opt(namespace),
            name: self.intern_opt(name),
            request_uri: self.intern_opt(wire.request_uri.as_deref()),
            non_resource: object.is_none(),
            source_ips,
            user_agent,
            client: agent.client,
            client_version: agent.version,
            code: wire
                .response_status
                .as_ref()
                .and_then(|s| s.code())
                .unwrap_or(0),
            decision: Decision::parse(
                wire.annotation("authorization.k8s.io/decision")
                    .unwrap_or(""),
            ),
            reason: self.intern_opt(wire.annotation("authorization.k8s.io/reason")),
            truncated,
            bodies: body_bytes(wire),
            source,
        };
        (event, agent.facts)
    }

    /// Adds an event, merging it into the request with the same auditID; `found` is that
    /// request, when [`EventStore::indexed`] found it.
    fn add(&mut self, event: Event, found: Option<u32>) {
        if let Some(index) = found {
            self.merge_into(index, event);
            return;
        }
        let short = audit_hash(event.audit_id);
        let index = u32::try_from(self.requests.len()).unwrap_or(u32::MAX);
        self.by_audit_id
            .insert_unique(spread(short), (index, short), rehash);
        self.requests.push(event);
    }

    /// Puts the requests of appended parts into the hash index, before events are added one
    /// by one again (a later file read in one pass).
    fn index_appended(&mut self) {
        let appended = std::mem::take(&mut self.appended);
        self.by_audit_id.reserve(appended.len(), rehash);
        for (short, index) in appended {
            self.by_audit_id
                .insert_unique(spread(short), (index, short), rehash);
        }
    }

    /// The request with auditID `id` (whose [`audit_hash`] is `short`) among those added one
    /// by one.
    fn indexed(&self, id: AuditId, short: u32) -> Option<u32> {
        let requests = &self.requests;
        self.by_audit_id
            .find(spread(short), |&(index, hash)| {
                hash == short && holds(requests, index, id)
            })
            .map(|&(index, _)| index)
    }

    /// Merges another stage of the request at `index` into it: the most complete stage is
    /// kept, with the earliest time and every stage seen.
    fn merge_into(&mut self, index: u32, event: Event) {
        if let Some(kept) = self.requests.get_mut(index as usize) {
            kept.merge_stage(event);
        }
    }

    /// When `event` disagrees with the request at `index` (the one its auditID names) on who
    /// did what, makes it a request of its own, known by its place in the file as one without
    /// an auditID is (`record_index`: its place among its record's events), and gives the
    /// diagnostic that says so. The API server takes a client's `Audit-ID` header as the
    /// auditID, so a client can reuse another request's; hand-edited or spliced files repeat
    /// them too.
    fn keep_apart(&self, index: u32, event: &mut Event, record_index: u32) -> Option<Diagnostic> {
        let kept = self.requests.get(index as usize)?;
        self.keep_apart_from(kept, event, record_index)
    }

    /// [`EventStore::keep_apart`] from a request held elsewhere (`kept`).
    pub(crate) fn keep_apart_from(
        &self,
        kept: &Event,
        event: &mut Event,
        record_index: u32,
    ) -> Option<Diagnostic> {
        let fields = conflicting_fields(kept, event);
        if fields.is_empty() {
            return None;
        }
        let diagnostic = self.conflict_diagnostic(event.audit_id, event.source, &fields);
        event.audit_id = AuditId::absent(event.source.file, event.source.offset, record_index);
        Some(diagnostic)
    }

    /// The warning that an event was kept apart from the request its auditID names.
    fn conflict_diagnostic(
        &self,
        audit_id: AuditId,
        source: Source,
        fields: &[(&'static str, Sym, Sym)],
    ) -> Diagnostic {
        let shown = |sym: Sym| -> String {
            let text = self.interner.resolve(sym);
            match text.char_indices().nth(80) {
                Some((cut, _)) => format!("{:?}...", &text[..cut]),
                None => format!("{text:?}"),
            }
        };
        let differences: Vec<String> = fields
            .iter()
            .map(|&(field, kept, other)| {
                format!("{field} {} here, {} before", shown(other), shown(kept))
            })
            .collect();
        let message = format!(
            "auditID {} was seen before with different content ({}); this event is kept as a \
             request of its own, known by its place in the file (\"auditID\": null in outputs)",
            self.interner.audit_id_text(audit_id),
            differences.join("; ")
        );
        let name = self
            .file_names
            .get(source.file as usize)
            .map_or("", String::as_str);
        let at = crate::diagnostics::At {
            line: source.line,
            offset: source.offset,
        };
        Diagnostic::warning(name, at, DiagnosticKind::ConflictingAuditId, message)
    }
}

/// The fields of who did what in which two events of one auditID disagree on, as (field, the
/// kept request's value, the other's). Every stage of one request carries the same user, verb
/// and URI; a field that one of them lacks (an event cut short) is no disagreement.
fn conflicting_fields(kept: &Event, other: &Event) -> Vec<(&'static str, Sym, Sym)> {
    [
        ("user", kept.user, other.user),
        ("verb", kept.verb, other.verb),
        ("requestURI", kept.request_uri, other.request_uri),
        (
            "impersonated user",
            kept.impersonated_user,
            other.impersonated_user,
        ),
    ]
    .into_iter()
    .filter(|&(_, a, b)| a != b && a != Sym::EMPTY && b != Sym::EMPTY)
    .collect()
}

impl Sink for EventStore {
    fn event(&mut self, wire: &WireEvent<'_>, source: Source, index: u32, truncated: bool) {
        let (mut event, agent) = self.normalize(wire, source, index, truncated);
        if !self.appended.is_empty() {
            self.index_appended();
        }
        let mut found = self.indexed(event.audit_id, audit_hash(event.audit_id));
        if let Some(diagnostic) = found.and_then(|i| self.keep_apart(i, &mut event, index)) {
            self.count_diagnostics(source.file, 1);
            self.keep_diagnostic(diagnostic);
            found = None;
        }
        self.rules
            .evaluate(wire, &event, &agent, &self.interner, &mut self.rule_hits);
        self.add(event, found);
    }

    fn diagnostic(&mut self, diagnostic: Diagnostic) {
        self.count_diagnostics(self.current_file as u32, 1);
        self.keep_diagnostic(diagnostic);
    }
}

impl EventStore {
    /// Registers one more file by name (files are numbered in the order registered).
    pub(crate) fn add_file_name(&mut self, name: &str) {
        self.file_diagnostics.push(0);
        self.file_last_time.push(0);
        self.file_names.push(name.to_string());
    }

    /// Runs the event rules on a normalized event (hits kept by its auditID).
    pub(crate) fn match_rules(&mut self, wire: &WireEvent<'_>, event: &Event, agent: &AgentFacts) {
        self.rules
            .evaluate(wire, event, agent, &self.interner, &mut self.rule_hits);
    }

    /// Replaces the interner with `fresh`, into which whatever still refers to strings was
    /// moved by `m`'s mapping: the rule hits (by auditID) move too, and the user-agent cache
    /// starts afresh.
    pub(crate) fn move_rule_hits(&mut self, m: &mut crate::intern::Mover<'_>) {
        self.rule_hits = std::mem::take(&mut self.rule_hits)
            .into_iter()
            .map(|(id, hits)| (m.audit_id(id), hits))
            .collect();
        self.user_agents = IdMap::default();
    }

    /// Takes the hits kept for a request.
    pub(crate) fn take_rule_hits(&mut self, audit_id: AuditId) -> Vec<RuleHit> {
        self.rule_hits.remove(&audit_id).unwrap_or_default()
    }

    pub(crate) fn rules_engine(&self) -> &RuleEngine {
        &self.rules
    }

    /// Keeps a diagnostic while fewer than [`MAX_KEPT_DIAGNOSTICS`] are kept.
    pub(crate) fn keep_diagnostic(&mut self, diagnostic: Diagnostic) {
        if self.diagnostics.len() < MAX_KEPT_DIAGNOSTICS {
            self.diagnostics.push(diagnostic);
        }
    }

    /// Counts `n` diagnostics against a file.
    pub(crate) fn count_diagnostics(&mut self, file: u32, n: u64) {
        if let Some(count) = self.file_diagnostics.get_mut(file as usize) {
            *count += n;
        }
    }

    /// Adds rule hits of a request, but for rules that already hit it.
    pub(crate) fn add_rule_hits(&mut self, audit_id: AuditId, hits: Vec<RuleHit>) {
        let kept = self.rule_hits.entry(audit_id).or_default();
        for hit in hits {
            if !kept.iter().any(|k| k.rule == hit.rule) {
                kept.push(hit);
            }
        }
    }

    /// Takes the store apart, for appending it to another.
    pub(crate) fn into_parts(self) -> StoreParts {
        let mut hits: Vec<(AuditId, Vec<RuleHit>)> = self.rule_hits.into_iter().collect();
        hits.sort_by_key(|(audit_id, _)| *audit_id);
        StoreParts {
            interner: self.interner,
            counted: self.file_diagnostics.last().copied().unwrap_or(0),
            requests: self.requests,
            hits,
            diagnostics: self.diagnostics,
        }
    }
}

impl EventStore {
    /// Takes in the requests of a part that follows everything here, each passed through
    /// `remap` (to this store's ids and positions) on the way; `audit_id` remaps an auditID
    /// alone. The result is that of adding them one by one; the part's own requests have
    /// distinct auditIDs already.
    ///
    /// The part's auditIDs are found among the requests of earlier appended parts by merging
    /// two sorted lists, and among the rest (the first part of a file, taken over whole, and
    /// requests added one by one) by a probe of their hash index.
    pub(crate) fn add_part(
        &mut self,
        mut requests: Vec<Event>,
        audit_id: impl Fn(AuditId) -> AuditId,
        remap: impl Fn(Event) -> Event,
    ) -> PartConflicts {
        let mut conflicts = PartConflicts::default();
        // (hash, position) of requests given an id of their own for a conflicting auditID.
        let mut rekeyed: Vec<(u32, u32)> = Vec::new();
        // (hash, position in the part) of each request's auditID as it will be here.
        let mut incoming: Vec<(u32, u32)> = Vec::with_capacity(requests.len());
        let mut ids: Vec<AuditId> = Vec::with_capacity(requests.len());
        for (local, event) in requests.iter().enumerate() {
            let id = audit_id(event.audit_id);
            incoming.push((audit_hash(id), local as u32));
            ids.push(id);
        }
        incoming.sort_unstable();
        // The request here each one joins, if any (u32::MAX: none).
        let mut joins = vec![u32::MAX; requests.len()];
        let mut at = 0;
        for &(short, local) in &incoming {
            let id = ids[local as usize];
            while self.appended.get(at).is_some_and(|&(h, _)| h < short) {
                at += 1;
            }
            let same_hash = self.appended[at..].iter().take_while(|&&(h, _)| h == short);
            let found = same_hash
                .map(|&(_, index)| index)
                .find(|&index| holds(&self.requests, index, id))
                .or_else(|| self.indexed(id, short));
            if let Some(index) = found {
                joins[local as usize] = index;
            }
        }
        drop(ids);
        // Room for all of them at once, rather than growing by doubling past what is needed;
        // taken in blocks, each freed once taken, so that the requests are not held twice.
        self.requests.reserve_exact(requests.len());
        let mut placed = vec![u32::MAX; requests.len()];
        let block = requests.len().div_ceil(8).max(4096);
        // Reversed, so that each block is taken from the end: nothing left behind is moved.
        requests.reverse();
        let mut local = 0;
        while !requests.is_empty() {
            let taken = block.min(requests.len());
            let from = requests.len() - taken;
            for event in requests.drain(from..).rev() {
                let mut event = remap(event);
                let here = u32::try_from(self.requests.len()).unwrap_or(u32::MAX);
                match joins[local] {
                    u32::MAX => {
                        placed[local] = here;
                        self.requests.push(event);
                    }
                    index => {
                        let was = event.audit_id;
                        // As in one pass, where an event of a line of its own is its
                        // record's first.
                        match self.keep_apart(index, &mut event, 0) {
                            None => self.merge_into(index, event),
                            Some(diagnostic) => {
                                conflicts.diagnostics.push(diagnostic);
                                conflicts.rekeyed.push((was, event.audit_id));
                                rekeyed.push((audit_hash(event.audit_id), here));
                                self.requests.push(event);
                            }
                        }
                    }
                }
                local += 1;
            }
            requests.shrink_to_fit();
        }
        // The new requests join the sorted list; in hash order, their positions rise with
        // their order in the part, so the list stays sorted by (hash, position).
        let fresh =
            incoming
                .into_iter()
                .filter_map(|(short, local)| match placed[local as usize] {
                    u32::MAX => None,
                    index => Some((short, index)),
                });
        self.appended = merge_sorted(std::mem::take(&mut self.appended), fresh);
        rekeyed.sort_unstable();
        self.appended = merge_sorted(std::mem::take(&mut self.appended), rekeyed.into_iter());
        conflicts
    }

    /// True before any event, rule hit or diagnostic was kept.
    pub(crate) fn holds_nothing(&self) -> bool {
        self.requests.is_empty()
            && self.rule_hits.is_empty()
            && self.diagnostics.is_empty()
            && self.interner.is_empty()
            && self.interner.lists().count() <= 1
    }

    /// Takes `other`'s requests, strings and hits as they are, into a store that holds nothing.
    pub(crate) fn take_over(
        &mut self,
        other: EventStore,
        file: u32,
        line_base: u64,
        byte_base: u64,
    ) {
        self.interner = other.interner;
        self.user_agents = other.user_agents;
        self.by_audit_id = other.by_audit_id;
        self.appended = other.appended;
        self.rule_hits = other.rule_hits;
        self.requests = other.requests;
        for event in &mut self.requests {
            event.source.line += line_base;
            event.source.offset += byte_base;
        }
        let counted = other.file_diagnostics.last().copied().unwrap_or(0);
        self.take_diagnostics(other.diagnostics, counted, file, line_base, byte_base);
    }

    /// Takes in the diagnostics a part of file `file` kept, shifted past `line_base` lines and
    /// `byte_base` bytes, and the `counted` diagnostics it found.
    pub(crate) fn take_diagnostics(
        &mut self,
        diagnostics: Vec<Diagnostic>,
        counted: u64,
        file: u32,
        line_base: u64,
        byte_base: u64,
    ) {
        for mut diagnostic in diagnostics {
            diagnostic.line += line_base;
            diagnostic.offset += byte_base;
            self.keep_diagnostic(diagnostic);
        }
        self.count_diagnostics(file, counted);
    }
}

/// The bytes a record's bodies take, with their keys (`,"requestObject":`).
fn body_bytes(wire: &WireEvent<'_>) -> BodyBytes {
    const KEY: usize = r#","requestObject":"#.len();
    let size = |body: Option<&serde_json::value::RawValue>| body.map_or(0, |b| KEY + b.get().len());
    BodyBytes::new(size(wire.request_object), size(wire.response_object))
}

/// The 32-bit hash of an auditID that the request index keeps: the same on every platform
/// (FxHash, say, is not: where `usize` has 32 bits, as in wasm32, its upper half is zero).
fn audit_hash(id: AuditId) -> u32 {
    let [high, low] = id.words();
    let mixed = (high ^ low.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 32) as u32
}

/// The entries of two lists sorted by (hash, position), in one sorted list.
fn merge_sorted(kept: Vec<(u32, u32)>, fresh: impl Iterator<Item = (u32, u32)>) -> Vec<(u32, u32)> {
    let mut fresh = fresh.peekable();
    if fresh.peek().is_none() {
        return kept;
    }
    let mut merged = Vec::with_capacity(kept.len() + fresh.size_hint().0);
    for entry in kept {
        while let Some(earlier) = fresh.next_if(|f| *f < entry) {
            merged.push(earlier);
        }
        merged.push(entry);
    }
    merged.extend(fresh);
    merged
}

/// A table hash from a kept 32-bit one: its bits both pick the bucket (low bits) and tag the
/// entry (high bits).
fn spread(short: u32) -> u64 {
    u64::from(short) << 32 | u64::from(short)
}

/// The table hash of an entry of the request index, from the hash it keeps.
fn rehash(&(_, short): &(u32, u32)) -> u64 {
    spread(short)
}

/// True when the request at `index` has auditID `id`.
fn holds(requests: &[Event], index: u32, id: AuditId) -> bool {
    requests
        .get(index as usize)
        .is_some_and(|kept| kept.audit_id == id)
}

/// What a store holds, taken apart.
pub(crate) struct StoreParts {
    pub interner: Interner,
    pub requests: Vec<Event>,
    /// Rule hits by auditID, in id order.
    pub hits: Vec<(AuditId, Vec<RuleHit>)>,
    /// The diagnostics kept.
    pub diagnostics: Vec<Diagnostic>,
    /// The diagnostics counted against the store's last file.
    pub counted: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `log` in 256 KB chunks, telling the analysis the file's size as `size`.
    fn read(log: &[u8], size: Option<u64>) -> Analysis {
        let mut analysis = Analysis::new(Limits::default());
        let file = analysis.add_file("a.log");
        if let Some(size) = size {
            analysis.set_file_size(file, size);
        }
        for chunk in log.chunks(256 * 1024) {
            analysis.push(file, chunk);
        }
        analysis.finish_file(file);
        analysis
    }

    #[test]
    fn a_known_size_sets_room_aside_once() {
        // About 70,000 requests: growing by doubling ends at room for 131,072.
        let log = auditlens_sim::benchmark_log(70_000_000);
        let mut plain = read(&log, None);
        let (len, doubled) = (plain.store.requests.len(), plain.store.requests.capacity());
        assert!(
            doubled > len + len / 2,
            "{len} requests, room for {doubled}"
        );
        // Told the size, room for every request is set aside after 16 MB, with a small margin.
        let mut sized = read(&log, Some(log.len() as u64));
        let room = sized.store.requests.capacity();
        assert!(
            room >= len && room <= len + len / 10,
            "{len} requests, room for {room}"
        );
        // The room changes nothing else.
        plain.finish();
        sized.finish();
        assert_eq!(
            serde_json::to_string(&plain.report()).ok(),
            serde_json::to_string(&sized.report()).ok()
        );
    }

    #[test]
    fn a_wrong_size_changes_nothing() {
        let log = auditlens_sim::benchmark_log(17_000_000);
        let plain = read(&log, None).store.requests.len();
        // Too large to set aside room for, and nothing at all: the list grows as it would have.
        for size in [u64::MAX, 0, 1] {
            let analysis = read(&log, Some(size));
            assert_eq!(analysis.store.requests.len(), plain);
        }
    }

    /// Two UUIDs whose [`audit_hash`] is the same.
    fn colliding_uuids() -> (String, String) {
        let mut interner = Interner::default();
        let mut seen = std::collections::HashMap::new();
        for i in 0..1_000_000u64 {
            // Scattered suffixes (splitmix64): sequential ones never collide under this hash.
            let mut z = i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            let text = format!("5a1d7c3e-0b2f-4c6a-9e81-{:012x}", (z ^ (z >> 31)) >> 16);
            let id = interner.intern_audit_id(&text);
            assert_eq!(id.sym(), None, "held by value");
            if let Some(other) = seen.insert(audit_hash(id), text.clone()) {
                return (other, text);
            }
        }
        panic!("no two of a million UUIDs share a 32-bit hash");
    }

    fn line(id: &str, stage: &str, second: u32) -> String {
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"{stage}","requestURI":"/api/v1/pods","verb":"list","user":{{"username":"alice"}},"objectRef":{{"resource":"pods"}},"requestReceivedTimestamp":"2026-01-01T00:00:{second:02}.000000Z"}}"#
        ) + "\n"
    }

    /// Requests of appended parts are found by auditID, not by hash alone: a request whose
    /// auditID shares its hash with an appended one stays apart, and the appended one still
    /// takes its later stage, whether it arrives in a later part or in a later file read in
    /// one pass.
    #[test]
    fn appended_requests_are_told_apart_by_auditid() {
        let (a, b) = colliding_uuids();
        let x = "0d9e6f4a-3c2b-4a18-8f70-5b6c7d8e9f01";
        let parts = [
            line(x, "ResponseComplete", 1),
            line(&a, "RequestReceived", 2),
            line(&b, "ResponseComplete", 3) + &line(&a, "ResponseComplete", 4),
        ];
        let later = line(&b, "RequestReceived", 3) + &line(x, "RequestReceived", 1);
        let summary = |analysis: &Analysis| -> Vec<(String, u8)> {
            analysis
                .requests()
                .iter()
                .map(|r| {
                    let id = analysis.interner().audit_id_text(r.audit_id).into_owned();
                    (id, r.stages_seen)
                })
                .collect()
        };
        let mut single = Analysis::new(Limits::default());
        let file = single.add_file("a.log");
        single.push(file, parts.concat().as_bytes());
        let next = single.add_file("b.log");
        single.push(next, later.as_bytes());
        single.finish();
        let mut parted = Analysis::new(Limits::default());
        let file = parted.add_file("a.log");
        let mut start = 0;
        for part in &parts {
            let mut shard = parted.shard(file, start);
            shard.push(part.as_bytes());
            assert!(parted.append_shard(shard).is_ok());
            start += part.len() as u64;
        }
        assert_eq!(parted.store.appended.len(), 2, "a and b, appended");
        let next = parted.add_file("b.log");
        parted.push(next, later.as_bytes());
        parted.finish();
        let expected = summary(&single);
        assert_eq!(expected.len(), 3, "{expected:?}");
        assert!(expected.iter().all(|(_, stages)| stages.count_ones() == 2));
        assert_eq!(summary(&parted), expected);
    }

    #[test]
    fn sorted_lists_merge() {
        let kept = vec![(1, 5), (3, 1), (3, 7), (9, 0)];
        let fresh = [(0, 8), (3, 4), (9, 9), (12, 2)];
        assert_eq!(
            merge_sorted(kept, fresh.into_iter()),
            [
                (0, 8),
                (1, 5),
                (3, 1),
                (3, 4),
                (3, 7),
                (9, 0),
                (9, 9),
                (12, 2)
            ]
        );
        assert_eq!(merge_sorted(vec![(2, 2)], std::iter::empty()), [(2, 2)]);
    }

    /// The request index spreads auditIDs over its buckets on every platform, UUIDs and
    /// interned ids alike (a hash that collapsed would make reading quadratic).
    #[test]
    fn audit_hashes_spread() {
        let mut interner = Interner::default();
        let mut uuids = std::collections::BTreeSet::new();
        let mut interned = std::collections::BTreeSet::new();
        for i in 0..100_000u64 {
            // Sequential UUIDs, as some producers write them, and short non-UUID ids.
            let text = format!("00000000-0000-4000-8000-{i:012x}");
            uuids.insert(audit_hash(interner.intern_audit_id(&text)));
            interned.insert(audit_hash(interner.intern_audit_id(&format!("id-{i}"))));
        }
        assert!(uuids.len() > 99_000, "{} distinct of 100000", uuids.len());
        assert!(
            interned.len() > 99_000,
            "{} distinct of 100000",
            interned.len()
        );
        // The top seven bits tag entries in the table: they must vary too.
        let tags: std::collections::BTreeSet<u32> = uuids.iter().map(|h| h >> 25).collect();
        assert_eq!(tags.len(), 128);
    }
}
