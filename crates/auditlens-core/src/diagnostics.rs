//! Diagnostics: what was wrong with the input, and where.
//!
//! Bad input never stops an analysis. Each problem becomes a [`Diagnostic`] naming the file,
//! line and byte offset, and reading goes on with the next record. Diagnostics are data that
//! the CLI prints and the page lists; they are not errors.

use serde::{Deserialize, Serialize};

/// What kind of problem a diagnostic reports. The serialized names are stable codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiagnosticKind {
    /// The record is not valid JSON.
    MalformedJson,
    /// The record held bytes that are not UTF-8; they were replaced and the event kept.
    InvalidUtf8,
    /// The producer cut the event short (EKS appends `[Truncated...]`).
    TruncatedEvent,
    /// Valid JSON, but not an audit event.
    NotAuditEvent,
    /// A line or record longer than the limit; skipped without being held in memory.
    RecordTooLong,
    /// The file decompressed past the limit; the rest of it was not read.
    DecompressedLimit,
    /// The gzip stream is corrupt or ends early.
    GzipError,
    /// A JSON document (array or object) ends before it is closed.
    UnterminatedDocument,
    /// Bytes between JSON documents that belong to none of them.
    UnexpectedContent,
    /// Events written without fields that have a default (auditID, stage, timestamps, ...):
    /// kept, counted once per file and field.
    MissingFields,
    /// An auditID repeated by an event that disagrees with the request it names on who did
    /// what (user, verb, URI): merged, and said.
    ConflictingAuditId,
    /// A key that appears more than once in one JSON object: the last value was read (as Go,
    /// jq and SIEMs read it) and the event kept.
    DuplicateKey,
    /// The file could not be read to its end (removed or changed while read, a disk error);
    /// what came before was analysed.
    ReadError,
}

impl DiagnosticKind {
    /// The stable code, as serialized.
    pub fn code(self) -> &'static str {
        match self {
            DiagnosticKind::MalformedJson => "malformed-json",
            DiagnosticKind::InvalidUtf8 => "invalid-utf8",
            DiagnosticKind::TruncatedEvent => "truncated-event",
            DiagnosticKind::NotAuditEvent => "not-audit-event",
            DiagnosticKind::RecordTooLong => "record-too-long",
            DiagnosticKind::DecompressedLimit => "decompressed-limit",
            DiagnosticKind::GzipError => "gzip-error",
            DiagnosticKind::UnterminatedDocument => "unterminated-document",
            DiagnosticKind::UnexpectedContent => "unexpected-content",
            DiagnosticKind::MissingFields => "missing-fields",
            DiagnosticKind::ConflictingAuditId => "conflicting-audit-id",
            DiagnosticKind::DuplicateKey => "duplicate-key",
            DiagnosticKind::ReadError => "read-error",
        }
    }
}

/// One problem found in the input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// The file's path or name as given to the analysis.
    pub file: String,
    /// 1-based line where the offending record starts.
    pub line: u64,
    /// Byte offset of the record's start in the (decompressed) stream.
    pub offset: u64,
    pub kind: DiagnosticKind,
    /// `error`: the record was dropped; `warning`: it was kept, with what could be recovered.
    pub severity: DiagnosticSeverity,
    /// What was wrong, in words a person can act on.
    pub message: String,
}

/// Whether the record behind a diagnostic was dropped or kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiagnosticSeverity {
    Error,
    Warning,
}

impl DiagnosticSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosticSeverity::Error => "error",
            DiagnosticSeverity::Warning => "warning",
        }
    }
}

/// Where in a file a diagnostic points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct At {
    pub line: u64,
    pub offset: u64,
}

impl Diagnostic {
    pub(crate) fn error(file: &str, at: At, kind: DiagnosticKind, message: String) -> Self {
        Self::new(file, at, kind, DiagnosticSeverity::Error, message)
    }

    pub(crate) fn warning(file: &str, at: At, kind: DiagnosticKind, message: String) -> Self {
        Self::new(file, at, kind, DiagnosticSeverity::Warning, message)
    }

    fn new(
        file: &str,
        at: At,
        kind: DiagnosticKind,
        severity: DiagnosticSeverity,
        message: String,
    ) -> Self {
        Diagnostic {
            file: file.to_string(),
            line: at.line,
            offset: at.offset,
            kind,
            severity,
            message,
        }
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {} [{}] {}",
            self.file,
            self.line,
            self.severity.as_str(),
            self.kind.code(),
            self.message
        )
    }
}
