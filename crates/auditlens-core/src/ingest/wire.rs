//! The wire form of an audit event: what `audit.k8s.io/v1` and `v1beta1` events look like in
//! JSON, deserialized without copying (strings borrow from the record where they hold no
//! escapes; request and response bodies stay raw JSON).
//!
//! [`parse_record`] turns one framed record into events (an `EventList` yields many) or says
//! precisely why it could not.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::borrow;
use crate::diagnostics::DiagnosticKind;
use crate::time::{parse_event_time, Micros};

/// The marker EKS appends to an event it cut to fit CloudWatch's size limit.
pub const TRUNCATION_MARKER: &[u8] = b"[Truncated...]";

/// An audit event as written by the API server. Unknown fields are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireEvent<'a> {
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    pub api_version: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    pub level: Option<Cow<'a, str>>,
    #[serde(
        rename = "auditID",
        default,
        borrow,
        deserialize_with = "borrow::option"
    )]
    pub audit_id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    pub stage: Option<Cow<'a, str>>,
    #[serde(
        rename = "requestURI",
        default,
        borrow,
        deserialize_with = "borrow::option"
    )]
    pub request_uri: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    pub verb: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub user: Option<WireUser<'a>>,
    #[serde(borrow)]
    pub impersonated_user: Option<WireUser<'a>>,
    #[serde(
        rename = "sourceIPs",
        default,
        borrow,
        deserialize_with = "borrow::list"
    )]
    pub source_ips: Option<Vec<Cow<'a, str>>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    pub user_agent: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub object_ref: Option<WireObjectRef<'a>>,
    #[serde(borrow)]
    pub response_status: Option<WireStatus<'a>>,
    #[serde(borrow)]
    pub request_object: Option<&'a RawValue>,
    #[serde(borrow)]
    pub response_object: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "borrow::time")]
    pub request_received_timestamp: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::time")]
    pub stage_timestamp: Option<Cow<'a, str>>,
    /// `v1beta1` events carry this instead of `requestReceivedTimestamp`.
    #[serde(default, borrow, deserialize_with = "borrow::time")]
    pub timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub annotations: Option<WireAnnotations<'a>>,
    /// Present on an `EventList`.
    #[serde(borrow)]
    pub items: Option<Vec<&'a RawValue>>,
    /// The event's time, once read ([`WireEvent::time`]).
    #[serde(skip)]
    pub(crate) time: std::cell::OnceCell<Option<Micros>>,
}

/// `user` and `impersonatedUser`.
#[derive(Debug, Default, Deserialize)]
pub struct WireUser<'a> {
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    pub username: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    pub uid: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::list")]
    pub groups: Option<Vec<Cow<'a, str>>>,
    #[serde(default, borrow, deserialize_with = "borrow::map_of_lists")]
    pub extra: Option<HashMap<Cow<'a, str>, Vec<Cow<'a, str>>>>,
}

/// The annotations analysis reads; the others are skipped while parsing, not collected.
#[derive(Debug, Default, Deserialize)]
pub struct WireAnnotations<'a> {
    #[serde(
        rename = "authorization.k8s.io/decision",
        default,
        borrow,
        deserialize_with = "borrow::option"
    )]
    pub decision: Option<Cow<'a, str>>,
    #[serde(
        rename = "authorization.k8s.io/reason",
        default,
        borrow,
        deserialize_with = "borrow::option"
    )]
    pub reason: Option<Cow<'a, str>>,
}

impl<'a> WireAnnotations<'a> {
    /// Picks the annotations analysis reads out of a map of them (GKE's labels, say).
    pub fn from_map(mut map: HashMap<Cow<'a, str>, Cow<'a, str>>) -> Self {
        WireAnnotations {
            decision: map.remove("authorization.k8s.io/decision"),
            reason: map.remove("authorization.k8s.io/reason"),
        }
    }
}

/// `objectRef`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireObjectRef<'a> {
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    pub resource: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    pub namespace: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    pub name: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    pub api_group: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    pub api_version: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    pub subresource: Option<Cow<'a, str>>,
}

/// `responseStatus`.
#[derive(Debug, Default, Deserialize)]
pub struct WireStatus<'a> {
    #[serde(default)]
    pub code: Option<WireCode>,
    #[serde(default, borrow, deserialize_with = "borrow::option")]
    pub reason: Option<Cow<'a, str>>,
}

/// A response code as written. Exports and hand-made files write codes as strings, or write
/// numbers no HTTP status can be; such an event is kept, its outcome unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireCode {
    Status(u16),
    /// Not a number from 0 to 65535.
    Invalid,
}

impl<'de> Deserialize<'de> for WireCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CodeVisitor)
    }
}

struct CodeVisitor;

impl<'de> serde::de::Visitor<'de> for CodeVisitor {
    type Value = WireCode;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a response code")
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<WireCode, E> {
        Ok(u16::try_from(n).map_or(WireCode::Invalid, WireCode::Status))
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<WireCode, E> {
        Ok(u16::try_from(n).map_or(WireCode::Invalid, WireCode::Status))
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<WireCode, E> {
        let whole = n.fract() == 0.0 && (0.0..=65535.0).contains(&n);
        Ok(if whole {
            WireCode::Status(n as u16)
        } else {
            WireCode::Invalid
        })
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<WireCode, E> {
        Ok(text
            .trim()
            .parse::<u16>()
            .map_or(WireCode::Invalid, WireCode::Status))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<WireCode, E> {
        Ok(WireCode::Invalid)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<WireCode, E> {
        Ok(WireCode::Invalid)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<WireCode, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(WireCode::Invalid)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<WireCode, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(WireCode::Invalid)
    }
}

impl WireStatus<'_> {
    /// The response code, when it is one.
    pub fn code(&self) -> Option<u16> {
        match self.code {
            Some(WireCode::Status(code)) => Some(code),
            _ => None,
        }
    }
}

impl WireEvent<'_> {
    /// When the request was received: the first of `requestReceivedTimestamp`, `timestamp`
    /// and `stageTimestamp` that is a plausible time ([`parse_event_time`]), read once.
    pub fn time(&self) -> Option<Micros> {
        *self.time.get_or_init(|| {
            [
                &self.request_received_timestamp,
                &self.timestamp,
                &self.stage_timestamp,
            ]
            .into_iter()
            .find_map(|t| t.as_deref().and_then(parse_event_time))
        })
    }

    /// An annotation's value.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        let annotations = self.annotations.as_ref()?;
        match key {
            "authorization.k8s.io/decision" => annotations.decision.as_deref(),
            "authorization.k8s.io/reason" => annotations.reason.as_deref(),
            _ => None,
        }
    }

    /// Why this object is not an audit event, if it is not.
    pub fn not_an_event(&self) -> Option<String> {
        if let Some(kind) = self.kind.as_deref() {
            if kind != "Event" {
                return Some(format!("an object of kind {kind:?}, not an audit Event"));
            }
        }
        if let Some(version) = self.api_version.as_deref() {
            if !version.starts_with("audit.k8s.io/") {
                return Some(format!(
                    "apiVersion {version:?} is not audit.k8s.io/v1 or v1beta1"
                ));
            }
        }
        if self.audit_id.as_deref().unwrap_or("").is_empty() {
            // Exports and people trim events; one that says who did what to which object or
            // path is still plainly an audit event.
            let user = self.user.as_ref().is_some_and(|u| {
                u.username.as_deref().is_some_and(|n| !n.is_empty())
                    || u.groups.as_ref().is_some_and(|g| !g.is_empty())
            });
            let target = self.object_ref.is_some() || self.request_uri.is_some();
            if self.verb.is_some() && user && target {
                return None;
            }
            return Some("a JSON object without an auditID, not an audit Event".to_string());
        }
        if self.verb.is_none() && self.request_uri.is_none() {
            return Some("an object with no verb and no requestURI, not an audit Event".into());
        }
        None
    }

    /// The fields a producer left out that the analysis has a default for, as [`Gap`] bits:
    /// those that every native event carries, and those a complete stage carries.
    pub fn gaps(&self, native: bool) -> u16 {
        let mut gaps = 0;
        let mut gap = |missing: bool, which: Gap| {
            if missing {
                gaps |= which.bit();
            }
        };
        gap(
            self.audit_id.as_deref().unwrap_or("").is_empty(),
            Gap::AuditId,
        );
        gap(self.stage.is_none(), Gap::Stage);
        let times = [
            &self.request_received_timestamp,
            &self.timestamp,
            &self.stage_timestamp,
        ];
        let no_time = times.iter().all(|t| t.is_none());
        gap(no_time, Gap::Timestamp);
        gap(!no_time && self.time().is_none(), Gap::InvalidTimestamp);
        let complete = !matches!(
            self.stage.as_deref(),
            Some("RequestReceived" | "ResponseStarted")
        );
        let code = self.response_status.as_ref().and_then(|s| s.code);
        gap(complete && code.is_none(), Gap::ResponseStatus);
        gap(code == Some(WireCode::Invalid), Gap::InvalidCode);
        gap(
            self.source_ips.as_ref().is_none_or(Vec::is_empty),
            Gap::SourceIps,
        );
        gap(self.user_agent.is_none(), Gap::UserAgent);
        if native {
            gap(self.api_version.is_none(), Gap::ApiVersion);
            gap(self.kind.is_none(), Gap::Kind);
        }
        gaps
    }
}

/// A field an event was written without, which the analysis fills in with a default. Counted
/// per file and reported once per file and kind ([`crate::ingest::Gaps`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Gap {
    /// Kept as a request of its own, never merged with another.
    AuditId,
    /// Taken as the complete request.
    Stage,
    /// Given the time of the event before it in the file.
    Timestamp,
    /// The outcome is unknown: never taken as allowed.
    ResponseStatus,
    SourceIps,
    UserAgent,
    ApiVersion,
    Kind,
    /// A timestamp that is not a time, or lies outside 2000..2099: as no timestamp.
    InvalidTimestamp,
    /// A response code that is not one: the outcome is unknown.
    InvalidCode,
}

impl Gap {
    pub const ALL: [Gap; 10] = [
        Gap::AuditId,
        Gap::Stage,
        Gap::Timestamp,
        Gap::ResponseStatus,
        Gap::SourceIps,
        Gap::UserAgent,
        Gap::ApiVersion,
        Gap::Kind,
        Gap::InvalidTimestamp,
        Gap::InvalidCode,
    ];

    pub fn bit(self) -> u16 {
        1 << (self as u16)
    }

    /// The field, as the event would name it.
    pub fn field(self) -> &'static str {
        match self {
            Gap::AuditId => "auditID",
            Gap::Stage => "stage",
            Gap::Timestamp => "timestamp",
            Gap::ResponseStatus => "responseStatus",
            Gap::SourceIps => "sourceIPs",
            Gap::UserAgent => "userAgent",
            Gap::ApiVersion => "apiVersion",
            Gap::Kind => "kind",
            Gap::InvalidTimestamp => "timestamp",
            Gap::InvalidCode => "responseStatus.code",
        }
    }

    /// What the analysis does about it.
    pub fn default_taken(self) -> &'static str {
        match self {
            Gap::AuditId => "each is a request of its own, never merged with another",
            Gap::Stage => "each is taken as the complete request",
            Gap::Timestamp => "each takes the time of the event before it in the file",
            Gap::ResponseStatus => "their outcome is unknown and never taken as allowed",
            Gap::SourceIps => "their source address is unknown",
            Gap::UserAgent => "their client is unknown",
            Gap::ApiVersion => "they are read as audit.k8s.io/v1",
            Gap::Kind => "they are read as audit Events",
            Gap::InvalidTimestamp => "each takes the time of the event before it in the file",
            Gap::InvalidCode => "their outcome is unknown and never taken as allowed",
        }
    }

    /// What the events lacked, for the warning: `no stage`, `a timestamp that is not a time`.
    pub fn lacked(self) -> String {
        match self {
            Gap::InvalidTimestamp => "a timestamp that is not a time from 2000 to 2099 (RFC \
                                      3339, or seconds to nanoseconds since 1970)"
                .to_string(),
            Gap::InvalidCode => {
                "a responseStatus.code that is not a number from 0 to 65535".to_string()
            }
            gap => format!("no {}", gap.field()),
        }
    }
}

/// How one record parsed.
#[derive(Debug)]
pub enum Parsed<'a> {
    /// One event, or the items of an `EventList` (each parsed on its own).
    Event(Box<WireEvent<'a>>),
    List(Vec<&'a RawValue>),
}

/// Why a record gave no event.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    pub kind: DiagnosticKind,
    pub message: String,
}

/// Parses one record: an event, or an `EventList`.
pub fn parse_record(bytes: &[u8]) -> Result<Parsed<'_>, Rejection> {
    // Checking UTF-8 once for the whole record (SIMD) lets serde skip it string by string.
    let parsed = match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => serde_json::from_str::<WireEvent<'_>>(text),
        Err(_) => serde_json::from_slice::<WireEvent<'_>>(bytes),
    };
    match parsed {
        Ok(event) => {
            if let Some(items) = event.items {
                if event.kind.as_deref().is_none_or(|k| k == "EventList") {
                    return Ok(Parsed::List(items));
                }
                return Err(not_an_event(format!(
                    "an object of kind {:?} with items, not an audit EventList",
                    event.kind.as_deref().unwrap_or_default()
                )));
            }
            match event.not_an_event() {
                Some(why) => Err(not_an_event(why)),
                None => Ok(Parsed::Event(Box::new(event))),
            }
        }
        Err(e) => Err(classify_error(bytes, &e)),
    }
}

fn not_an_event(message: String) -> Rejection {
    Rejection {
        kind: DiagnosticKind::NotAuditEvent,
        message,
    }
}

fn classify_error(bytes: &[u8], error: &serde_json::Error) -> Rejection {
    use serde_json::error::Category;
    match error.classify() {
        Category::Data => not_an_event(format!("not an audit event: {error}")),
        Category::Eof => Rejection {
            kind: DiagnosticKind::MalformedJson,
            message: format!(
                "the JSON ends early (cut off after {} bytes?): {error}",
                bytes.len()
            ),
        },
        Category::Syntax | Category::Io => {
            let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
            let message = if first.is_some_and(|&b| b != b'{' && b != b'[') {
                format!("not JSON: expected an audit event object ({error})")
            } else {
                format!("malformed JSON: {error}")
            };
            Rejection {
                kind: DiagnosticKind::MalformedJson,
                message,
            }
        }
    }
}

/// The bytes of `bytes` outside JSON strings, with their positions (the quotes left out).
pub(crate) fn outside_strings(bytes: &[u8]) -> impl Iterator<Item = (usize, u8)> + '_ {
    let (mut in_string, mut escaped) = (false, false);
    bytes.iter().enumerate().filter_map(move |(i, &b)| {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            return None;
        }
        if b == b'"' {
            in_string = true;
            return None;
        }
        Some((i, b))
    })
}

/// True when the record ends with the producer's truncation marker.
pub fn is_truncated(bytes: &[u8]) -> bool {
    bytes.trim_ascii_end().ends_with(TRUNCATION_MARKER)
}

/// Recovers the leading fields of an event that was cut short: the object up to the last
/// complete top-level field, closed. Returns `None` when nothing usable is left.
pub fn salvage_truncated(bytes: &[u8]) -> Option<Vec<u8>> {
    let body = bytes.trim_ascii_end();
    let body = body.strip_suffix(TRUNCATION_MARKER).unwrap_or(body);
    let mut depth = 0u32;
    let mut last_cut = None;
    for (i, b) in outside_strings(body) {
        match b {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => last_cut = Some(i),
            _ => {}
        }
    }
    let cut = last_cut?;
    let mut fixed = body[..cut].to_vec();
    fixed.push(b'}');
    Some(fixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_list_yields_its_items() {
        let list = br#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"auditID":"a","verb":"get"},{"auditID":"b","verb":"list"}]}"#;
        match parse_record(list) {
            Ok(Parsed::List(items)) => assert_eq!(items.len(), 2),
            other => panic!("expected a list, got {other:?}"),
        }
    }

    #[test]
    fn strings_without_escapes_are_borrowed_from_the_record() {
        let record = r#"{"auditID":"a","verb":"get","sourceIPs":["10.0.0.1"],"user":{"username":"alice","groups":["dev"],"extra":{"k":["v"]}},"objectRef":{"resource":"pods"},"annotations":{"authorization.k8s.io/reason":"say \"hi\""}}"#;
        let Ok(Parsed::Event(event)) = parse_record(record.as_bytes()) else {
            panic!("the record does not parse");
        };
        let borrowed = |text: &Option<Cow<'_, str>>| matches!(text, Some(Cow::Borrowed(_)));
        assert!(borrowed(&event.verb));
        assert!(borrowed(&event.audit_id));
        let user = event.user.as_ref().expect("a user");
        assert!(borrowed(&user.username));
        assert!(matches!(
            user.groups.as_deref(),
            Some([Cow::Borrowed("dev")])
        ));
        let extra = user.extra.as_ref().expect("extra");
        assert!(extra
            .iter()
            .all(|(k, v)| matches!(k, Cow::Borrowed(_)) && matches!(v[..], [Cow::Borrowed(_)])));
        assert!(matches!(
            event.source_ips.as_deref(),
            Some([Cow::Borrowed(_)])
        ));
        assert!(borrowed(
            &event.object_ref.as_ref().expect("objectRef").resource
        ));
        // A string with an escape cannot be borrowed; it is unescaped into its own copy.
        let reason = &event.annotations.as_ref().expect("annotations").reason;
        assert!(matches!(reason, Some(Cow::Owned(text)) if text == "say \"hi\""));
    }

    #[test]
    fn other_objects_are_named() {
        let pod = br#"{"kind":"Pod","apiVersion":"v1","metadata":{}}"#;
        let err = parse_record(pod).unwrap_err();
        assert_eq!(err.kind, DiagnosticKind::NotAuditEvent);
        assert!(err.message.contains("\"Pod\""), "{}", err.message);
        let no_id = br#"{"verb":"get"}"#;
        assert!(parse_record(no_id).unwrap_err().message.contains("auditID"));
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        let err = parse_record(b"{\"auditID\": }").unwrap_err();
        assert_eq!(err.kind, DiagnosticKind::MalformedJson);
        let err = parse_record(b"hello world").unwrap_err();
        assert!(err.message.starts_with("not JSON"), "{}", err.message);
    }

    #[test]
    fn truncated_events_keep_their_leading_fields() {
        let cut = br#"{"kind":"Event","auditID":"x","verb":"create","user":{"username":"eve"},"requestObject":{"spec":{"containers":[{"name":"a"[Truncated...]"#;
        assert!(is_truncated(cut));
        let fixed = salvage_truncated(cut).unwrap();
        let Ok(Parsed::Event(event)) = parse_record(&fixed) else {
            panic!(
                "salvaged record does not parse: {}",
                String::from_utf8_lossy(&fixed)
            );
        };
        assert_eq!(event.verb.as_deref(), Some("create"));
        assert_eq!(event.user.unwrap().username.as_deref(), Some("eve"));
        assert!(salvage_truncated(b"{\"kind\":\"Ev[Truncated...]").is_none());
    }
}
