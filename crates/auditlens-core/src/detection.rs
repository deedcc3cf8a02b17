//! What the detection rules hand to scoring: the rules a request matched.
//!
//! Rules run while events stream past (they may read request and response bodies, which are not
//! kept); their hits are stored per request (by auditID, merged over the request's stages) and
//! read by scoring and the output.

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;
use serde::Serialize;

use crate::intern::AuditId;
use crate::report::Severity;

/// Rule hits per request, keyed by the request's auditID.
pub type RuleHits = HashMap<AuditId, Vec<RuleHit>, FxBuildHasher>;

/// One detection rule matched one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleHit {
    /// The rule's stable id, e.g. `k8s.pod.privileged`.
    pub rule: &'static str,
    /// The rule's own severity, before the identity's baseline is considered.
    pub severity: Severity,
    /// MITRE ATT&CK technique ids, e.g. `T1611`.
    pub techniques: &'static [&'static str],
    /// What matched, in words, with the values that matched.
    pub message: String,
}
