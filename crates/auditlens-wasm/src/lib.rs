//! auditlens in the browser: a stateful [`Session`] over [`auditlens_core::Analysis`], driven
//! from a Web Worker.
//!
//! ```text
//! worker: Blob.stream() ─▶ Session::push(file, chunk) ─▶ Analysis (core)
//!                          Session::finish()
//! page  ◀─ JSON batches ─  summary / overview / findings(start, n) / incidents / request /
//!                          neighbours / identity / profile / ruleHits / rules / baseline /
//!                          policyCheck(text) / policySimulate(text) / policySuggest
//!                          leastPrivilege(identity) / exportFindings(ocsf|ecs)
//! ```
//!
//! A large plain file can be read by several workers: each helper reads one part (just after
//! a newline) into a [`Part`], whose bytes the session appends in file order (`appendPart`)
//! with the same result as reading the file itself.
//!
//! A rules configuration (`loadRules`) and a baseline from earlier logs (`loadBaseline`) are
//! handed over as text before the files, and parsed by the core. The cluster's granted RBAC
//! (`loadGranted`) may come at any time; `leastPrivilege` then compares with it.
//!
//! The page keeps the `File` objects; the session keeps only the core's compact requests. A
//! finding's raw event is re-read by the page from its file with the byte range that
//! [`Session::request`] gives (for gzip files the range is in the decompressed stream, which a
//! [`GzipRange`] inflates).
//!
//! This crate converts types and nothing else: bytes in, serde JSON strings out, one call per
//! chunk or per batch, never one per event. All analysis lives in the core; [`view`] only counts
//! and converts for display. Errors reach JavaScript as `Error` objects through [`into_error`].

mod raw;
pub mod view;

pub use raw::GzipRange;

use auditlens_core::export;
use auditlens_core::policy::{self, suggest, volume};
use auditlens_core::rbac::{least_privilege, GenerateOptions, Granted, Selection};
use auditlens_core::rules::RuleConfig;
use auditlens_core::{Analysis, Baseline, FileId, Limits, PartError, Shard};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// How many identities the overview lists.
const TOP_IDENTITIES: usize = 20;

/// Turns any error into a JavaScript `Error` with its message.
pub fn into_error(error: impl std::fmt::Display) -> JsValue {
    js_sys::Error::new(&error.to_string()).into()
}

/// A rules configuration (TOML), or an error saying why it is not one.
fn parse_rules(text: &str) -> Result<RuleConfig, JsValue> {
    RuleConfig::parse(text)
        .map_err(|e| into_error(format!("the rules configuration is not valid: {e}")))
}

/// A raw event's text with its secret values replaced (Secret data, tokens, bearer tokens,
/// credentials in ConfigMaps): what the page shows unless the user asks for the values.
#[wasm_bindgen(js_name = redactEvent)]
pub fn redact_event(text: &str) -> String {
    auditlens_core::redact::redact_event(text).into_owned()
}

/// The message of the last panic in this instance, if one happened. A panic aborts (a trap in
/// JavaScript, `RuntimeError: unreachable`), as does an allocation that the tab's memory cannot
/// grow to hold; the page tells them apart with this: a trap without a panic ran out of memory.
#[wasm_bindgen(js_name = lastPanic)]
pub fn last_panic() -> Option<String> {
    LAST_PANIC.lock().ok().and_then(|last| last.clone())
}

static LAST_PANIC: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Records panics for [`last_panic`]; once per instance.
fn watch_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            if let Ok(mut last) = LAST_PANIC.lock() {
                *last = Some(info.to_string());
            }
        }));
    });
}

fn to_json(value: &impl Serialize) -> String {
    // The view types hold only strings, numbers, lists and maps with string keys: they always
    // serialize. Should that change, an empty object is better than a trap in the tab.
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_string())
}

/// How far reading has come, for the progress bar.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Progress {
    /// Bytes pushed, over all files (compressed bytes for gzip).
    bytes: u64,
    /// Bytes after decompression.
    decoded_bytes: u64,
    lines: u64,
    events: u64,
    requests: u64,
    diagnostics: u64,
}

/// One analysis of one or more files. See the crate docs for the flow.
#[wasm_bindgen]
pub struct Session {
    analysis: Analysis,
    files: Vec<FileId>,
    /// The cluster's RBAC, to compare identities' behaviour with.
    granted: Option<Granted>,
}

/// One identity's least privilege, for the page.
#[derive(Serialize)]
struct LeastPrivilegeView {
    /// The generated RBAC and its comparison with the granted one; `null` for an identity
    /// that made no request.
    identity: Option<auditlens_core::rbac::IdentityPrivilege>,
    /// The manifest to copy or download.
    yaml: String,
    /// The granted RBAC file, when one is loaded.
    granted: Option<auditlens_core::rbac::report::GrantedSummary>,
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

/// One part of a large plain file, read in a helper worker for a [`Session`] elsewhere.
#[wasm_bindgen]
pub struct Part {
    shard: Option<Shard>,
}

#[wasm_bindgen]
impl Part {
    /// The part of file `file` (an index into `names`, the session's files in order) that
    /// starts at byte `start`, just after a newline; `rules` is the session's rules
    /// configuration, or empty for the built-in one.
    #[wasm_bindgen(constructor)]
    pub fn new(names: Vec<String>, file: u32, start: f64, rules: &str) -> Result<Part, JsValue> {
        watch_panics();
        let mut analysis = Analysis::new(Limits::default());
        if !rules.is_empty() {
            analysis = analysis.with_rules(parse_rules(rules)?);
        }
        let ids: Vec<FileId> = names.iter().map(|name| analysis.add_file(name)).collect();
        let id = ids
            .get(file as usize)
            .copied()
            .ok_or_else(|| into_error(format!("no file {file} among {} names", names.len())))?;
        Ok(Part {
            shard: Some(analysis.shard(id, start as u64)),
        })
    }

    /// Reads the next chunk of the part.
    pub fn push(&mut self, chunk: &[u8]) {
        if let Some(shard) = &mut self.shard {
            shard.push(chunk);
        }
    }

    /// Ends the part (`last` when it ends the file) and gives it as bytes for
    /// `Session.appendPart`, or `undefined` when the part is not plain JSON lines of audit
    /// events (then the session reads it itself).
    pub fn finish(&mut self, last: bool) -> Option<Vec<u8>> {
        let mut shard = self.shard.take()?;
        if last {
            shard.finish();
        }
        shard.into_bytes()
    }
}

#[wasm_bindgen]
impl Session {
    /// A session with the core's default limits.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Session {
        watch_panics();
        Session {
            analysis: Analysis::new(Limits::default()),
            files: Vec::new(),
            granted: None,
        }
    }

    /// Adds a file by name (shown in diagnostics and findings); returns its index for `push`.
    #[wasm_bindgen(js_name = addFile)]
    pub fn add_file(&mut self, name: &str) -> u32 {
        let id = self.analysis.add_file(name);
        self.files.push(id);
        id.0
    }

    /// Says how many bytes file `index` holds (a `File`'s `size`), so that room for all its
    /// requests is set aside once its first bytes show how large they are.
    #[wasm_bindgen(js_name = setFileSize)]
    pub fn set_file_size(&mut self, index: u32, bytes: f64) -> Result<(), JsValue> {
        let file = self.file(index)?;
        if bytes.is_finite() && bytes >= 0.0 {
            self.analysis.set_file_size(file, bytes as u64);
        }
        Ok(())
    }

    fn file(&self, index: u32) -> Result<FileId, JsValue> {
        self.files.get(index as usize).copied().ok_or_else(|| {
            into_error(format!(
                "no file {index} in this analysis ({} added); call addFile first",
                self.files.len()
            ))
        })
    }

    /// Runs the detection rules under a configuration file's text (JSON, or TOML as the CLI's
    /// `--config` reads). Must come before the first `addFile`.
    #[wasm_bindgen(js_name = loadRules)]
    pub fn load_rules(&mut self, config: &str) -> Result<(), JsValue> {
        if !self.files.is_empty() {
            return Err(into_error(
                "load the rules configuration before adding files",
            ));
        }
        let config = parse_rules(config)?;
        self.analysis = std::mem::take(&mut self.analysis).with_rules(config);
        Ok(())
    }

    /// Scores against a baseline saved from earlier logs (the JSON of `baseline()` or of
    /// `auditlens baseline build`). Must come before `finish`.
    #[wasm_bindgen(js_name = loadBaseline)]
    pub fn load_baseline(&mut self, json: &str) -> Result<(), JsValue> {
        let baseline = Baseline::from_json(json)
            .map_err(|e| into_error(format!("the baseline file cannot be used: {e}")))?;
        self.analysis = std::mem::take(&mut self.analysis).with_baseline(baseline);
        Ok(())
    }

    /// Reads the cluster's granted RBAC (`kubectl get roles,clusterroles,rolebindings,
    /// clusterrolebindings -A -o json`, or `-o yaml`) from the text of the file `name`; gives
    /// what it held as JSON (`file`, `objects`, `notes`). Replaces an earlier one.
    #[wasm_bindgen(js_name = loadGranted)]
    pub fn load_granted(&mut self, name: &str, text: &str) -> Result<String, JsValue> {
        let granted = Granted::parse(name, text)
            .map_err(|e| into_error(format!("the granted RBAC cannot be used: {e}")))?;
        let summary = to_json(&granted.summary());
        self.granted = Some(granted);
        Ok(summary)
    }

    /// Forgets the granted RBAC.
    #[wasm_bindgen(js_name = clearGranted)]
    pub fn clear_granted(&mut self) {
        self.granted = None;
    }

    /// One identity's least-privilege RBAC (by exact username), as JSON: `identity` (rules with
    /// why, refusals, comparison with the granted RBAC), `yaml` (the manifest), `granted`.
    #[wasm_bindgen(js_name = leastPrivilege)]
    pub fn least_privilege(&self, identity: &str) -> String {
        let selection = Selection {
            identities: vec![identity.to_string()],
            ..Selection::default()
        };
        let result = least_privilege(
            &self.analysis,
            &selection,
            &GenerateOptions::default(),
            self.granted.as_ref(),
        );
        // The page opens identities by exact username; a canonical name that matched is fine.
        let yaml = if result.identities.is_empty() {
            String::new()
        } else {
            result.to_yaml()
        };
        to_json(&LeastPrivilegeView {
            identity: result.identities.into_iter().next(),
            yaml,
            granted: result.granted,
        })
    }

    /// Reads the next chunk of a file. Chunks may be of any size.
    pub fn push(&mut self, file: u32, chunk: &[u8]) -> Result<(), JsValue> {
        let id = self.file(file)?;
        self.analysis.push(id, chunk);
        Ok(())
    }

    /// Appends a part of a file read by a [`Part`] in another worker, after everything read
    /// of that file here. True when it was taken in; false when the file cannot continue with
    /// it (the part is not plain JSON lines of audit events), and the caller reads that part
    /// and the rest of the file here instead.
    #[wasm_bindgen(js_name = appendPart)]
    pub fn append_part(&mut self, file: u32, bytes: &[u8]) -> Result<bool, JsValue> {
        let id = self.file(file)?;
        match self.analysis.append_shard_bytes(id, bytes) {
            Ok(()) => Ok(true),
            Err(PartError::Refused) => Ok(false),
            Err(e @ PartError::Corrupt) => Err(into_error(e)),
        }
    }

    /// Ends one file (its last line is read); the others may go on.
    #[wasm_bindgen(js_name = finishFile)]
    pub fn finish_file(&mut self, file: u32) -> Result<(), JsValue> {
        let id = self.file(file)?;
        self.analysis.finish_file(id);
        Ok(())
    }

    /// Ends a file the page could not read to its end (`reason`: the browser's error); what
    /// was read stays, with a `read-error` diagnostic naming the file and the place.
    #[wasm_bindgen(js_name = readFailed)]
    pub fn read_failed(&mut self, file: u32, reason: &str) -> Result<(), JsValue> {
        let id = self.file(file)?;
        self.analysis.read_failed(id, reason);
        Ok(())
    }

    /// Ends every file and runs the analysis over all requests.
    pub fn finish(&mut self) {
        self.analysis.finish();
    }

    /// Progress so far, as JSON: bytes, decodedBytes, lines, events, requests, diagnostics.
    pub fn progress(&self) -> String {
        let mut progress = Progress {
            bytes: self.analysis.bytes_read(),
            decoded_bytes: 0,
            lines: 0,
            events: 0,
            requests: self.analysis.requests().len() as u64,
            diagnostics: 0,
        };
        for &id in &self.files {
            if let Some(counts) = self.analysis.file_counts(id) {
                progress.decoded_bytes += counts.decoded_bytes;
                progress.lines += counts.lines;
                progress.events += counts.events;
                progress.diagnostics += counts.rejected + counts.warnings;
            }
        }
        to_json(&progress)
    }

    /// The summary (totals, per file and overall), as JSON: the `summary` of `--format json`.
    pub fn summary(&self) -> String {
        to_json(&self.analysis.summary())
    }

    /// The whole report as JSON, exactly as `auditlens analyze --format json` prints it.
    pub fn report(&self) -> String {
        to_json(&self.analysis.report())
    }

    /// Timeline and busiest identities, as JSON.
    pub fn overview(&self) -> String {
        to_json(&view::overview(&self.analysis, TOP_IDENTITIES))
    }

    /// How many findings there are.
    #[wasm_bindgen(js_name = findingCount)]
    pub fn finding_count(&self) -> u32 {
        self.analysis.findings().len() as u32
    }

    /// Findings `start..start + count` (most urgent first), as a JSON array.
    pub fn findings(&self, start: u32, count: u32) -> String {
        to_json(&batch(self.analysis.findings(), start, count))
    }

    /// Incidents (findings of one identity close in time), most urgent first, as a JSON array.
    pub fn incidents(&self) -> String {
        to_json(&self.analysis.incidents())
    }

    /// What the analysis learned is normal for one identity (class, peer group, baseline), as
    /// JSON; `null` for an identity it does not know.
    pub fn profile(&self, identity: &str) -> String {
        let profile = self
            .analysis
            .identity_profiles()
            .iter()
            .find(|p| p.identity == identity);
        to_json(&profile)
    }

    /// The detection rules a request matched, with their ATT&CK techniques, as a JSON array.
    #[wasm_bindgen(js_name = ruleHits)]
    pub fn rule_hits(&self, audit_id: &str) -> String {
        let hits = self
            .analysis
            .interner()
            .get_audit_id(audit_id)
            .map_or(&[][..], |id| self.analysis.rule_hits(id));
        to_json(&hits)
    }

    /// The rule catalog and which rules run in this analysis, as a JSON array.
    pub fn rules(&self) -> String {
        to_json(&self.analysis.rules().catalog())
    }

    /// The baseline learned from these logs (merged into a loaded one), as the JSON file that
    /// `loadBaseline` and the CLI's `--baseline` read.
    pub fn baseline(&self) -> String {
        self.analysis.baseline().to_json()
    }

    /// Every finding as a record of `schema` (`ocsf`: OCSF Detection Findings; `ecs`: Elastic
    /// Common Schema alerts), one JSON document per line, as `analyze --format ocsf|ecs` writes
    /// them; an error for another schema.
    #[wasm_bindgen(js_name = exportFindings)]
    pub fn export_findings(&self, schema: &str) -> Result<String, JsValue> {
        let schema = match schema {
            "ocsf" => export::Schema::Ocsf,
            "ecs" => export::Schema::Ecs,
            other => return Err(into_error(format!("no export schema {other:?}"))),
        };
        let mut out = String::new();
        for record in export::records(&self.analysis, schema, |_| true) {
            out.push_str(&record.to_string());
            out.push('\n');
        }
        Ok(out)
    }

    /// How many diagnostics were kept.
    #[wasm_bindgen(js_name = diagnosticCount)]
    pub fn diagnostic_count(&self) -> u32 {
        self.analysis.diagnostics().len() as u32
    }

    /// Diagnostics `start..start + count`, in the order met, as a JSON array.
    pub fn diagnostics(&self, start: u32, count: u32) -> String {
        to_json(&batch(self.analysis.diagnostics(), start, count))
    }

    /// The request with this auditID, with the byte range of its raw record, as JSON; `null`
    /// when there is none.
    pub fn request(&self, audit_id: &str) -> String {
        let row = view::find_request(&self.analysis, audit_id)
            .and_then(|i| self.analysis.requests().get(i))
            .map(|event| view::RequestRow::new(&self.analysis, event));
        to_json(&row)
    }

    /// The request with this auditID and up to `before` and `after` requests of the same
    /// identity around it, in time order, as a JSON array (empty when there is no such request).
    pub fn neighbours(&self, audit_id: &str, before: u32, after: u32) -> String {
        let rows = view::find_request(&self.analysis, audit_id)
            .map(|i| view::neighbours(&self.analysis, i, before as usize, after as usize))
            .unwrap_or_default();
        to_json(&rows)
    }

    /// The findings of `policy check` on an audit policy file's text, as JSON: whether
    /// kube-apiserver loads it, how many errors and warnings, and each lint.
    #[wasm_bindgen(js_name = policyCheck)]
    pub fn policy_check(&self, text: &str) -> String {
        to_json(&check_document(&policy::read(text)))
    }

    /// What an audit policy would write for these logs and what it would blind (as
    /// `policy simulate --format json`), listing `top` identities and resources; an error when
    /// kube-apiserver would refuse the policy. Call after `finish`.
    #[wasm_bindgen(js_name = policySimulate)]
    pub fn policy_simulate(&self, text: &str, top: u32) -> Result<String, JsValue> {
        let file = policy::read(text);
        let policy = file.loaded().ok_or_else(|| {
            let reasons: Vec<String> = file
                .refused
                .iter()
                .map(|e| format!("line {}: {}", e.line, e.message))
                .collect();
            into_error(format!(
                "kube-apiserver would refuse this policy: {}",
                reasons.join("; ")
            ))
        })?;
        Ok(to_json(&volume::simulate(
            policy,
            &self.analysis,
            top as usize,
        )))
    }

    /// A policy derived from these logs (as `policy suggest --json`): its YAML, its simulation
    /// and its lints. Call after `finish`.
    #[wasm_bindgen(js_name = policySuggest)]
    pub fn policy_suggest(&self) -> String {
        to_json(&suggest::suggest(&self.analysis))
    }

    /// What one identity did (tables, hour-of-week grid, rate over time), as JSON; `null` when
    /// it made no request.
    pub fn identity(&self, identity: &str) -> String {
        to_json(&view::identity_activity(&self.analysis, identity))
    }
}

/// `policy check --format json`'s document, without the file name.
#[derive(Serialize)]
struct CheckDocument {
    loads: bool,
    errors: usize,
    warnings: usize,
    lints: Vec<policy::Lint>,
}

fn check_document(file: &policy::PolicyFile) -> CheckDocument {
    let lints = policy::check(file);
    let errors = lints
        .iter()
        .filter(|l| l.severity == policy::LintSeverity::Error)
        .count();
    CheckDocument {
        loads: file.loads(),
        errors,
        warnings: lints.len() - errors,
        lints,
    }
}

fn batch<T>(items: &[T], start: u32, count: u32) -> &[T] {
    let start = (start as usize).min(items.len());
    let end = start.saturating_add(count as usize).min(items.len());
    &items[start..end]
}
