//! Cloud and log-shipper formats: finding the Kubernetes audit event inside a record that is
//! not one, and naming the shape a file came in.
//!
//! Managed clusters hand their audit logs over wrapped: EKS in CloudWatch Logs exports, GKE as
//! Cloud Audit Logs entries, AKS as diagnostic records and Log Analytics rows, and every log
//! shipper (Fluentd, Fluent Bit, Vector, Loki) in its own envelope. Only a record that failed
//! the native parse comes here, so native logs keep their one-parse fast path.
//!
//! ```text
//! record ─▶ probe (which wrapper keys does it have?) ─▶ inner value (a JSON string or object)
//!              │                                          └─▶ native event, or probe again
//!              ├─▶ GKE entry / AKSAudit row: mapped field by field onto a WireEvent
//!              └─▶ batch (`records`, `logEvents`, `events`): each item as above
//! ```
//!
//! Wrappers nest (a Loki line holding a Fluent Bit record holding an event) down to
//! [`MAX_DEPTH`]. Per file, [`Formats`] counts events by the outermost shape they came in and
//! keeps the context the wrappers carry (cluster, project, location, log group), so the summary
//! can say "EKS CloudWatch Logs Insights JSON export, 12,302 events" without widening `Event`.

pub(crate) mod aks;
mod batch;
mod cloudwatch;
mod csv;
mod gke;
mod names;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::value::RawValue;

pub use names::Shape;

use super::record::{deliver, Emit};
use super::wire::{is_truncated, parse_record, salvage_truncated, Parsed, Rejection};
use crate::diagnostics::DiagnosticKind;
use crate::ingest::borrow;

/// How deep wrappers may nest around an event.
pub const MAX_DEPTH: u8 = 4;

/// Values kept per context key.
const MAX_CONTEXT_VALUES: usize = 8;

/// Usernames of the identities a managed control plane acts as: AKS's `aksService`,
/// `masterclient` and `nodeclient` certificates, EKS's `eks:` components, and GKE's own
/// controllers. The API server's audit events carry them like any user; they are the
/// provider's control plane, not people or workloads.
pub fn is_managed_control_plane(username: &str) -> bool {
    const NAMES: &[&str] = &[
        "aksService",
        "masterclient",
        "nodeclient",
        "system:gcp-controller-manager",
        "system:clustermetrics",
        "system:managed-certificate-controller",
        "system:l7-lb-controller",
        "system:addon-manager",
        "system:cluster-autoscaler",
        "system:konnectivity-server",
    ];
    NAMES.contains(&username) || username.starts_with("eks:") || username.starts_with("system:gke-")
}

/// What a record (or a value inside one) turned out to be.
#[derive(Debug)]
pub(crate) enum Found {
    /// Read in this shape: its events (maybe none, with a diagnostic per bad item) are counted
    /// in the [`Emit`].
    Handled(Shape),
    /// Holds no event by design (a CSV header, a control message, another service's entry).
    Skipped,
    /// A known shape whose content is not an audit event.
    Rejected(Shape, Rejection),
    /// No known shape; the native parser's reason.
    Unknown(Rejection),
}

/// The wrapper keys a record may have, every value left raw until it is needed.
#[derive(Debug, Default, Deserialize)]
struct Probe<'a> {
    #[serde(rename = "@message", borrow)]
    at_message: Option<&'a RawValue>,
    #[serde(rename = "@log", borrow)]
    at_log: Option<&'a RawValue>,
    #[serde(borrow)]
    message: Option<&'a RawValue>,
    #[serde(borrow)]
    log: Option<&'a RawValue>,
    #[serde(borrow)]
    line: Option<&'a RawValue>,
    #[serde(borrow)]
    labels: Option<&'a RawValue>,
    #[serde(rename = "protoPayload", borrow)]
    proto_payload: Option<&'a RawValue>,
    #[serde(borrow)]
    properties: Option<&'a RawValue>,
    #[serde(borrow)]
    category: Option<&'a RawValue>,
    #[serde(rename = "Category", borrow)]
    category_column: Option<&'a RawValue>,
    #[serde(rename = "resourceId", borrow)]
    resource_id: Option<&'a RawValue>,
    #[serde(rename = "_ResourceId", borrow)]
    resource_id_column: Option<&'a RawValue>,
    #[serde(rename = "ResourceId", borrow)]
    resource_id_pascal: Option<&'a RawValue>,
    #[serde(borrow)]
    log_s: Option<&'a RawValue>,
    #[serde(rename = "AuditId", borrow)]
    audit_id_column: Option<&'a RawValue>,
    #[serde(borrow)]
    records: Option<&'a RawValue>,
    #[serde(borrow)]
    events: Option<&'a RawValue>,
    #[serde(rename = "logEvents", borrow)]
    log_events: Option<&'a RawValue>,
    #[serde(rename = "messageType", borrow)]
    message_type: Option<&'a RawValue>,
    #[serde(rename = "logGroup", borrow)]
    log_group: Option<&'a RawValue>,
}

/// The list a wrapper object opened in a documents layout, for the records streamed from it.
#[derive(Clone, Copy, Debug)]
struct ListContext {
    key: &'static [u8],
    /// A CloudWatch `CONTROL_MESSAGE`: its log events are health checks, not logs.
    control: bool,
}

/// Per-file state of format detection. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Formats {
    /// Events by the outermost shape they came in, indexed by [`Shape::index`].
    events: [u64; Shape::COUNT],
    /// Shapes seen inside another (a Fluent Bit record inside a Loki line), as bits.
    inner: u32,
    /// Shapes recognized in records that gave no event, as bits.
    recognized: u32,
    /// AKS diagnostic records came in `records` batches (Event Hubs).
    batched: bool,
    /// The columns of a CSV export, once its header is read.
    csv: Option<csv::Columns>,
    /// Events came from CSV rows.
    csv_rows: bool,
    csv_splitter: csv::Splitter,
    list: Option<ListContext>,
    context: BTreeMap<&'static str, BTreeSet<String>>,
    /// One-time notes already given, as bits.
    notes: u32,
}

impl Formats {
    /// Whether a record should first be tried as a native event.
    pub fn native_first(&self, nested: bool) -> bool {
        !nested || self.list.is_none_or(|list| list.key == b"items")
    }

    /// A wrapper object opened its list under `key`; `header` holds its fields before it.
    pub fn list_opened(&mut self, key: &'static [u8], header: &[u8]) {
        let mut control = false;
        if !header.is_empty() {
            let mut closed = header.to_vec();
            closed.extend_from_slice(b"null}");
            if let Ok(probe) = serde_json::from_slice::<Probe<'_>>(&closed) {
                control = cloudwatch::is_control(probe.message_type);
                self.log_group(probe.log_group);
            }
        }
        self.list = Some(ListContext { key, control });
    }

    /// Counts the events of a record read in `shape`.
    pub fn credit(&mut self, shape: Shape, events: u64) {
        self.events[shape.index()] += events;
        if events == 0 && shape != Shape::Native {
            self.recognized |= shape.bit();
        }
    }

    /// Notes a shape whose record held no event.
    pub fn recognized(&mut self, shape: Shape) {
        if shape != Shape::Native {
            self.recognized |= shape.bit();
        }
    }

    /// Reads a record that the native parser did not take (`native` says why; `None` when it
    /// was not tried).
    pub fn record(
        &mut self,
        bytes: &[u8],
        nested: bool,
        native: Option<&Rejection>,
        emit: &mut Emit<'_>,
    ) -> Found {
        if nested {
            if let Some(list) = self.list {
                return self.element(list.key, list.control, bytes, 0, emit);
            }
        }
        let bytes = bytes.trim_ascii();
        match native {
            Some(why) => self.after_native(bytes, 0, why.clone(), emit),
            None => self.value(bytes, 0, emit),
        }
    }

    /// Reads one value (a JSON document, or a line of text) at `depth`.
    fn value(&mut self, bytes: &[u8], depth: u8, emit: &mut Emit<'_>) -> Found {
        let bytes = bytes.trim_ascii();
        // A cut event; a cut line of text (`<timestamp> {...[Truncated...]`) is unwrapped first.
        if bytes.first() == Some(&b'{') && is_truncated(bytes) {
            return self.truncated(bytes, emit);
        }
        match parse_record(bytes) {
            Ok(parsed) => {
                deliver(parsed, false, emit);
                Found::Handled(Shape::Native)
            }
            Err(why) => self.after_native(bytes, depth, why, emit),
        }
    }

    /// An event cut short by its producer: keep what came before the cut.
    fn truncated(&mut self, bytes: &[u8], emit: &mut Emit<'_>) -> Found {
        let salvaged = salvage_truncated(bytes);
        if let Some(Ok(Parsed::Event(mut event))) = salvaged.as_deref().map(parse_record) {
            emit.warn(
                DiagnosticKind::TruncatedEvent,
                format!(
                    "the event was cut short by its producer ([Truncated...]); kept the fields \
                     before the cut (auditID {})",
                    event.audit_id.as_deref().unwrap_or("?")
                ),
            );
            emit.event(&mut event, true);
            return Found::Handled(Shape::Native);
        }
        Found::Rejected(
            Shape::Native,
            Rejection {
                kind: DiagnosticKind::TruncatedEvent,
                message: "the event was cut short by its producer ([Truncated...]) before its \
                          auditID; dropped"
                    .to_string(),
            },
        )
    }

    /// A value that is not a native event: a wrapper object, an S3 export line, a CSV row.
    fn after_native(
        &mut self,
        bytes: &[u8],
        depth: u8,
        why: Rejection,
        emit: &mut Emit<'_>,
    ) -> Found {
        let found = match bytes.first() {
            Some(b'{') => self.probe(bytes, depth, emit),
            Some(b'[') => None,
            Some(_) => self.text(bytes, depth, emit),
            None => None,
        };
        found.unwrap_or(Found::Unknown(why))
    }

    /// A line of text: `<timestamp> <event>` from an S3 export, or a CSV header or row.
    fn text(&mut self, bytes: &[u8], depth: u8, emit: &mut Emit<'_>) -> Option<Found> {
        if let Some(event) = cloudwatch::export_line(bytes) {
            return Some(self.wrapped_bytes(Shape::S3Export, "message", event, depth, emit));
        }
        if depth > 0 {
            return None;
        }
        match csv::read(&mut self.csv_splitter, bytes, self.csv.as_ref())? {
            csv::Row::Header(columns) => {
                self.csv = Some(columns);
                Some(Found::Skipped)
            }
            csv::Row::Mismatch(why) => Some(Found::Rejected(Shape::Native, why)),
            csv::Row::Message { message, log } => {
                if let Some(log) = log {
                    let group = log.split_once(':').map_or(&*log, |(_, g)| g);
                    self.log_group_name(group);
                }
                let shape = Shape::LogsInsights;
                let found = self.wrapped_bytes(shape, "@message", message.as_bytes(), depth, emit);
                if matches!(found, Found::Handled(_)) {
                    self.csv_rows = true;
                }
                Some(found)
            }
            csv::Row::Object(object) => {
                let found = self.value(object.as_bytes(), depth + 1, emit);
                if matches!(found, Found::Handled(_)) {
                    self.csv_rows = true;
                }
                Some(found)
            }
        }
    }

    /// A JSON object that is not an event: which wrapper is it?
    fn probe(&mut self, bytes: &[u8], depth: u8, emit: &mut Emit<'_>) -> Option<Found> {
        let Ok(p) = serde_json::from_slice::<Probe<'_>>(bytes) else {
            return self.concatenated(bytes, depth, emit);
        };
        if p.proto_payload.is_some() {
            return Some(gke::entry(self, bytes, emit));
        }
        if let Some(list) = p.log_events {
            self.log_group(p.log_group);
            let control = cloudwatch::is_control(p.message_type);
            return Some(self.batch(b"logEvents", control, list, depth, emit));
        }
        if let Some(list) = p.records {
            return Some(self.batch(b"records", false, list, depth, emit));
        }
        if let Some(list) = p.events {
            return Some(self.batch(b"events", false, list, depth, emit));
        }
        if let Some(message) = p.at_message {
            if let Some(group) = p.at_log.and_then(text) {
                let group = group
                    .split_once(':')
                    .map_or(&*group, |(_, g)| g)
                    .to_string();
                self.log_group_name(&group);
            }
            return Some(self.wrapped(Shape::LogsInsights, "@message", message, depth, emit));
        }
        if let Some(properties) = p.properties {
            return Some(aks::diagnostic(self, &p, properties, depth, emit));
        }
        if let Some(log) = p.log_s {
            return Some(aks::azure_diagnostics(self, &p, log, depth, emit));
        }
        if p.audit_id_column.is_some() {
            return Some(aks::table_row(self, bytes, emit));
        }
        if let Some(log) = p.log {
            return Some(self.wrapped(Shape::Fluent, "log", log, depth, emit));
        }
        if let Some(line) = p.line {
            if let Some(labels) = p.labels {
                self.loki_labels(labels);
            }
            return Some(self.wrapped(Shape::Loki, "line", line, depth, emit));
        }
        if let Some(message) = p.message {
            return Some(self.wrapped(Shape::Vector, "message", message, depth, emit));
        }
        None
    }

    /// The value of `field` in a wrapper of `shape`: a JSON string holding the event (or
    /// another wrapper), or the object itself.
    fn wrapped(
        &mut self,
        shape: Shape,
        field: &str,
        raw: &RawValue,
        depth: u8,
        emit: &mut Emit<'_>,
    ) -> Found {
        let holds = |message: String| {
            Found::Rejected(
                shape,
                not_an_event(format!(
                    "the `{field}` of this {} {message}",
                    shape.record_name()
                )),
            )
        };
        if depth + 1 >= MAX_DEPTH {
            return holds(format!(
                "is wrapped more than {MAX_DEPTH} levels deep; not read"
            ));
        }
        let Some(inner) = payload(raw) else {
            return holds("is neither a JSON string nor an object".to_string());
        };
        self.wrapped_bytes(shape, field, inner.as_bytes(), depth, emit)
    }

    fn wrapped_bytes(
        &mut self,
        shape: Shape,
        field: &str,
        inner: &[u8],
        depth: u8,
        emit: &mut Emit<'_>,
    ) -> Found {
        match self.value(inner, depth + 1, emit) {
            Found::Handled(found) => {
                if found != Shape::Native {
                    self.inner |= found.bit();
                }
                Found::Handled(shape)
            }
            Found::Skipped => Found::Skipped,
            Found::Rejected(_, why) | Found::Unknown(why) => Found::Rejected(
                shape,
                Rejection {
                    kind: why.kind,
                    message: format!(
                        "the `{field}` of this {} holds no audit event: {}",
                        shape.record_name(),
                        why.message
                    ),
                },
            ),
        }
    }

    /// Says something once per file.
    fn note_once(&mut self, bit: u32, emit: &mut Emit<'_>, message: String) {
        if self.notes & bit == 0 {
            self.notes |= bit;
            emit.warn(DiagnosticKind::NotAuditEvent, message);
        }
    }

    /// Keeps one value of the file's context.
    fn keep_context(&mut self, key: &'static str, value: &str) {
        if value.is_empty() {
            return;
        }
        let values = self.context.entry(key).or_default();
        if values.len() < MAX_CONTEXT_VALUES && !values.contains(value) {
            values.insert(value.to_string());
        }
    }

    /// A CloudWatch log group, and the EKS cluster its name gives.
    fn log_group(&mut self, raw: Option<&RawValue>) {
        if let Some(group) = raw.and_then(text) {
            self.log_group_name(&group);
        }
    }

    fn log_group_name(&mut self, group: &str) {
        self.keep_context("log group", group);
        if let Some(cluster) = cloudwatch::eks_cluster(group) {
            self.keep_context("cluster", cluster);
        }
    }

    /// A Loki stream's `cluster` label, when it has one.
    fn loki_labels(&mut self, labels: &RawValue) {
        #[derive(Deserialize)]
        struct Labels<'a> {
            #[serde(default, borrow, deserialize_with = "borrow::option")]
            cluster: Option<Cow<'a, str>>,
        }
        if let Ok(Labels {
            cluster: Some(cluster),
        }) = serde_json::from_str::<Labels<'_>>(labels.get())
        {
            self.keep_context("cluster", &cluster);
        }
    }

    /// True when every record so far was a native audit event (or nothing was read), with no
    /// wrapper state that a later part of the file would depend on.
    pub fn only_native(&self) -> bool {
        let native = Shape::Native.index();
        self.events
            .iter()
            .enumerate()
            .all(|(i, &n)| i == native || n == 0)
            && self.inner == 0
            && self.recognized == 0
            && self.csv.is_none()
            && !self.csv_rows
            && self.list.is_none()
    }

    /// Native events counted so far, and the one-time notes given.
    pub fn native(&self) -> (u64, u32) {
        let events = self.events.get(Shape::Native.index()).copied().unwrap_or(0);
        (events, self.notes)
    }

    /// Adds native events and notes counted elsewhere (a later part of the same file).
    pub fn add_native(&mut self, events: u64, notes: u32) {
        if let Some(n) = self.events.get_mut(Shape::Native.index()) {
            *n += events;
        }
        self.notes |= notes;
    }

    /// Adds the counts of a later part of the same file, read separately (both only native).
    pub fn absorb(&mut self, later: &Formats) {
        for (mine, theirs) in self.events.iter_mut().zip(later.events) {
            *mine += theirs;
        }
        self.notes |= later.notes;
    }

    /// The context kept, for the summary.
    pub fn context(&self) -> BTreeMap<String, Vec<String>> {
        self.context
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().cloned().collect()))
            .collect()
    }
}

/// The text of a JSON string value.
fn text(raw: &RawValue) -> Option<Cow<'_, str>> {
    borrow::string(raw.get())
}

/// What a wrapper field holds: the text of a JSON string, or the JSON of an object.
fn payload(raw: &RawValue) -> Option<Cow<'_, str>> {
    match raw.get().as_bytes().first() {
        Some(b'"') => text(raw),
        Some(b'{' | b'[') => Some(Cow::Borrowed(raw.get())),
        _ => None,
    }
}

fn not_an_event(message: String) -> Rejection {
    Rejection {
        kind: DiagnosticKind::NotAuditEvent,
        message,
    }
}
