//! Findings in the schemas security tools read: OCSF ([`ocsf`]) and the Elastic Common Schema
//! ([`ecs`]). Each finding becomes one JSON record, built from the finding, the request behind
//! it (source address, user agent, response code, URI, groups) and the rules it matched.
//!
//! Records carry what the findings carry and nothing more: rule messages are already redacted
//! ([`crate::redact::redact_text`]) and bodies are never included.
//!
//! Findings of one incident share a group key ([`group_key`]), stable across runs over the same
//! events, so that a receiver (a SIEM, Alertmanager) can group them.

pub mod ecs;
pub mod ocsf;

use std::collections::HashMap;

use serde_json::Value;

use crate::analysis::Analysis;
use crate::intern::Interner;
use crate::model::Event;
use crate::report::{Finding, Incident, Severity};
use crate::rules::RuleMeta;

/// The output schemas a finding can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schema {
    /// OCSF Detection Finding (class 2004), version [`ocsf::VERSION`].
    Ocsf,
    /// Elastic Common Schema, version [`ecs::VERSION`].
    Ecs,
}

/// The version of auditlens written into each record.
pub const PRODUCT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The findings of a finished analysis that `keep` keeps, each as a record of `schema`, in the
/// findings' order.
pub fn records(analysis: &Analysis, schema: Schema, keep: impl Fn(&Finding) -> bool) -> Vec<Value> {
    let kept: Vec<&Finding> = analysis.findings().iter().filter(|f| keep(f)).collect();
    let requests = requests_of(analysis, &kept);
    kept.into_iter()
        .map(|finding| {
            let group = group_key(finding, analysis.incidents());
            let request = requests.get(finding.request_key()).copied();
            record(schema, finding, request, analysis.interner(), group)
        })
        .collect()
}

/// One finding as a record of `schema`, filled from the request behind it (when known) and
/// carrying the group key `group`.
pub fn record(
    schema: Schema,
    finding: &Finding,
    request: Option<&Event>,
    interner: &Interner,
    group: String,
) -> Value {
    let context = Context {
        finding,
        request,
        interner,
        group,
    };
    match schema {
        Schema::Ocsf => ocsf::record(&context),
        Schema::Ecs => ecs::record(&context),
    }
}

/// What one record is made of.
pub(crate) struct Context<'a> {
    pub finding: &'a Finding,
    /// The request behind the finding, when the analysis still holds it.
    pub request: Option<&'a Event>,
    pub interner: &'a Interner,
    pub group: String,
}

impl Context<'_> {
    fn text(&self, get: impl Fn(&Event) -> crate::intern::Sym) -> Option<&str> {
        let sym = get(self.request?);
        let text = self.interner.resolve(sym);
        (!text.is_empty()).then_some(text)
    }

    fn list(&self, get: impl Fn(&Event) -> crate::intern::ListId) -> Vec<&str> {
        let Some(event) = self.request else {
            return Vec::new();
        };
        self.interner
            .list(get(event))
            .iter()
            .map(|&sym| self.interner.resolve(sym))
            .filter(|s| !s.is_empty())
            .collect()
    }

    pub fn user_agent(&self) -> Option<&str> {
        self.text(|e| e.user_agent)
    }
    pub fn request_uri(&self) -> Option<&str> {
        self.text(|e| e.request_uri)
    }
    pub fn api_group(&self) -> Option<&str> {
        self.text(|e| e.api_group)
    }
    pub fn api_version(&self) -> Option<&str> {
        self.text(|e| e.api_version)
    }
    pub fn subresource(&self) -> Option<&str> {
        self.text(|e| e.subresource)
    }
    pub fn uid(&self) -> Option<&str> {
        self.text(|e| e.uid)
    }
    pub fn decision_reason(&self) -> Option<&str> {
        self.text(|e| e.reason)
    }
    /// The authorizer's decision (`authorization.k8s.io/decision`), when the log has it.
    pub fn decision(&self) -> Option<&'static str> {
        match self.request?.decision {
            crate::model::Decision::Allow => Some("allow"),
            crate::model::Decision::Forbid => Some("forbid"),
            crate::model::Decision::Unknown => None,
        }
    }
    /// The authenticated user, when it acted as another identity (impersonation).
    pub fn impersonator(&self) -> Option<&str> {
        let f = self.finding;
        (!f.actor.is_empty() && f.actor != f.identity).then_some(f.actor.as_str())
    }
    /// What neither schema has a field for, under `auditlens` in both: the identity's class,
    /// the reasons, the rules, the source line and the incident.
    pub fn own_fields(&self) -> Vec<(&'static str, Option<Value>)> {
        let f = self.finding;
        vec![
            ("identity_class", string(&f.class)),
            ("reasons", Some(serde_json::json!(f.reasons))),
            ("rules", Some(serde_json::json!(f.rules))),
            ("file", Some(serde_json::json!(f.file))),
            ("line", Some(serde_json::json!(f.line))),
            ("incident", f.incident.map(Value::from)),
        ]
    }
    /// The effective identity's groups: the impersonated groups when the actor impersonated.
    pub fn groups(&self) -> Vec<&str> {
        match self.request {
            Some(e) if !e.impersonated_user.is_empty() => self.list(|e| e.impersonated_groups),
            _ => self.list(|e| e.groups),
        }
    }
    pub fn source_ips(&self) -> Vec<&str> {
        self.list(|e| e.source_ips)
    }
    /// The client's address, when the first source IP is one (hostile logs hold anything).
    pub fn client_ip(&self) -> Option<std::net::IpAddr> {
        self.source_ips().first()?.trim().parse().ok()
    }
    /// The HTTP response code, when the request has one.
    pub fn code(&self) -> Option<u16> {
        self.request.map(|e| e.code).filter(|&c| c > 0)
    }
    /// When the request was received, in milliseconds since the epoch.
    pub fn time_ms(&self) -> Option<i64> {
        self.request
            .map(|e| e.received.div_euclid(1000))
            .or_else(|| {
                crate::time::parse_rfc3339(&self.finding.timestamp).map(|m| m.div_euclid(1000))
            })
    }
    /// The rules the finding matched, most severe first.
    pub fn rules(&self) -> Vec<&'static RuleMeta> {
        let mut rules: Vec<&'static RuleMeta> = self
            .finding
            .rules
            .iter()
            .filter_map(|id| crate::rules::rule(id))
            .collect();
        // Ties go to the rule the finding's reasons put first (the scorer orders them).
        let place = |id: &str| {
            let prefix = format!("rule {id} ");
            let reasons = &self.finding.reasons;
            reasons
                .iter()
                .position(|r| r.message.starts_with(&prefix))
                .unwrap_or(reasons.len())
        };
        rules.sort_by_key(|r| (std::cmp::Reverse(r.severity), place(r.id), r.id));
        rules
    }
    /// ATT&CK technique ids of the matched rules, each once, in order.
    pub fn techniques(&self) -> Vec<&'static str> {
        let mut seen = Vec::new();
        for rule in self.rules() {
            for technique in rule.techniques {
                if !seen.contains(technique) {
                    seen.push(*technique);
                }
            }
        }
        seen
    }
    /// One line naming the finding: the top rule's title, or what was unusual.
    pub fn title(&self) -> String {
        let f = self.finding;
        match self.rules().first() {
            Some(rule) => rule.title.to_string(),
            None => format!(
                "Unusual request by {}: {} {}",
                f.identity, f.verb, f.resource
            ),
        }
    }
    /// The most telling reason (the scorer puts it first), or the title.
    pub fn headline(&self) -> String {
        match self.finding.reasons.first() {
            Some(reason) => reason.message.clone(),
            None => self.title(),
        }
    }
    /// The reasons, one sentence each.
    pub fn description(&self) -> String {
        let messages: Vec<&str> = self
            .finding
            .reasons
            .iter()
            .map(|r| r.message.as_str())
            .collect();
        messages.join("; ")
    }
    /// The verb's outcome: the request succeeded (2xx, 101), failed, or it is not known.
    pub fn outcome(&self) -> Outcome {
        match self.code() {
            Some(code) if (200..300).contains(&code) || code == 101 => Outcome::Success,
            Some(_) => Outcome::Failure,
            None => Outcome::Unknown,
        }
    }
}

/// Whether a request succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    Failure,
    Unknown,
}

/// The key shared by the findings of one incident (the same identity, in one burst): a hash of
/// the identity and the incident's first finding time; for a finding in no incident, of the
/// identity and its request. `auditlens-` and 16 hex digits.
pub fn group_key(finding: &Finding, incidents: &[Incident]) -> String {
    let incident = finding
        .incident
        .and_then(|id| incidents.iter().find(|i| i.id == id));
    match incident {
        Some(incident) => incident_group_key(&incident.identity, &incident.first),
        None => keyed(&format!(
            "request\n{}\n{}",
            finding.identity,
            finding.request_key()
        )),
    }
}

/// The group key of the incident of `actor` whose first finding was at `first` (RFC 3339).
pub fn incident_group_key(actor: &str, first: &str) -> String {
    keyed(&format!("incident\n{actor}\n{first}"))
}

fn keyed(basis: &str) -> String {
    format!("auditlens-{:016x}", fnv1a(basis.as_bytes()))
}

/// FNV-1a, 64 bits: stable across platforms, versions and runs.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The requests behind `findings`, by request key, found in one pass over the requests.
fn requests_of<'a>(analysis: &'a Analysis, findings: &[&Finding]) -> HashMap<String, &'a Event> {
    let interner = analysis.interner();
    let mut wanted: HashMap<crate::intern::AuditId, String> = HashMap::new();
    for finding in findings {
        let key = finding.request_key();
        if let Some(id) = interner.get_audit_id(key) {
            wanted.insert(id, key.to_string());
        }
    }
    let mut found = HashMap::with_capacity(wanted.len());
    for event in analysis.requests() {
        if let Some(key) = wanted.get(&event.audit_id) {
            found.entry(key.clone()).or_insert(event);
        }
    }
    found
}

/// OCSF's and ECS's severity number of a finding's severity.
pub(crate) fn severity_number(severity: Severity) -> u8 {
    match severity {
        Severity::Info => 1,
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
        Severity::Critical => 5,
    }
}

/// A JSON object with the `None` values of `entries` left out.
pub(crate) fn object(entries: Vec<(&str, Option<Value>)>) -> Value {
    Value::Object(
        entries
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
            .collect(),
    )
}

/// `Some(text)` as a JSON string, `None` for an empty one.
pub(crate) fn string(text: &str) -> Option<Value> {
    (!text.is_empty()).then(|| Value::String(text.to_string()))
}
