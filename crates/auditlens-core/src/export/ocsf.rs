//! A finding as an OCSF Detection Finding (class 2004, category Findings), with the request
//! behind it as its evidence in the attributes of an API Activity (class 6003): the actor, the
//! API call, the source endpoint, the HTTP request and the resource. The request itself is
//! named in `finding_info.related_events` with its API Activity type.
//!
//! The mapping, field by field, is in `docs/outputs.md`; `scripts/validate-outputs.sh` checks
//! the records against the OCSF schema of [`VERSION`].

use serde_json::{json, Value};

use super::{object, severity_number, string, Context, Outcome, PRODUCT_VERSION};

/// The OCSF schema version the records follow.
pub const VERSION: &str = "1.5.0";

const CLASS_UID: u32 = 2004;
const API_ACTIVITY_UID: u32 = 6003;

/// The Detection Finding of one finding.
pub(crate) fn record(c: &Context<'_>) -> Value {
    let f = c.finding;
    let severity = severity_number(f.severity);
    let rules = c.rules();
    let analytic = match rules.first() {
        Some(rule) => json!({
            "type_id": 1, "type": "Rule", "uid": rule.id, "name": rule.title,
            "category": rule.family, "desc": rule.description,
        }),
        None => json!({
            "type_id": 2, "type": "Behavioral", "uid": "auditlens.baseline",
            "name": "Behaviour against the identity's baseline",
        }),
    };
    let attacks: Vec<Value> = c
        .techniques()
        .into_iter()
        .map(|t| json!({ "technique": { "uid": t } }))
        .collect();
    let (activity_id, activity) = api_activity(&f.verb);
    let time = c.time_ms();
    let finding_info = object(vec![
        ("uid", Some(json!(f.request_key()))),
        ("title", Some(json!(c.title()))),
        ("desc", string(&c.description())),
        ("types", Some(json!(["Kubernetes API request"]))),
        ("analytic", Some(analytic)),
        ("attacks", (!attacks.is_empty()).then(|| json!(attacks))),
        ("data_sources", Some(json!(["Kubernetes audit log"]))),
        ("first_seen_time", time.map(Value::from)),
        ("last_seen_time", time.map(Value::from)),
        (
            "related_events",
            Some(json!([object(vec![
                ("uid", Some(json!(f.request_key()))),
                (
                    "type_uid",
                    Some(json!(API_ACTIVITY_UID * 100 + activity_id))
                ),
                (
                    "type_name",
                    Some(json!(format!("API Activity: {activity}")))
                ),
                (
                    "product_uid",
                    string(f.audit_id.as_deref().unwrap_or_default())
                ),
            ])])),
        ),
    ]);
    object(vec![
        ("activity_id", Some(json!(1))),
        ("activity_name", Some(json!("Create"))),
        ("category_uid", Some(json!(2))),
        ("category_name", Some(json!("Findings"))),
        ("class_uid", Some(json!(CLASS_UID))),
        ("class_name", Some(json!("Detection Finding"))),
        ("type_uid", Some(json!(CLASS_UID * 100 + 1))),
        ("type_name", Some(json!("Detection Finding: Create"))),
        ("severity_id", Some(json!(severity))),
        ("severity", Some(json!(severity_name(severity)))),
        ("status_id", Some(json!(1))),
        ("status", Some(json!("New"))),
        ("time", Some(json!(time.unwrap_or(0)))),
        ("message", Some(json!(c.headline()))),
        ("risk_score", Some(json!(f.score))),
        (
            "is_alert",
            Some(json!(f.severity >= crate::Severity::Medium)),
        ),
        ("finding_info", Some(finding_info)),
        ("evidences", Some(json!([evidence(c)]))),
        ("resources", resource(c).map(|r| json!([r]))),
        (
            "metadata",
            Some(object(vec![
                (
                    "product",
                    Some(json!({
                        "name": "auditlens", "vendor_name": "auditlens",
                        "version": PRODUCT_VERSION,
                    })),
                ),
                ("version", Some(json!(VERSION))),
                ("correlation_uid", Some(json!(c.group))),
                ("log_name", string(&f.file)),
                ("original_time", string(&f.timestamp)),
            ])),
        ),
        ("unmapped", Some(unmapped(c))),
    ])
}

/// The request as API Activity attributes: who, which call, from where, with what result.
fn evidence(c: &Context<'_>) -> Value {
    let f = c.finding;
    let groups: Vec<Value> = c.groups().iter().map(|g| json!({ "name": g })).collect();
    let (type_id, type_name) = user_type(&f.class);
    let user = object(vec![
        ("name", Some(json!(f.identity))),
        ("uid", c.uid().and_then(string)),
        ("type_id", Some(json!(type_id))),
        ("type", Some(json!(type_name))),
        ("groups", (!groups.is_empty()).then(|| json!(groups))),
    ]);
    let actor = object(vec![
        ("user", Some(user)),
        // The authenticated user who acted as `identity` (impersonation).
        ("invoked_by", c.impersonator().map(Value::from)),
        (
            "authorizations",
            c.decision().map(|decision| {
                json!([object(vec![
                    ("decision", Some(json!(decision))),
                    (
                        "policy",
                        c.decision_reason().map(|reason| {
                            // `RBAC: allowed by ...`: the authorizer is named first.
                            let name = reason
                                .split_once(':')
                                .map(|(name, _)| name.trim())
                                .filter(|n| !n.is_empty() && !n.contains(' '))
                                .unwrap_or("kube-apiserver authorizer");
                            json!({ "name": name, "desc": reason })
                        }),
                    ),
                ])])
            }),
        ),
    ]);
    let response = object(vec![
        ("code", c.code().map(Value::from)),
        (
            "error",
            match c.outcome() {
                Outcome::Failure => c.code().map(|code| json!(code.to_string())),
                _ => None,
            },
        ),
    ]);
    let api = object(vec![
        ("operation", Some(json!(f.verb))),
        ("service", Some(json!({ "name": "kube-apiserver" }))),
        ("group", c.api_group().map(|g| json!({ "name": g }))),
        ("version", c.api_version().and_then(string)),
        ("request", Some(json!({ "uid": f.request_key() }))),
        (
            "response",
            Some(response).filter(|r| r.as_object().is_some_and(|o| !o.is_empty())),
        ),
    ]);
    let (path, query) = split_uri(c.request_uri().unwrap_or_default());
    let http_request = object(vec![
        ("user_agent", c.user_agent().and_then(string)),
        ("http_method", ocsf_http_method(&f.verb).map(Value::from)),
        (
            "url",
            (!path.is_empty()).then(|| {
                object(vec![
                    ("path", string(path)),
                    ("query_string", string(query)),
                ])
            }),
        ),
    ]);
    object(vec![
        ("actor", Some(actor)),
        ("api", Some(api)),
        // An address that is none (hostile logs hold anything) is kept as the endpoint's name;
        // an event logged without sourceIPs has no source endpoint.
        (
            "src_endpoint",
            match (c.client_ip(), c.source_ips().first()) {
                (Some(ip), _) => Some(json!({ "ip": ip.to_string() })),
                (None, Some(text)) => Some(json!({ "name": text })),
                (None, None) => None,
            },
        ),
        (
            "http_request",
            Some(http_request).filter(|h| h.as_object().is_some_and(|o| !o.is_empty())),
        ),
        ("resources", resource(c).map(|r| json!([r]))),
    ])
}

/// The Kubernetes object the request acted on.
fn resource(c: &Context<'_>) -> Option<Value> {
    let f = c.finding;
    if f.resource.is_empty() {
        return None;
    }
    let kind = match c.subresource() {
        Some(sub) => format!("{}/{sub}", f.resource),
        None => f.resource.clone(),
    };
    // The request's path names the object, or the collection when there is no name (list,
    // create, deletecollection).
    let path = split_uri(c.request_uri().unwrap_or_default()).0;
    let uid = if path.is_empty() {
        format!("{}/{}", f.namespace, f.resource)
    } else {
        path.to_string()
    };
    Some(object(vec![
        ("type", Some(json!(kind))),
        ("name", string(&f.name)),
        ("uid", Some(json!(uid))),
        ("namespace", string(&f.namespace)),
        ("group", c.api_group().map(|g| json!({ "name": g }))),
        ("version", c.api_version().and_then(string)),
    ]))
}

/// What OCSF has no attribute for: the explanation, the score's reasons, the source line.
fn unmapped(c: &Context<'_>) -> Value {
    let mut fields = c.own_fields();
    fields.push(("source_ips", Some(json!(c.source_ips()))));
    json!({ "auditlens": object(fields) })
}

fn severity_name(id: u8) -> &'static str {
    match id {
        1 => "Informational",
        2 => "Low",
        3 => "Medium",
        4 => "High",
        _ => "Critical",
    }
}

/// API Activity's activity for a Kubernetes verb.
pub(crate) fn api_activity(verb: &str) -> (u32, &'static str) {
    match verb {
        "create" => (1, "Create"),
        "get" | "list" | "watch" => (2, "Read"),
        "update" | "patch" => (3, "Update"),
        "delete" | "deletecollection" => (4, "Delete"),
        _ => (99, "Other"),
    }
}

/// The HTTP method behind a verb, where one verb has one method and OCSF lists it (OCSF 1.5
/// has no PATCH; ECS takes it).
fn ocsf_http_method(verb: &str) -> Option<&'static str> {
    http_method(verb).filter(|&m| m != "PATCH")
}

/// The HTTP method the API server maps a verb from, where one verb has one method.
pub(crate) fn http_method(verb: &str) -> Option<&'static str> {
    Some(match verb {
        "get" | "list" | "watch" => "GET",
        "create" => "POST",
        "update" => "PUT",
        "patch" => "PATCH",
        "delete" | "deletecollection" => "DELETE",
        _ => return None,
    })
}

/// OCSF's user type for an identity class: (type_id, type).
fn user_type(class: &str) -> (u8, &'static str) {
    match class {
        "human" => (1, "User"),
        "node" | "control-plane" | "service-account" | "automation" => (3, "System"),
        _ => (99, "Other"),
    }
}

/// A request URI's path and query.
pub(crate) fn split_uri(uri: &str) -> (&str, &str) {
    uri.split_once('?').unwrap_or((uri, ""))
}
