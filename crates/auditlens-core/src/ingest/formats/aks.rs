//! AKS: audit events from diagnostic settings, and the Log Analytics tables they fill.
//!
//! A diagnostic setting with the `kube-audit` (every request) or `kube-audit-admin` (no get or
//! list) category sends records `{"category","resourceId","time","properties":{"log":...}}`,
//! the event in `properties.log` as a JSON string (or an object), to:
//! - Event Hubs, in batches `{"records":[...]}`;
//! - a storage account, as `PT1H.json` blobs of one record a line;
//! - Log Analytics, where they become rows of `AzureDiagnostics` (the event in `log_s`) or,
//!   in resource-specific mode, of `AKSAudit` / `AKSAuditAdmin`, whose columns are the
//!   event's fields in PascalCase (`AuditId`, `Verb`, `User`, `ObjectRef`, ...) with the
//!   dynamic ones as objects or, in some exports, as JSON text.
//!
//! A body too large for the pipeline is replaced by the string `skipped-too-big-size-object`;
//! such events are kept without the body and flagged truncated.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{not_an_event, text, Formats, Found, Probe, Shape};
use crate::ingest::borrow;
use crate::ingest::record::Emit;
use crate::ingest::wire::{WireEvent, WireObjectRef, WireStatus, WireUser};

/// What AKS writes in place of a body too large to log.
pub const SKIPPED_BODY: &str = "skipped-too-big-size-object";

/// The diagnostic categories that carry audit events.
const AUDIT_CATEGORIES: &[&str] = &["kube-audit", "kube-audit-admin"];

/// Note bit for records of other categories.
const OTHER_CATEGORY_NOTE: u32 = 1 << 31;

/// Drops a request or response body that AKS left out for its size; true when there was one.
pub(crate) fn drop_skipped_bodies(event: &mut WireEvent<'_>) -> bool {
    let skipped = |raw: &Option<&RawValue>| {
        raw.is_some_and(|r| {
            r.get().len() == SKIPPED_BODY.len() + 2 && r.get()[1..].starts_with(SKIPPED_BODY)
        })
    };
    let (request, response) = (
        skipped(&event.request_object),
        skipped(&event.response_object),
    );
    if request {
        event.request_object = None;
    }
    if response {
        event.response_object = None;
    }
    request || response
}

#[derive(Debug, Deserialize)]
struct Properties<'a> {
    #[serde(borrow)]
    log: Option<&'a RawValue>,
}

/// A diagnostic record (Event Hubs batch item, PT1H.json line).
pub(super) fn diagnostic(
    formats: &mut Formats,
    probe: &Probe<'_>,
    properties: &RawValue,
    depth: u8,
    emit: &mut Emit<'_>,
) -> Found {
    let shape = Shape::AksDiagnostic;
    if !audit_category(formats, probe.category, shape, emit) {
        return Found::Skipped;
    }
    resource_context(formats, probe.resource_id);
    let log = serde_json::from_str::<Properties<'_>>(properties.get())
        .ok()
        .and_then(|p| p.log);
    match log {
        Some(log) => formats.wrapped(shape, "properties.log", log, depth, emit),
        None => Found::Rejected(
            shape,
            not_an_event("an AKS diagnostic record without properties.log".to_string()),
        ),
    }
}

/// An `AzureDiagnostics` row, the event in `log_s`.
pub(super) fn azure_diagnostics(
    formats: &mut Formats,
    probe: &Probe<'_>,
    log: &RawValue,
    depth: u8,
    emit: &mut Emit<'_>,
) -> Found {
    let shape = Shape::AzureDiagnostics;
    if !audit_category(formats, probe.category_column, shape, emit) {
        return Found::Skipped;
    }
    resource_context(
        formats,
        probe.resource_id_column.or(probe.resource_id_pascal),
    );
    formats.wrapped(shape, "log_s", log, depth, emit)
}

/// Whether a record's category (if it names one) carries audit events; notes once per file
/// that other categories are skipped.
fn audit_category(
    formats: &mut Formats,
    category: Option<&RawValue>,
    shape: Shape,
    emit: &mut Emit<'_>,
) -> bool {
    let Some(category) = category.and_then(text) else {
        return true;
    };
    if AUDIT_CATEGORIES.contains(&category.as_ref()) {
        return true;
    }
    formats.recognized(shape);
    formats.note_once(
        OTHER_CATEGORY_NOTE,
        emit,
        format!(
            "AKS diagnostic records of category {category:?} are not audit events (kube-audit, \
             kube-audit-admin); they are skipped and counted as skipped"
        ),
    );
    false
}

/// Cluster and resource group from an Azure resource ID
/// (`/SUBSCRIPTIONS/.../RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/NAME`).
fn resource_context(formats: &mut Formats, resource_id: Option<&RawValue>) {
    let Some(id) = resource_id.and_then(text) else {
        return;
    };
    let parts: Vec<&str> = id.split('/').collect();
    for pair in parts.windows(2) {
        if pair[0].eq_ignore_ascii_case("managedclusters") {
            formats.keep_context("cluster", pair[1]);
        } else if pair[0].eq_ignore_ascii_case("resourcegroups") {
            formats.keep_context("resource group", pair[1]);
        }
    }
}

/// A row of `AKSAudit` or `AKSAuditAdmin`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableRow<'a> {
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    audit_id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    level: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    stage: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    request_uri: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    verb: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user: Option<&'a RawValue>,
    #[serde(borrow)]
    impersonated_user: Option<&'a RawValue>,
    #[serde(borrow)]
    source_ips: Option<&'a RawValue>,
    #[serde(borrow)]
    object_ref: Option<&'a RawValue>,
    #[serde(borrow)]
    response_status: Option<&'a RawValue>,
    #[serde(borrow)]
    request_object: Option<&'a RawValue>,
    #[serde(borrow)]
    response_object: Option<&'a RawValue>,
    #[serde(borrow)]
    annotations: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    request_received_time: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    stage_received_time: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    time_generated: Option<Cow<'a, str>>,
    #[serde(rename = "Type", default, borrow, deserialize_with = "borrow::option")]
    table: Option<Cow<'a, str>>,
    #[serde(rename = "_ResourceId", borrow)]
    resource_id: Option<&'a RawValue>,
}

/// The JSON text of a dynamic column: the object itself, or the JSON inside a string.
/// Empty and null values are absent.
fn dynamic(raw: Option<&RawValue>) -> Option<Cow<'_, str>> {
    let raw = raw?;
    let text = match raw.get().as_bytes().first() {
        Some(b'"') => text(raw)?,
        Some(b'n') => return None,
        _ => Cow::Borrowed(raw.get()),
    };
    (!text.trim().is_empty()).then_some(text)
}

/// Parses a dynamic column's JSON text.
fn parse<'t, T: Deserialize<'t>>(
    column: &str,
    text: &'t Option<Cow<'_, str>>,
) -> Result<Option<T>, String> {
    text.as_deref()
        .map(|t| serde_json::from_str::<T>(t))
        .transpose()
        .map_err(|e| format!("{column} column is not what AKSAudit holds: {e}"))
}

/// A row of `AKSAudit` / `AKSAuditAdmin`, mapped column by column.
pub(super) fn table_row(formats: &mut Formats, bytes: &[u8], emit: &mut Emit<'_>) -> Found {
    let shape = Shape::AksAuditTable;
    let rejected = |message: String| Found::Rejected(shape, not_an_event(message));
    let row = match serde_json::from_slice::<TableRow<'_>>(bytes) {
        Ok(row) => row,
        Err(e) => return rejected(format!("an AKSAudit row that does not parse: {e}")),
    };
    if let Some(table) = row.table.as_deref() {
        formats.keep_context("table", table);
    }
    resource_context(formats, row.resource_id);
    let mut texts = [
        dynamic(row.user),
        dynamic(row.impersonated_user),
        dynamic(row.source_ips),
        dynamic(row.object_ref),
        dynamic(row.response_status),
        dynamic(row.annotations),
        dynamic(row.request_object),
        dynamic(row.response_object),
    ];
    let mut skipped = false;
    for body in &mut texts[6..] {
        if body.as_deref() == Some(SKIPPED_BODY) {
            *body = None;
            skipped = true;
        }
    }
    let event = build(&row, &texts);
    let mut event = match event {
        Ok(event) => event,
        Err(why) => return rejected(format!("an AKSAudit row whose {why}")),
    };
    if let Some(why) = event.not_an_event() {
        return rejected(format!("an AKSAudit row that is not an audit event: {why}"));
    }
    if skipped {
        emit.body_skipped(&event);
    }
    emit.mapped_event(&mut event, skipped);
    Found::Handled(shape)
}

/// The event a row of `AKSAudit` stands for; `texts` are its dynamic columns' JSON, in the
/// order `User, ImpersonatedUser, SourceIps, ObjectRef, ResponseStatus, Annotations,
/// RequestObject, ResponseObject`.
fn build<'t>(
    row: &TableRow<'t>,
    texts: &'t [Option<Cow<'t, str>>; 8],
) -> Result<WireEvent<'t>, String> {
    let [user, impersonated, ips, object, status, annotations, request, response] = texts;
    Ok(WireEvent {
        kind: Some(Cow::Borrowed("Event")),
        level: row.level.clone(),
        audit_id: row.audit_id.clone(),
        stage: row.stage.clone(),
        request_uri: row.request_uri.clone(),
        verb: row.verb.clone(),
        user: parse::<WireUser<'_>>("User", user)?,
        impersonated_user: parse::<WireUser<'_>>("ImpersonatedUser", impersonated)?,
        source_ips: parse::<Vec<Cow<'_, str>>>("SourceIps", ips)?,
        user_agent: row.user_agent.clone(),
        object_ref: parse::<WireObjectRef<'_>>("ObjectRef", object)?,
        response_status: parse::<WireStatus<'_>>("ResponseStatus", status)?,
        request_object: parse::<&RawValue>("RequestObject", request)?,
        response_object: parse::<&RawValue>("ResponseObject", response)?,
        request_received_timestamp: row
            .request_received_time
            .clone()
            .or_else(|| row.time_generated.clone()),
        stage_timestamp: row.stage_received_time.clone(),
        annotations: parse("Annotations", annotations)?,
        ..WireEvent::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_bodies_are_dropped() {
        let json = format!(
            r#"{{"auditID":"a","verb":"create","requestObject":"{SKIPPED_BODY}","responseObject":{{"kind":"Pod"}}}}"#
        );
        let mut event: WireEvent<'_> = serde_json::from_str(&json).unwrap();
        assert!(drop_skipped_bodies(&mut event));
        assert!(event.request_object.is_none());
        assert!(event.response_object.is_some());
        assert!(!drop_skipped_bodies(&mut event));
    }

    #[test]
    fn dynamic_columns_are_objects_or_json_text() {
        let object: &RawValue = serde_json::from_str(r#"{"username":"u"}"#).unwrap();
        let string: &RawValue = serde_json::from_str(r#""{\"username\":\"u\"}""#).unwrap();
        let empty: &RawValue = serde_json::from_str(r#""""#).unwrap();
        for raw in [object, string] {
            let text = dynamic(Some(raw));
            let user: Option<WireUser<'_>> = parse("User", &text).unwrap();
            assert_eq!(user.unwrap().username.as_deref(), Some("u"));
        }
        assert!(dynamic(Some(empty)).is_none());
    }
}
