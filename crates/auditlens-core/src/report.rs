//! The output schema: one set of serde types behind the CLI's `--format json|jsonl|csv` and the
//! batches the browser receives, so the two can be compared field by field.

use serde::{Deserialize, Serialize};

use crate::diagnostics::Diagnostic;

/// How urgent a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// All severities, least urgent first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a severity name, as given on a command line.
    pub fn parse(text: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text))
    }
}

/// One reason a request was flagged, with a stable code and a sentence a person can check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    pub message: String,
}

/// A request that deserves a look.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The request's auditID; `None` (`null` in JSON) for a request logged without one, which
    /// is named by [`Finding::request`] instead.
    #[serde(rename = "auditID")]
    pub audit_id: Option<String>,
    /// For a request logged without an auditID, the key that names it in lookups (the page's
    /// detail view, `Interner::get_audit_id`): `~FILE.OFFSET[.INDEX]`, stable across runs and
    /// chunkings. Its file and line are in `file` and `line`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// When the request was received (RFC 3339).
    pub timestamp: String,
    /// The effective identity (the impersonated user when there was one).
    pub identity: String,
    pub verb: String,
    pub resource: String,
    pub namespace: String,
    pub name: String,
    pub severity: Severity,
    /// 0-100.
    pub score: u8,
    pub reasons: Vec<Reason>,
    /// Ids of the detection rules the request matched.
    pub rules: Vec<String>,
    /// The file and line of the source event.
    pub file: String,
    pub line: u64,
    /// The authenticated user who sent the request, when it differs from `identity`
    /// (impersonation).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub actor: String,
    /// The actor's identity class (`human`, `service-account`, `node`, `control-plane`,
    /// `anonymous`, `automation`).
    #[serde(default)]
    pub class: String,
    /// The incident this finding belongs to (see [`Incident::id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<u32>,
}

impl Finding {
    /// What names the finding's request: its auditID, or its key when it has none.
    pub fn request_key(&self) -> &str {
        self.audit_id
            .as_deref()
            .or(self.request.as_deref())
            .unwrap_or_default()
    }
}

/// Findings of one identity close together in time: one burst of related anomalies, read as
/// one story.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    /// 1 for the most urgent incident, then in order.
    pub id: u32,
    /// The actor.
    pub identity: String,
    pub class: String,
    pub severity: Severity,
    /// The highest finding score.
    pub score: u8,
    /// First and last finding (RFC 3339).
    pub first: String,
    pub last: String,
    pub findings: u32,
    /// Reason codes with how many findings carry them, most frequent first.
    pub reasons: Vec<ReasonCount>,
    /// Rule ids matched by any finding.
    pub rules: Vec<String>,
    /// One line: the most telling reason of the top finding.
    pub summary: String,
}

/// A reason code and how many findings of an incident carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCount {
    pub code: String,
    pub count: u32,
}

/// A value and how often an identity used it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueCount {
    pub value: String,
    pub count: u64,
}

/// What is normal for one identity, as learned from the logs (and a loaded baseline).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProfile {
    /// The username.
    pub identity: String,
    /// `user:alice`, `serviceaccount:ns/name`, `node:n1`, ...
    pub canonical: String,
    pub class: String,
    pub peer_group: String,
    pub requests: u64,
    pub first: Option<String>,
    pub last: Option<String>,
    /// Hours (UTC) holding 95 % of its requests, as `08-18`.
    pub active_hours: Option<String>,
    pub verbs: Vec<ValueCount>,
    pub resources: Vec<ValueCount>,
    pub namespaces: Vec<ValueCount>,
    pub source_ips: Vec<ValueCount>,
    pub clients: Vec<ValueCount>,
    /// Estimated distinct values.
    pub distinct_source_ips: u64,
    pub distinct_namespaces: u64,
    pub distinct_resources: u64,
    /// Share of 401/403 responses.
    pub denied_share: f64,
    pub findings: u32,
    pub incidents: u32,
    pub max_severity: Option<Severity>,
}

/// Totals for one input file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileSummary {
    pub path: String,
    /// The detected format, short: `JSON lines (gzip)`, `EKS CloudWatch Logs Insights JSON
    /// export`.
    pub format: String,
    /// The detected format explained, with its events:
    /// `EKS CloudWatch Logs Insights JSON export (gzip), 12,302 events`.
    pub detected: String,
    /// What the cloud wrappers said about where the events came from (`cluster`, `project`,
    /// `location`, `log group`, ...), a few values each.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub context: std::collections::BTreeMap<String, Vec<String>>,
    pub bytes: u64,
    pub decoded_bytes: u64,
    pub lines: u64,
    pub blank_lines: u64,
    /// Records read: a line of a line-delimited file, or an element of a JSON document.
    pub records: u64,
    /// Records that gave at least one event.
    pub accepted: u64,
    /// Records that gave none (each has an error diagnostic).
    pub rejected: u64,
    /// Records that hold no event by design (a CSV header, a CloudWatch control message):
    /// `records = accepted + rejected + skipped`.
    pub skipped: u64,
    pub events: u64,
    pub requests: u64,
    pub identities: u64,
    pub diagnostics: u64,
    pub warnings: u64,
}

/// Totals for the whole analysis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub files: Vec<FileSummary>,
    pub lines: u64,
    pub blank_lines: u64,
    pub records: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub skipped: u64,
    /// Audit events read (one per stage logged).
    pub events: u64,
    /// Distinct requests, after merging the stages of each auditID.
    pub requests: u64,
    /// Distinct effective identities.
    pub identities: u64,
    pub diagnostics: u64,
    pub warnings: u64,
    /// Earliest and latest request time (RFC 3339), when there were requests.
    pub first: Option<String>,
    pub last: Option<String>,
}

/// Everything an analysis produced, as `--format json` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub summary: Summary,
    pub findings: Vec<Finding>,
    /// Findings grouped by identity and time, most urgent first.
    pub incidents: Vec<Incident>,
    pub diagnostics: Vec<Diagnostic>,
}
