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

/// A message or command line with the credentials it quotes replaced: `Bearer` and `Basic`
/// tokens, the value of a `password=`, `token=`, `secret=` or similar word (`--password=x`,
/// `?token=x`), the value after `-p` or `--password` given as its own word, and the password of
/// a URL (`https://user:pw@host`).
pub fn redact_text(text: String) -> String {
    let mut text = text;
    redact_bearer(&mut text);
    redact_scheme(&mut text, "basic ");
    let mut out = String::with_capacity(text.len());
    let mut hide_next = false;
    for (index, piece) in text.split_inclusive(char::is_whitespace).enumerate() {
        let word = piece.trim_end();
        let blank = &piece[word.len()..];
        let lower = word.to_ascii_lowercase();
        if hide_next && !word.is_empty() && !word.starts_with('-') {
            out.push_str(REDACTED);
            out.push_str(blank);
            hide_next = false;
            continue;
        }
        hide_next = index > 0 && (lower == "--password" || lower == "--token" || lower == "-p");
        out.push_str(&redact_word(word, &lower));
        out.push_str(blank);
    }
    out
}

/// One word with a `key=value` credential or a URL password redacted.
fn redact_word<'w>(word: &'w str, lower: &str) -> Cow<'w, str> {
    const KEYS: &[&str] = &[
        "password=",
        "passwd=",
        "pwd=",
        "token=",
        "secret=",
        "apikey=",
        "api_key=",
        "api-key=",
        "access_key=",
        "secret_key=",
        "client_secret=",
    ];
    if let Some((at, key)) = KEYS.iter().find_map(|k| lower.find(k).map(|at| (at, k))) {
        let start = at + key.len();
        let end = word[start..]
            .find(['&', '"', '\'', ';', ','])
            .map_or(word.len(), |e| start + e);
        if end > start {
            return Cow::Owned(format!("{}{REDACTED}{}", &word[..start], &word[end..]));
        }
    }
    if let Some(scheme) = lower.find("://") {
        let rest = &word[scheme + 3..];
        let host_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..host_end].rfind('@') {
            if let Some(colon) = rest[..at].find(':') {
                let start = scheme + 3 + colon + 1;
                let end = scheme + 3 + at;
                return Cow::Owned(format!("{}{REDACTED}{}", &word[..start], &word[end..]));
            }
        }
    }
    Cow::Borrowed(word)
}

/// `<scheme> <token>` (case-blind) anywhere in a string: each token replaced.
fn redact_scheme(text: &mut String, scheme: &str) -> bool {
    let mut changed = false;
    let mut from = 0;
    while let Some(at) = text[from..].to_ascii_lowercase().find(scheme) {
        let start = from + at + scheme.len();
        let rest = &text[start..];
        let end = start
            + rest
                .find(|c: char| c.is_whitespace() || c == '"' || c == ',' || c == '\'')
                .unwrap_or(rest.len());
        if end > start && &text[start..end] != REDACTED {
            text.replace_range(start..end, REDACTED);
            changed = true;
        }
        from = start;
    }
    changed
}

/// `Bearer <token>` anywhere in a string (an annotation, a header copied into one): each
/// token replaced.
fn redact_bearer(text: &mut String) -> bool {
    redact_scheme(text, "bearer ")
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

#[cfg(test)]
mod text_tests {
    use super::redact_text;

    fn shown(text: &str) -> String {
        redact_text(text.to_string())
    }

    #[test]
    fn credentials_quoted_in_a_message_are_redacted_and_the_rest_kept() {
        assert_eq!(
            shown(r#"curl -H "Authorization: Bearer eyJhbGc.x-y" http://10.0.0.9/k | sh"#),
            r#"curl -H "Authorization: Bearer [redacted]" http://10.0.0.9/k | sh"#
        );
        assert_eq!(
            shown("curl -H 'Authorization: Basic dXNlcjpwdw==' https://x"),
            "curl -H 'Authorization: Basic [redacted]' https://x"
        );
        assert_eq!(
            shown("mysql --password=hunter2 -u root; psql postgres://app:s3cr3t@db:5432/x"),
            "mysql --password=[redacted] -u root; psql postgres://app:[redacted]@db:5432/x"
        );
        assert_eq!(
            shown("wget https://h/x?token=abc&user=u"),
            "wget https://h/x?token=[redacted]&user=u"
        );
        assert_eq!(
            shown("vault login --token s.abc123 -method=token"),
            "vault login --token [redacted] -method=token"
        );
        assert_eq!(
            shown("mysql -u root -p pw1 db"),
            "mysql -u root -p [redacted] db"
        );
        // Nothing to hide: the text as it was, blanks included.
        for plain in [
            "bash -c id",
            "cat /var/run/secrets/kubernetes.io/serviceaccount/token",
            "curl  https://user@host/x\tdone",
            "ls -p",
        ] {
            assert_eq!(shown(plain), plain);
        }
    }
}
