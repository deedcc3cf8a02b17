//! A finding as an Elastic Common Schema document: an alert (`event.kind: alert`) on an API
//! call, with the ECS fields that Elasticsearch's and OpenSearch's security and Kubernetes
//! views read (`event.*`, `user.*`, `source.ip`, `user_agent.*`, `url.*`, `http.*`,
//! `orchestrator.*`, `rule.*`, `threat.*`, `related.*`) and, for the Kubernetes audit
//! dashboards, the request's own fields under `kubernetes.audit.*` as Elastic's Kubernetes
//! integration names them. What ECS has no field for is under `auditlens.*`.
//!
//! The mapping is in `docs/outputs.md`; `scripts/validate-outputs.sh` checks every ECS field
//! of the documents against ECS [`VERSION`].

use serde_json::{json, Value};

use super::ocsf::{http_method, split_uri};
use super::{object, severity_number, string, Context, Outcome};

/// The ECS version the documents follow.
pub const VERSION: &str = "8.11.0";

/// The document of one finding.
pub(crate) fn record(c: &Context<'_>) -> Value {
    let f = c.finding;
    let rules = c.rules();
    let ip = c.client_ip().map(|ip| ip.to_string());
    let impersonator = c.impersonator();
    let (path, query) = split_uri(c.request_uri().unwrap_or_default());
    let related_users: Vec<&str> = impersonator
        .into_iter()
        .chain([f.identity.as_str()])
        .collect();
    let related_ips: Vec<String> = c
        .source_ips()
        .iter()
        .filter_map(|s| s.trim().parse::<std::net::IpAddr>().ok())
        .map(|ip| ip.to_string())
        .collect();
    let techniques = c.techniques();
    let user = if let Some(actor) = impersonator {
        object(vec![
            ("name", Some(json!(actor))),
            ("effective", Some(json!({ "name": f.identity }))),
        ])
    } else {
        object(vec![
            ("name", Some(json!(f.identity))),
            ("id", c.uid().and_then(string)),
        ])
    };
    object(vec![
        ("@timestamp", Some(json!(f.timestamp))),
        ("ecs", Some(json!({ "version": VERSION }))),
        ("message", Some(json!(c.headline()))),
        (
            "event",
            Some(object(vec![
                ("kind", Some(json!("alert"))),
                ("category", Some(json!(["api"]))),
                ("type", Some(json!(event_types(c)))),
                ("action", Some(json!(f.verb))),
                (
                    "outcome",
                    Some(json!(match c.outcome() {
                        Outcome::Success => "success",
                        Outcome::Failure => "failure",
                        Outcome::Unknown => "unknown",
                    })),
                ),
                ("severity", Some(json!(severity_number(f.severity)))),
                ("risk_score", Some(json!(f.score))),
                ("id", Some(json!(f.request_key()))),
                ("reason", Some(json!(c.title()))),
                ("module", Some(json!("auditlens"))),
                ("dataset", Some(json!("auditlens.findings"))),
                ("provider", Some(json!("kube-apiserver"))),
            ])),
        ),
        ("user", Some(user)),
        ("source", ip.as_ref().map(|ip| json!({ "ip": ip }))),
        (
            "user_agent",
            c.user_agent().map(|ua| json!({ "original": ua })),
        ),
        (
            "url",
            (!path.is_empty()).then(|| {
                object(vec![
                    ("original", c.request_uri().map(|u| json!(u))),
                    ("path", string(path)),
                    ("query", string(query)),
                ])
            }),
        ),
        (
            "http",
            Some(object(vec![
                (
                    "request",
                    http_method(&f.verb).map(|m| json!({ "method": m })),
                ),
                (
                    "response",
                    c.code().map(|code| json!({ "status_code": code })),
                ),
            ]))
            .filter(|h| h.as_object().is_some_and(|o| !o.is_empty())),
        ),
        (
            "orchestrator",
            Some(object(vec![
                ("type", Some(json!("kubernetes"))),
                ("namespace", string(&f.namespace)),
                ("api_version", c.api_version().and_then(string)),
                (
                    "resource",
                    (!f.resource.is_empty()).then(|| {
                        object(vec![
                            ("type", Some(json!(f.resource))),
                            ("name", string(&f.name)),
                        ])
                    }),
                ),
            ])),
        ),
        (
            "rule",
            rules.first().map(|rule| {
                json!({
                    "id": rule.id, "name": rule.title, "category": rule.family,
                    "description": rule.description, "ruleset": "auditlens",
                })
            }),
        ),
        (
            "threat",
            (!techniques.is_empty())
                .then(|| json!({ "framework": "MITRE ATT&CK", "technique": { "id": techniques } })),
        ),
        (
            "related",
            Some(object(vec![
                ("user", Some(json!(related_users))),
                ("ip", (!related_ips.is_empty()).then(|| json!(related_ips))),
            ])),
        ),
        ("kubernetes", Some(json!({ "audit": audit(c) }))),
        ("auditlens", Some(own_fields(c))),
    ])
}

/// What ECS has no field for: the score and severity, the group key, and what OCSF also keeps.
fn own_fields(c: &Context<'_>) -> Value {
    let mut fields = c.own_fields();
    fields.push(("score", Some(json!(c.finding.score))));
    fields.push(("severity", Some(json!(c.finding.severity))));
    fields.push(("group", Some(json!(c.group))));
    object(fields)
}

/// The request's own fields, as the Kubernetes integration names them (`kubernetes.audit.*`).
fn audit(c: &Context<'_>) -> Value {
    let f = c.finding;
    let impersonated = c.impersonator().is_some();
    let groups = c.groups();
    let username = c.impersonator().unwrap_or(&f.identity);
    object(vec![
        ("auditID", string(f.audit_id.as_deref().unwrap_or_default())),
        ("verb", Some(json!(f.verb))),
        ("requestURI", c.request_uri().and_then(string)),
        (
            "user",
            Some(object(vec![
                ("username", Some(json!(username))),
                ("uid", c.uid().and_then(string)),
                (
                    "groups",
                    (!groups.is_empty() && !impersonated).then(|| json!(groups)),
                ),
            ])),
        ),
        (
            "impersonatedUser",
            impersonated.then(|| {
                object(vec![
                    ("username", Some(json!(f.identity))),
                    ("groups", (!groups.is_empty()).then(|| json!(groups))),
                ])
            }),
        ),
        ("sourceIPs", Some(json!(c.source_ips()))),
        ("userAgent", c.user_agent().and_then(string)),
        (
            "objectRef",
            (!f.resource.is_empty()).then(|| {
                object(vec![
                    ("resource", Some(json!(f.resource))),
                    ("subresource", c.subresource().and_then(string)),
                    ("namespace", string(&f.namespace)),
                    ("name", string(&f.name)),
                    ("apiGroup", c.api_group().and_then(string)),
                    ("apiVersion", c.api_version().and_then(string)),
                ])
            }),
        ),
        (
            "responseStatus",
            c.code().map(|code| json!({ "code": code })),
        ),
        (
            "annotations",
            c.decision().map(|decision| {
                object(vec![
                    ("authorization_k8s_io/decision", Some(json!(decision))),
                    (
                        "authorization_k8s_io/reason",
                        c.decision_reason().and_then(string),
                    ),
                ])
            }),
        ),
    ])
}

/// ECS event types for a verb, with the authorizer's decision when the log has it.
fn event_types(c: &Context<'_>) -> Vec<&'static str> {
    let mut types = vec![match c.finding.verb.as_str() {
        "create" => "creation",
        "delete" | "deletecollection" => "deletion",
        "update" | "patch" => "change",
        "get" | "list" | "watch" => "access",
        _ => "info",
    }];
    match c.decision() {
        Some("allow") => types.push("allowed"),
        Some("forbid") => types.push("denied"),
        _ => {}
    }
    types
}
