//! GKE: Kubernetes audit events as Cloud Audit Logs entries, mapped onto the event model.
//!
//! GKE does not pass the API server's event through: it writes a Cloud Logging `LogEntry`
//! whose `protoPayload` is an `AuditLog` (`serviceName` `k8s.io`, resource type `k8s_cluster`),
//! read from `gcloud logging read --format=json` (a JSON array) or a sink (JSON lines). The
//! fields map as follows:
//!
//! | LogEntry | event |
//! |---|---|
//! | `protoPayload.authenticationInfo.principalEmail` | `user.username` |
//! | `...serviceAccountDelegationInfo[0]` (first principal) | the actor; `principalEmail` becomes `impersonatedUser` |
//! | `protoPayload.methodName`, last segment | `verb` (`io.k8s.core.v1.pods.exec.create` → `create`) |
//! | `protoPayload.resourceName` | `objectRef` (`core/v1/namespaces/ns/pods/x/exec`), and `requestURI` rebuilt from it |
//! | `protoPayload.requestMetadata.callerIp`, `.callerSuppliedUserAgent` | `sourceIPs`, `userAgent` |
//! | `protoPayload.response.code` (a `Status`), else `protoPayload.status.code` (gRPC) | `responseStatus.code` |
//! | `labels` (`authorization.k8s.io/decision`, `.../reason`, ...) | `annotations` |
//! | `operation.id` (else `insertId`) | `auditID` |
//! | `operation.first` / `.last` | `stage` (`ResponseStarted` / `ResponseComplete`) |
//! | `timestamp` | `requestReceivedTimestamp` |
//! | `protoPayload.request`, `.response` | `requestObject`, `responseObject` |
//! | `split` (an entry Cloud Logging split for its size) | truncated |
//!
//! The level is not logged; it is inferred from the bodies present (`RequestResponse`,
//! `Request`, else `Metadata`). Cluster, project and location are kept as file context.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Formats, Found, Shape};
use crate::diagnostics::DiagnosticKind;
use crate::ingest::borrow;
use crate::ingest::record::Emit;
use crate::ingest::wire::{
    Rejection, WireAnnotations, WireCode, WireEvent, WireObjectRef, WireStatus, WireUser,
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    #[serde(borrow)]
    proto_payload: Option<AuditLog<'a>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    insert_id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    timestamp: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::map")]
    labels: Option<HashMap<Cow<'a, str>, Cow<'a, str>>>,
    #[serde(borrow)]
    operation: Option<Operation<'a>>,
    #[serde(borrow)]
    resource: Option<MonitoredResource<'a>>,
    #[serde(borrow)]
    split: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditLog<'a> {
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    service_name: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    method_name: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    resource_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    authentication_info: Option<AuthenticationInfo<'a>>,
    #[serde(borrow)]
    request_metadata: Option<RequestMetadata<'a>>,
    #[serde(borrow)]
    status: Option<&'a RawValue>,
    authorization_info: Option<Vec<Authorization>>,
    #[serde(borrow)]
    request: Option<&'a RawValue>,
    #[serde(borrow)]
    response: Option<&'a RawValue>,
}

/// One permission check: whether it was granted is the authorizer's decision.
#[derive(Debug, Deserialize)]
struct Authorization {
    granted: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthenticationInfo<'a> {
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    principal_email: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    principal_subject: Option<Cow<'a, str>>,
    #[serde(borrow)]
    service_account_delegation_info: Option<Vec<Delegation<'a>>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delegation<'a> {
    #[serde(borrow)]
    first_party_principal: Option<Principal<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Principal<'a> {
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    principal_email: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestMetadata<'a> {
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    caller_ip: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    caller_supplied_user_agent: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct Operation<'a> {
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    first: Option<&'a RawValue>,
    #[serde(borrow)]
    last: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
struct MonitoredResource<'a> {
    #[serde(default, borrow, deserialize_with = "borrow::map")]
    labels: Option<HashMap<Cow<'a, str>, Cow<'a, str>>>,
}

/// A `google.rpc.Status` or a Kubernetes `Status`: only the code is read.
#[derive(Debug, Default, Deserialize)]
struct Code {
    code: Option<i64>,
}

/// Reads one Cloud Audit Logs entry.
pub(super) fn entry(formats: &mut Formats, bytes: &[u8], emit: &mut Emit<'_>) -> Found {
    let entry = match serde_json::from_slice::<Entry<'_>>(bytes) {
        Ok(entry) => entry,
        Err(e) => return rejected(format!("a Cloud Logging entry that does not parse: {e}")),
    };
    let Some(payload) = &entry.proto_payload else {
        return rejected("a Cloud Logging entry without an audit payload".to_string());
    };
    let service = payload.service_name.as_deref().unwrap_or("");
    // Exports drop `serviceName`; a method of the Kubernetes API says what the entry is.
    let kubernetes_method = payload
        .method_name
        .as_deref()
        .is_some_and(|m| m.starts_with("io.k8s."));
    if service != "k8s.io" && !(service.is_empty() && kubernetes_method) {
        formats.recognized(Shape::Gke);
        formats.note_once(
            Shape::Gke.bit(),
            emit,
            format!(
                "Cloud Audit Logs entries of {service:?} are not Kubernetes audit events \
                 (k8s.io); they are skipped and counted as skipped"
            ),
        );
        return Found::Skipped;
    }
    if let Some(labels) = entry.resource.as_ref().and_then(|r| r.labels.as_ref()) {
        for (label, key) in [
            ("cluster_name", "cluster"),
            ("project_id", "project"),
            ("location", "location"),
        ] {
            if let Some(value) = labels.get(label) {
                formats.keep_context(key, value);
            }
        }
    }
    let Some(method) = payload.method_name.as_deref() else {
        return rejected("a k8s.io audit entry without a methodName".to_string());
    };
    let verb = method.rsplit('.').next().unwrap_or(method);
    let resource_name = payload.resource_name.as_deref().unwrap_or("");
    // An entry without a resourceName still says, in its method, what kind of object it was.
    let object_ref = object_ref(resource_name).or_else(|| object_ref_of_method(method));
    let request_uri = request_uri(resource_name, object_ref.is_some());
    let audit_id = entry
        .operation
        .as_ref()
        .and_then(|o| o.id.clone())
        .or_else(|| entry.insert_id.clone());
    let (user, impersonated) = identities(payload.authentication_info.as_ref());
    let metadata = payload.request_metadata.as_ref();
    let mut event = WireEvent {
        kind: Some(Cow::Borrowed("Event")),
        level: Some(Cow::Borrowed(level(payload))),
        audit_id,
        stage: Some(Cow::Borrowed(stage(entry.operation.as_ref()))),
        request_uri: Some(Cow::Owned(request_uri)),
        verb: Some(Cow::Borrowed(verb)),
        user,
        impersonated_user: impersonated,
        source_ips: metadata
            .and_then(|m| m.caller_ip.clone())
            .map(|ip| vec![ip]),
        user_agent: metadata.and_then(|m| m.caller_supplied_user_agent.clone()),
        object_ref,
        response_status: code(payload).map(|code| WireStatus {
            code: Some(WireCode::Status(code)),
            reason: None,
        }),
        request_object: payload.request,
        response_object: payload.response,
        request_received_timestamp: entry.timestamp.clone(),
        annotations: annotations(entry.labels, payload.authorization_info.as_deref()),
        ..WireEvent::default()
    };
    // The entry is an audit record of the Kubernetes API whatever else it lacks (an export may
    // drop the principal): a verb and what it acted on make it an event.
    if event.object_ref.is_none() && resource_name.is_empty() {
        return rejected(format!(
            "a k8s.io audit entry that names no object: method {method:?}, no resourceName"
        ));
    }
    let truncated = entry.split.is_some();
    if truncated {
        emit.warn(
            DiagnosticKind::TruncatedEvent,
            format!(
                "Cloud Logging split this entry for its size; its request and response bodies \
                 are incomplete (auditID {})",
                event.audit_id.as_deref().unwrap_or("?")
            ),
        );
    }
    emit.mapped_event(&mut event, truncated);
    Found::Handled(Shape::Gke)
}

fn rejected(message: String) -> Found {
    Found::Rejected(
        Shape::Gke,
        Rejection {
            kind: DiagnosticKind::NotAuditEvent,
            message,
        },
    )
}

/// The actor and, when a service account was acted through, that account as the identity the
/// request acted as.
fn identities<'a>(
    info: Option<&AuthenticationInfo<'a>>,
) -> (Option<WireUser<'a>>, Option<WireUser<'a>>) {
    let Some(info) = info else {
        return (None, None);
    };
    let principal = info
        .principal_email
        .clone()
        .or_else(|| info.principal_subject.clone());
    let user = |name: Cow<'a, str>| WireUser {
        username: Some(name),
        ..WireUser::default()
    };
    let delegator = info
        .service_account_delegation_info
        .as_ref()
        .and_then(|chain| chain.first())
        .and_then(|d| d.first_party_principal.as_ref())
        .and_then(|p| p.principal_email.clone());
    match (delegator, principal) {
        (Some(actor), Some(account)) => (Some(user(actor)), Some(user(account))),
        (None, principal) => (principal.map(user), None),
        (Some(actor), None) => (Some(user(actor)), None),
    }
}

/// `ResponseStarted` for the first entry of a long-running request, else `ResponseComplete`.
fn stage(operation: Option<&Operation<'_>>) -> &'static str {
    let flag = |raw: Option<&RawValue>| raw.is_some_and(|r| matches!(r.get(), "true" | "\"true\""));
    match operation {
        Some(op) if flag(op.first) && !flag(op.last) => "ResponseStarted",
        _ => "ResponseComplete",
    }
}

/// The audit level the bodies present imply.
fn level(payload: &AuditLog<'_>) -> &'static str {
    match (payload.request.is_some(), payload.response.is_some()) {
        (_, true) => "RequestResponse",
        (true, false) => "Request",
        (false, false) => "Metadata",
    }
}

/// The HTTP code: the response `Status` when the body has one, else the gRPC status mapped (an
/// empty `status` is OK); `None` when the entry holds neither, so the outcome is unknown.
fn code(payload: &AuditLog<'_>) -> Option<u16> {
    let read = |raw: Option<&RawValue>| -> Option<i64> {
        serde_json::from_str::<Code>(raw?.get()).ok()?.code
    };
    if let Some(code) = read(payload.response).and_then(|c| u16::try_from(c).ok()) {
        if (100..600).contains(&code) {
            return Some(code);
        }
    }
    let status = payload.status?;
    serde_json::from_str::<Code>(status.get()).ok()?;
    Some(http_from_grpc(read(Some(status)).unwrap_or(0)))
}

/// The entry's labels as annotations; without a decision label, the decision the permission
/// checks record (every one granted: allow; any refused: forbid).
fn annotations<'a>(
    labels: Option<HashMap<Cow<'a, str>, Cow<'a, str>>>,
    checks: Option<&[Authorization]>,
) -> Option<WireAnnotations<'a>> {
    let mut annotations = labels.map(WireAnnotations::from_map);
    if annotations.as_ref().is_some_and(|a| a.decision.is_some()) {
        return annotations;
    }
    let granted: Vec<bool> = checks
        .unwrap_or(&[])
        .iter()
        .filter_map(|c| c.granted)
        .collect();
    if granted.is_empty() {
        return annotations;
    }
    let decision = if granted.iter().all(|&g| g) {
        "allow"
    } else {
        "forbid"
    };
    annotations
        .get_or_insert_with(WireAnnotations::default)
        .decision = Some(Cow::Borrowed(decision));
    annotations
}

/// The HTTP status a gRPC status code stands for (google.rpc.Code).
pub fn http_from_grpc(code: i64) -> u16 {
    match code {
        0 => 200,
        1 => 499,
        3 | 9 | 11 => 400,
        4 => 504,
        5 => 404,
        6 | 10 => 409,
        7 => 403,
        8 => 429,
        12 => 501,
        14 => 503,
        16 => 401,
        _ => 500,
    }
}

/// The object a `resourceName` such as `apps/v1/namespaces/ns/deployments/d` names.
fn object_ref<'n>(resource_name: &'n str) -> Option<WireObjectRef<'n>> {
    let mut parts = resource_name.split('/');
    let group = parts.next().filter(|g| !g.is_empty())?;
    let version = parts.next().filter(|v| !v.is_empty())?;
    let mut rest: Vec<&str> = parts.collect();
    let mut namespace = None;
    if rest.first() == Some(&"namespaces") && rest.len() >= 2 {
        namespace = Some(rest[1]);
        // `namespaces/ns/status` is the namespace's own subresource, not a resource in it.
        if rest.len() > 2 && !matches!(rest[2], "status" | "finalize") {
            rest.drain(..2);
        }
    }
    let resource = *rest.first().filter(|r| !r.is_empty())?;
    let text = |s: Option<&&'n str>| s.filter(|s| !s.is_empty()).map(|s| Cow::Borrowed(*s));
    Some(WireObjectRef {
        resource: Some(Cow::Borrowed(resource)),
        namespace: namespace.map(Cow::Borrowed),
        name: text(rest.get(1)),
        api_group: Some(Cow::Borrowed(if group == "core" { "" } else { group })),
        api_version: Some(Cow::Borrowed(version)),
        subresource: text(rest.get(2)),
    })
}

/// What a Kubernetes API method names, for an entry without a `resourceName`:
/// `io.k8s.apps.v1.deployments.create` is a deployment of group `apps`;
/// `io.k8s.core.v1.pods.exec.create` the `exec` subresource of a pod;
/// `io.k8s.authorization.rbac.v1.clusterroles.create` a ClusterRole of
/// `rbac.authorization.k8s.io` (the group is written backwards). No namespace or name.
fn object_ref_of_method(method: &str) -> Option<WireObjectRef<'static>> {
    let parts: Vec<&str> = method.strip_prefix("io.k8s.")?.split('.').collect();
    let version_at = parts.iter().position(|p| is_api_version(p))?;
    let (group, rest) = (&parts[..version_at], &parts[version_at + 1..]);
    // resource, optional subresource, verb.
    if !(2..=3).contains(&rest.len()) || group.is_empty() {
        return None;
    }
    let group = match group {
        ["core"] => String::new(),
        [one @ ("apps" | "batch" | "autoscaling" | "policy" | "extensions")] => one.to_string(),
        _ => {
            let reversed: Vec<&str> = group.iter().rev().copied().collect();
            format!("{}.k8s.io", reversed.join("."))
        }
    };
    let owned = |s: &str| Some(Cow::Owned(s.to_string()));
    Some(WireObjectRef {
        resource: owned(rest[0]),
        api_group: Some(Cow::Owned(group)),
        api_version: owned(parts[version_at]),
        subresource: (rest.len() == 3).then(|| Cow::Owned(rest[1].to_string())),
        ..WireObjectRef::default()
    })
}

/// `v1`, `v2`, `v1beta1`, `v1alpha3`.
fn is_api_version(part: &str) -> bool {
    let Some(rest) = part.strip_prefix('v') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let tail = &rest[digits..];
    tail.is_empty()
        || ["alpha", "beta"].iter().any(|stage| {
            tail.strip_prefix(stage)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// The request path a `resourceName` stands for (without the query, which GKE does not log).
fn request_uri(resource_name: &str, is_resource: bool) -> String {
    if !is_resource {
        return resource_name.to_string();
    }
    match resource_name.strip_prefix("core/") {
        Some(rest) => format!("/api/{rest}"),
        None => format!("/apis/{resource_name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(name: &str) -> Vec<String> {
        let o = object_ref(name).unwrap();
        [
            o.api_group,
            o.api_version,
            o.namespace,
            o.resource,
            o.name,
            o.subresource,
        ]
        .into_iter()
        .map(|p| p.map(|p| p.to_string()).unwrap_or_else(|| "-".into()))
        .collect()
    }

    #[test]
    fn methods_name_the_object_when_the_resource_name_is_missing() {
        let of = |method: &str| {
            object_ref_of_method(method).map(|o| {
                [o.api_group, o.api_version, o.resource, o.subresource]
                    .map(|p| p.map(|p| p.to_string()).unwrap_or_else(|| "-".into()))
            })
        };
        assert_eq!(
            of("io.k8s.core.v1.pods.create"),
            Some(["", "v1", "pods", "-"].map(String::from))
        );
        assert_eq!(
            of("io.k8s.core.v1.pods.exec.create"),
            Some(["", "v1", "pods", "exec"].map(String::from))
        );
        assert_eq!(
            of("io.k8s.apps.v1.daemonsets.patch"),
            Some(["apps", "v1", "daemonsets", "-"].map(String::from))
        );
        assert_eq!(
            of("io.k8s.authorization.rbac.v1.clusterrolebindings.create"),
            Some(
                [
                    "rbac.authorization.k8s.io",
                    "v1",
                    "clusterrolebindings",
                    "-"
                ]
                .map(String::from)
            )
        );
        assert_eq!(
            of("io.k8s.certificates.v1beta1.certificatesigningrequests.approval.update"),
            Some(
                [
                    "certificates.k8s.io",
                    "v1beta1",
                    "certificatesigningrequests",
                    "approval"
                ]
                .map(String::from)
            )
        );
        for method in [
            "io.k8s.core.v1",
            "io.k8s.v1.pods.create",
            "v2.deploymentmanager.deployments.insert",
            "io.k8s.core.vx.pods.create",
        ] {
            assert_eq!(of(method), None, "{method}");
        }
    }

    #[test]
    fn resource_names_split_into_object_refs() {
        assert_eq!(
            parts("core/v1/namespaces/default/pods/x/exec"),
            ["", "v1", "default", "pods", "x", "exec"]
        );
        assert_eq!(
            parts("apps/v1/namespaces/ns/deployments/d"),
            ["apps", "v1", "ns", "deployments", "d", "-"]
        );
        assert_eq!(
            parts("rbac.authorization.k8s.io/v1/clusterroles/x"),
            [
                "rbac.authorization.k8s.io",
                "v1",
                "-",
                "clusterroles",
                "x",
                "-"
            ]
        );
        assert_eq!(
            parts("core/v1/namespaces/default/pods"),
            ["", "v1", "default", "pods", "-", "-"]
        );
        assert_eq!(
            parts("core/v1/namespaces/team-a"),
            ["", "v1", "team-a", "namespaces", "team-a", "-"]
        );
        assert_eq!(
            parts("core/v1/namespaces/team-a/status"),
            ["", "v1", "team-a", "namespaces", "team-a", "status"]
        );
        assert!(object_ref("core/v1").is_none());
        assert!(object_ref("/healthz").is_none());
        assert_eq!(
            request_uri("core/v1/namespaces/default/pods/x/exec", true),
            "/api/v1/namespaces/default/pods/x/exec"
        );
        assert_eq!(
            request_uri("apps/v1/namespaces/ns/deployments/d", true),
            "/apis/apps/v1/namespaces/ns/deployments/d"
        );
    }

    #[test]
    fn grpc_codes_map_to_http() {
        let pairs = [
            (0, 200),
            (1, 499),
            (2, 500),
            (3, 400),
            (4, 504),
            (5, 404),
            (6, 409),
            (7, 403),
            (8, 429),
            (9, 400),
            (10, 409),
            (11, 400),
            (12, 501),
            (13, 500),
            (14, 503),
            (15, 500),
            (16, 401),
        ];
        for (grpc, http) in pairs {
            assert_eq!(http_from_grpc(grpc), http, "gRPC {grpc}");
        }
    }
}
