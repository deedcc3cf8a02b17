//! JSON output the way the API server writes it.
//!
//! Go's `encoding/json` escapes `&`, `<`, `>`, U+2028 and U+2029 inside strings, so real audit
//! logs carry `\u0026` between query parameters of `requestURI`. [`GoFormatter`] makes
//! serde_json do the same, and [`raw`] pre-renders values that many events share (a user, a pod
//! template) once, so writing an event copies them instead of serialising them again.
//!
//! Kubernetes objects keep Go's struct field order (`kind`, `apiVersion`, `metadata`, `spec`),
//! which a sorted map would lose, so request bodies are built as [`Json`] trees with the
//! [`obj!`](crate::json::obj) and [`arr!`](crate::json::arr) macros: their keys stay in the order
//! written, whatever serde_json features the rest of a build turns on.

use std::borrow::Cow;
use std::io;
use std::sync::Arc;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};
use serde_json::value::RawValue;

/// serde_json's compact output plus Go's HTML-safe string escapes.
#[derive(Clone, Copy, Default)]
pub(crate) struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        let bytes = fragment.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let (escape, width): (&[u8], usize) = match bytes[i] {
                b'&' => (b"\\u0026", 1),
                b'<' => (b"\\u003c", 1),
                b'>' => (b"\\u003e", 1),
                0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA8) => {
                    (b"\\u2028", 3)
                }
                0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA9) => {
                    (b"\\u2029", 3)
                }
                _ => {
                    i += 1;
                    continue;
                }
            };
            writer.write_all(&bytes[start..i])?;
            writer.write_all(escape)?;
            i += width;
            start = i;
        }
        writer.write_all(&bytes[start..])
    }
}

/// Serialises `value` into `out` with [`GoFormatter`]. On failure `out` is left as it was and
/// false is returned; the simulator's own types always serialise.
pub(crate) fn write_go_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> bool {
    let mark = out.len();
    let mut ser = Serializer::with_formatter(&mut *out, GoFormatter);
    if value.serialize(&mut ser).is_ok() {
        true
    } else {
        out.truncate(mark);
        false
    }
}

/// Pre-renders `value` as a shareable raw JSON fragment (`null` if it cannot be serialised).
pub(crate) fn raw<T: Serialize + ?Sized>(value: &T) -> Arc<RawValue> {
    let mut buf = Vec::with_capacity(256);
    let rendered = write_go_json(&mut buf, value)
        .then(|| String::from_utf8(buf).ok())
        .flatten()
        .and_then(|text| RawValue::from_string(text).ok());
    Arc::from(rendered.unwrap_or_else(|| RawValue::NULL.to_owned()))
}

/// A JSON value whose objects keep their keys in insertion order.
#[derive(Clone, Debug)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Str(Cow<'static, str>),
    Arr(Vec<Json>),
    Obj(Vec<(Cow<'static, str>, Json)>),
    Raw(Arc<RawValue>),
}

impl Json {
    /// An object from key/value pairs, in order.
    pub(crate) fn object(pairs: Vec<(Cow<'static, str>, Json)>) -> Self {
        Json::Obj(pairs)
    }

    /// Adds `key` to an object (no effect on other values).
    pub(crate) fn with(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<Json>,
    ) -> Self {
        if let Json::Obj(pairs) = &mut self {
            pairs.push((key.into(), value.into()));
        }
        self
    }
}

impl Serialize for Json {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Int(n) => s.serialize_i64(*n),
            Json::Str(text) => s.serialize_str(text),
            Json::Arr(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Obj(pairs) => {
                let mut map = s.serialize_map(Some(pairs.len()))?;
                for (key, value) in pairs {
                    map.serialize_entry(key.as_ref(), value)?;
                }
                map.end()
            }
            Json::Raw(raw) => raw.serialize(s),
        }
    }
}

impl From<&'static str> for Json {
    fn from(text: &'static str) -> Self {
        Json::Str(Cow::Borrowed(text))
    }
}

impl From<String> for Json {
    fn from(text: String) -> Self {
        Json::Str(Cow::Owned(text))
    }
}

impl From<&Arc<str>> for Json {
    fn from(text: &Arc<str>) -> Self {
        Json::Str(Cow::Owned(text.to_string()))
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Self {
        Json::Bool(b)
    }
}

impl From<i64> for Json {
    fn from(n: i64) -> Self {
        Json::Int(n)
    }
}

impl From<u32> for Json {
    fn from(n: u32) -> Self {
        Json::Int(i64::from(n))
    }
}

impl From<u64> for Json {
    fn from(n: u64) -> Self {
        Json::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<Vec<Json>> for Json {
    fn from(items: Vec<Json>) -> Self {
        Json::Arr(items)
    }
}

impl From<Arc<RawValue>> for Json {
    fn from(raw: Arc<RawValue>) -> Self {
        Json::Raw(raw)
    }
}

impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(value: Option<T>) -> Self {
        value.map_or(Json::Null, Into::into)
    }
}

/// An ordered JSON object: `obj! { "kind": "Pod", "spec": obj! { .. } }`.
macro_rules! obj {
    ($($key:literal : $value:expr),* $(,)?) => {
        $crate::json::Json::object(vec![
            $((::std::borrow::Cow::Borrowed($key), $crate::json::Json::from($value))),*
        ])
    };
}

/// A JSON array: `arr![obj! { .. }, "text"]`.
macro_rules! arr {
    ($($value:expr),* $(,)?) => {
        $crate::json::Json::Arr(vec![$($crate::json::Json::from($value)),*])
    };
}

pub(crate) use {arr, obj};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go() {
        let mut out = Vec::new();
        assert!(write_go_json(
            &mut out,
            "/api/v1/pods?limit=500&watch=true <x>\u{2028}"
        ));
        assert_eq!(
            String::from_utf8(out).unwrap_or_default(),
            r#""/api/v1/pods?limit=500\u0026watch=true \u003cx\u003e\u2028""#
        );
    }

    #[test]
    fn objects_keep_insertion_order() {
        let value = obj! { "kind": "Pod", "apiVersion": "v1", "n": arr![1_i64, true, Json::Null] };
        let rendered = raw(&value);
        assert_eq!(
            rendered.get(),
            r#"{"kind":"Pod","apiVersion":"v1","n":[1,true,null]}"#
        );
        let nested = obj! { "a": "b&c" }.with("raw", rendered);
        assert_eq!(
            raw(&nested).get(),
            r#"{"a":"b\u0026c","raw":{"kind":"Pod","apiVersion":"v1","n":[1,true,null]}}"#
        );
    }
}
