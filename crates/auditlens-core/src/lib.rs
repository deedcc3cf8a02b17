//! auditlens-core: everything auditlens knows about Kubernetes audit logs, with no I/O and no
//! clock, so that the same code runs in the CLI and, compiled to WebAssembly, in a browser tab.
//!
//! Data flows one way:
//!
//! ```text
//! bytes ─▶ ingest (decode, frame, parse) ─▶ Analysis (normalize, merge stages) ─▶ report
//! ```
//!
//! - [`ingest`] turns pushed chunks into wire events and [`Diagnostic`]s.
//! - [`Analysis`] normalizes them into compact [`Event`]s (strings interned in an
//!   [`Interner`]) and merges the stages of each request.
//! - [`report`] is the output schema shared by every front end; [`stats`] counts.
//!
//! Time comes from the events and bytes from the caller: see `clippy.toml` for what this crate
//! may not call.

pub mod analysis;
pub mod baseline;
pub mod detection;
pub mod diagnostics;
pub mod export;
pub mod identity;
pub mod ingest;
pub mod intern;
pub mod model;
pub mod net;
pub mod policy;
pub mod rbac;
pub mod redact;
pub mod report;
pub mod rules;
pub mod scoring;
pub mod shard;
pub mod stats;
pub mod time;
pub mod watch;

pub use analysis::{Analysis, FileId, MAX_KEPT_DIAGNOSTICS};
pub use baseline::{Baseline, BaselineError};
pub use detection::RuleHit;
pub use diagnostics::{Diagnostic, DiagnosticKind, DiagnosticSeverity};
pub use identity::IdentityClass;
pub use ingest::Limits;
pub use intern::{AuditId, Interner, ListId, Sym};
pub use model::{BodyBytes, Decision, Event, Level, Source, Stage};
pub use report::{
    FileSummary, Finding, IdentityProfile, Incident, Reason, Report, Severity, Summary,
};
pub use shard::{PartError, Shard};
