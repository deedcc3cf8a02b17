//! Secret values taken out of a raw audit event before it is shown or exported.
//!
//! An event logged at Request or RequestResponse level carries bodies, and bodies carry
//! credentials: a Secret's `data` and `stringData`, the token a TokenReview checks and the one
//! a TokenRequest returns, bearer tokens in annotations, passwords and keys in ConfigMaps. The
//! analysis reads them (rules look at what a Secret is, never at its values); a person looking
//! at the event does not need them, and a copy of the screen or of an export must not leak
//! them. [`redact_event`] replaces each value with [`REDACTED`], keeping the keys, so the
//! event still says which secret held what.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::rules::credential_word;

/// What stands in for a secret value.
pub const REDACTED: &str = "[redacted]";

/// The raw event (or any JSON text holding events) with secret values replaced, or the text
/// as it was when it is not JSON or holds none.
pub fn redact_event(text: &str) -> Cow<'_, str> {
    let Ok(mut value) = serde_json::from_str::<Value>(text) else {
        return Cow::Borrowed(text);
    };
    if !redact_value(&mut value) {
        return Cow::Borrowed(text);
    }
    serde_json::to_string(&value).map_or(Cow::Borrowed(text), Cow::Owned)
}

/// Redacts in place, through every nested object and array; true when anything was replaced.
pub fn redact_value(value: &mut Value) -> bool {
    match value {
        Value::Object(map) => {
            let mut changed = redact_object(map);
            for (_, child) in map.iter_mut() {
                changed |= redact_value(child);
            }
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |c, v| redact_value(v) | c),
        Value::String(text) => redact_bearer(text),
        _ => false,
    }
}

/// The secret fields of one object, by its kind.
fn redact_object(map: &mut Map<String, Value>) -> bool {
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
    match kind {
        "Secret" => {
            let data = redact_all(map.get_mut("data"));
            redact_all(map.get_mut("stringData")) | data
        }
        // The items of a list the API server returns carry no kind of their own.
        "SecretList" => match map.get_mut("items") {
            Some(Value::Array(items)) => items.iter_mut().fold(false, |c, item| {
                let data = redact_all(item.get_mut("data"));
                redact_all(item.get_mut("stringData")) | data | c
            }),
            _ => false,
        },
        "TokenReview" => redact_field(map.get_mut("spec"), "token"),
        "TokenRequest" => redact_field(map.get_mut("status"), "token"),
        "ConfigMap" => {
            let mut changed = false;
            if let Some(Value::Object(data)) = map.get_mut("data") {
                for (key, value) in data.iter_mut() {
                    let credential = credential_word(key).is_some()
                        || value.as_str().is_some_and(|v| credential_word(v).is_some());
                    if credential {
                        changed |= replace(value);
                    }
                }
            }
            changed
        }
        _ => false,
    }
}

/// Replaces every value of an object (keys kept).
fn redact_all(field: Option<&mut Value>) -> bool {
    match field {
        Some(Value::Object(map)) => map.values_mut().fold(false, |c, v| replace(v) | c),
        _ => false,
    }
}

fn redact_field(parent: Option<&mut Value>, key: &str) -> bool {
    match parent.and_then(|p| p.get_mut(key)) {
        Some(value) => replace(value),
        None => false,
    }
}

fn replace(value: &mut Value) -> bool {
    if value.is_null() || value.as_str() == Some(REDACTED) {
        return false;
    }
    *value = Value::String(REDACTED.to_string());
    true
}

/// `Bearer <token>` anywhere in a string (an annotation, a header copied into one): each
/// token replaced.
fn redact_bearer(text: &mut String) -> bool {
    const BEARER: &str = "bearer ";
    let mut changed = false;
    let mut from = 0;
    while let Some(at) = text[from..].to_ascii_lowercase().find(BEARER) {
        let start = from + at + BEARER.len();
        let rest = &text[start..];
        let end = start
            + rest
                .find(|c: char| c.is_whitespace() || c == '"' || c == ',')
                .unwrap_or(rest.len());
        if end > start && &text[start..end] != REDACTED {
            text.replace_range(start..end, REDACTED);
            changed = true;
        }
        from = start;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted(event: Value) -> Value {
        serde_json::from_str(&redact_event(&event.to_string())).unwrap()
    }

    #[test]
    fn secret_values_are_replaced_and_their_keys_kept() {
        let event = serde_json::json!({
            "kind": "Event", "auditID": "a", "verb": "create",
            "requestObject": {"kind": "Secret", "metadata": {"name": "db"},
                "data": {"password": "aHVudGVyMg=="}, "stringData": {"token": "plain"}},
            "responseObject": {"kind": "Secret", "metadata": {"name": "db"},
                "data": {"password": "aHVudGVyMg=="}}
        });
        let out = redacted(event);
        assert_eq!(out["requestObject"]["data"]["password"], REDACTED);
        assert_eq!(out["requestObject"]["stringData"]["token"], REDACTED);
        assert_eq!(out["responseObject"]["data"]["password"], REDACTED);
        assert_eq!(out["requestObject"]["metadata"]["name"], "db");
        assert!(!out.to_string().contains("aHVudGVyMg"));
    }

    #[test]
    fn secrets_in_a_list_are_replaced() {
        let event = serde_json::json!({
            "kind": "Event", "verb": "list",
            "responseObject": {"kind": "SecretList", "items": [
                {"metadata": {"name": "a"}, "data": {"k": "djE="}},
                {"kind": "Secret", "metadata": {"name": "b"}, "data": {"k": "djI="}}
            ]}
        });
        let out = redacted(event);
        // Items of a list from the API server carry no kind of their own: the list's says.
        assert_eq!(out["responseObject"]["items"][0]["data"]["k"], REDACTED);
        assert_eq!(out["responseObject"]["items"][0]["metadata"]["name"], "a");
        assert_eq!(out["responseObject"]["items"][1]["data"]["k"], REDACTED);
        assert!(!out.to_string().contains("djE=") && !out.to_string().contains("djI="));
    }

    #[test]
    fn tokens_are_replaced() {
        let review = serde_json::json!({
            "kind": "Event",
            "requestObject": {"kind": "TokenReview", "spec": {"token": "eyJhbGciOi.abc.def"}},
            "responseObject": {"kind": "TokenReview", "spec": {"token": "eyJhbGciOi.abc.def"},
                "status": {"authenticated": true}}
        });
        let out = redacted(review);
        assert_eq!(out["requestObject"]["spec"]["token"], REDACTED);
        assert_eq!(out["responseObject"]["status"]["authenticated"], true);
        let request = serde_json::json!({
            "kind": "Event",
            "responseObject": {"kind": "TokenRequest", "status": {"token": "eyJ.x.y",
                "expirationTimestamp": "2026-03-02T11:00:00Z"}}
        });
        let out = redacted(request);
        assert_eq!(out["responseObject"]["status"]["token"], REDACTED);
        assert_eq!(
            out["responseObject"]["status"]["expirationTimestamp"],
            "2026-03-02T11:00:00Z"
        );
    }

    #[test]
    fn bearer_tokens_in_annotations_are_replaced() {
        let event = serde_json::json!({
            "kind": "Event",
            "annotations": {"example.com/forwarded": "Authorization: Bearer abc.def.ghi, x=1",
                "two": "bearer t1 and Bearer t2"}
        });
        let out = redacted(event);
        assert_eq!(
            out["annotations"]["example.com/forwarded"],
            format!("Authorization: Bearer {REDACTED}, x=1")
        );
        assert_eq!(
            out["annotations"]["two"],
            format!("bearer {REDACTED} and Bearer {REDACTED}")
        );
    }

    #[test]
    fn credentials_in_configmaps_are_replaced_and_the_rest_kept() {
        let event = serde_json::json!({
            "kind": "Event",
            "requestObject": {"kind": "ConfigMap", "data": {
                "access.properties": "aws_access_key_id=AKIA...\naws_secret_access_key=abc",
                "db-password": "hunter2",
                "log-level": "debug"
            }}
        });
        let out = redacted(event);
        assert_eq!(out["requestObject"]["data"]["access.properties"], REDACTED);
        assert_eq!(out["requestObject"]["data"]["db-password"], REDACTED);
        assert_eq!(out["requestObject"]["data"]["log-level"], "debug");
    }

    #[test]
    fn text_without_secrets_or_not_json_is_unchanged() {
        let plain = r#"{"kind":"Event","verb":"get","user":{"username":"alice"}}"#;
        assert!(matches!(redact_event(plain), Cow::Borrowed(_)));
        assert!(matches!(redact_event("not json"), Cow::Borrowed(_)));
        let already =
            serde_json::json!({"requestObject": {"kind": "Secret", "data": {"k": REDACTED}}});
        assert!(matches!(
            redact_event(&already.to_string()),
            Cow::Borrowed(_)
        ));
    }
}
