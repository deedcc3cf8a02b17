//! The API server's audit policy (`audit.k8s.io/v1` `Policy`): reading it as kube-apiserver
//! does, evaluating it request by request with the server's semantics, and what the logs say
//! about it: lints, the volume it would write, what it would no longer see, a policy derived
//! from the logs, and the log-rotation flags that keep a number of days.
//!
//! This is the policy that decides *what the API server writes*; it has nothing to do with the
//! `policy` family of detection rules in [`crate::rules`] (the site's allowlists of users,
//! images, namespaces and nodes). In documentation it is always "the audit policy".
//!
//! ```text
//! policy file ─▶ document (YAML/JSON tree with lines) ─▶ decode (as the server: types, unknown
//!                fields ignored and recorded) ─▶ validate (the server's checks) ─▶ PolicyFile
//!
//! PolicyFile ─▶ lint::check ─▶ Lints (rule index, field, line, fix)
//! Policy + Event ─▶ RequestAttributes ─▶ Policy::evaluate ─▶ Decision (level, stages, rule)
//! Policy + Analysis ─▶ volume::simulate ─▶ Volume (per day, level, identity, resource; blind)
//! Analysis ─▶ suggest::suggest ─▶ Policy (+ its YAML) ─▶ retention::flags
//! ```
//!
//! Everything here is pure: text in, values out. The CLI (`auditlens policy`) and the page's
//! Policy tab are thin faces over it.

pub mod catalog;
mod cost;
pub mod decode;
pub mod document;
pub mod evaluate;
pub mod lint;
mod lint_probed;
mod lint_requests;
pub mod retention;
mod routine;
mod shadow;
pub mod suggest;
pub mod validate;
pub mod volume;
pub mod write;

use serde::Serialize;

pub use evaluate::{Decision, Groups, RequestAttributes, StageSet};
pub use lint::{check, Lint, LintSeverity};

use crate::model::{Level, Stage};

/// The only `apiVersion` kube-apiserver (1.24 and later) loads a policy from.
pub const API_VERSION: &str = "audit.k8s.io/v1";

/// The level of a request no rule matches.
pub const DEFAULT_LEVEL: Level = Level::None;

/// An audit policy, as kube-apiserver holds it after loading.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Policy {
    pub rules: Vec<PolicyRule>,
    /// Stages never written, for every request (and added to each rule's own).
    pub omit_stages: Vec<Stage>,
    pub omit_managed_fields: bool,
}

/// One rule: who, what and where it matches, and the level it gives.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyRule {
    pub level: Level,
    /// The level as written, when it is not one of the four (the server refuses it).
    pub level_text: String,
    pub users: Vec<String>,
    pub user_groups: Vec<String>,
    pub verbs: Vec<String>,
    pub resources: Vec<GroupResources>,
    pub namespaces: Vec<String>,
    pub non_resource_urls: Vec<String>,
    pub omit_stages: Vec<Stage>,
    pub omit_managed_fields: Option<bool>,
    /// The line the rule starts on (0 when not read from a file).
    pub line: u32,
}

impl Default for PolicyRule {
    fn default() -> Self {
        PolicyRule {
            level: Level::Unknown,
            level_text: String::new(),
            users: Vec::new(),
            user_groups: Vec::new(),
            verbs: Vec::new(),
            resources: Vec::new(),
            namespaces: Vec::new(),
            non_resource_urls: Vec::new(),
            omit_stages: Vec::new(),
            omit_managed_fields: None,
            line: 0,
        }
    }
}

impl PolicyRule {
    /// A rule at `level` that matches everything.
    pub fn at(level: Level) -> PolicyRule {
        PolicyRule {
            level,
            ..PolicyRule::default()
        }
    }

    /// True for a rule that names neither resources, namespaces nor URLs: it matches both
    /// resource and non-resource requests.
    pub fn is_unscoped(&self) -> bool {
        self.resources.is_empty() && self.namespaces.is_empty() && self.non_resource_urls.is_empty()
    }

    /// True for a rule that matches every request.
    pub fn is_catch_all(&self) -> bool {
        self.is_unscoped()
            && self.users.is_empty()
            && self.user_groups.is_empty()
            && self.verbs.is_empty()
    }
}

/// Resources of one API group (`resources: - group: apps ...`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupResources {
    /// `""` is the core group, `"*"` every group.
    pub group: String,
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
    pub line: u32,
}

/// Why kube-apiserver would refuse to start with a policy file, in its own words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyError {
    /// Where: `rules[2].resources[0].group`, or empty for the file as a whole.
    pub field: String,
    /// The rule concerned, when there is one.
    pub rule: Option<usize>,
    pub line: u32,
    /// What the server says (its field path, then the reason).
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

/// A field kube-apiserver ignores (it loads the policy without it, and logs one warning).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IgnoredField {
    /// `rules[0].resources[0].groups`.
    pub field: String,
    pub key: String,
    pub rule: Option<usize>,
    pub line: u32,
    /// The field that was probably meant.
    pub suggestion: Option<&'static str>,
    /// Where it sits: `policy`, `rule`, `resources` or `metadata`.
    pub within: &'static str,
}

/// A key written twice in one mapping: the server keeps the last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RepeatedField {
    pub field: String,
    pub rule: Option<usize>,
    pub line: u32,
    pub first_line: u32,
}

/// What reading a policy file gave.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyFile {
    /// The policy as decoded; `None` when the file could not be decoded at all.
    pub policy: Option<Policy>,
    /// Why kube-apiserver would refuse it; empty when it loads.
    pub refused: Vec<PolicyError>,
    pub ignored: Vec<IgnoredField>,
    pub repeated: Vec<RepeatedField>,
    /// YAML documents after the first, which the server never reads.
    pub extra_documents: usize,
}

impl PolicyFile {
    /// True when kube-apiserver starts with this policy.
    pub fn loads(&self) -> bool {
        self.policy.is_some() && self.refused.is_empty()
    }

    /// The policy, when kube-apiserver would load it.
    pub fn loaded(&self) -> Option<&Policy> {
        self.policy.as_ref().filter(|_| self.refused.is_empty())
    }
}

/// Reads a policy file's text (YAML or JSON) as kube-apiserver does.
pub fn read(text: &str) -> PolicyFile {
    decode::decode(text)
}

/// Reads a policy file's bytes; text that is not UTF-8 is refused, as the server's decoder does.
pub fn read_bytes(bytes: &[u8]) -> PolicyFile {
    match std::str::from_utf8(bytes) {
        Ok(text) => read(text),
        Err(e) => {
            let line = 1 + bytes
                .iter()
                .take(e.valid_up_to())
                .filter(|&&b| b == b'\n')
                .count();
            PolicyFile {
                refused: vec![PolicyError {
                    field: String::new(),
                    rule: None,
                    line: u32::try_from(line).unwrap_or(u32::MAX),
                    message: "failed decoding: the file is not UTF-8 text".to_string(),
                    fix: "save the policy as UTF-8".to_string(),
                }],
                ..PolicyFile::default()
            }
        }
    }
}

/// The name of a level as written in policies and events.
pub fn level_name(level: Level) -> &'static str {
    match level {
        Level::None => "None",
        Level::Metadata => "Metadata",
        Level::Request => "Request",
        Level::RequestResponse => "RequestResponse",
        Level::Unknown => "Unknown",
    }
}

/// The four stages a policy may omit, in the order a request passes them.
pub const STAGES: [Stage; 4] = [
    Stage::RequestReceived,
    Stage::ResponseStarted,
    Stage::ResponseComplete,
    Stage::Panic,
];
