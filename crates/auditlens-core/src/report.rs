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
    #[serde(rename = "auditID")]
    pub audit_id: String,
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
}

/// Totals for one input file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileSummary {
    pub path: String,
    /// The detected format, in words: `JSON lines (gzip)`.
    pub format: String,
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
    pub diagnostics: Vec<Diagnostic>,
}
