//! A policy file as a tree of values, each with the line it is written on.
//!
//! kube-apiserver turns a YAML policy into JSON first (YAML 1.1 scalars: `yes`, `on` and `y`
//! are booleans, `~` is null) and then decodes the JSON into its types; a JSON file is decoded
//! as it is. Reading the file into this neutral tree first, rather than straight into the
//! policy's types, lets the decoding in `decode.rs` do what the server does (refuse a value of
//! the wrong type, ignore an unknown field, keep the last of two equal keys) and still say
//! where each thing is, and which fields it ignored.
//!
//! YAML is read with serde-saphyr (every value comes with its line through `Spanned`); JSON,
//! which YAML also reads, goes the same way, and only where the YAML reader refuses a JSON
//! document is it read by serde_json, without lines.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// One value of the document and the line it starts on (1-based; 0 when unknown).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub line: u32,
    pub value: Value,
}

/// A value as the JSON it becomes on its way into kube-apiserver.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    List(Vec<Node>),
    /// Entries in the order written, repeated keys included.
    Map(Vec<(Key, Node)>),
}

/// A mapping key, as text (a YAML key that is a number or a boolean becomes its text, as it
/// does on the server's way to JSON), with its line.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub text: String,
    pub line: u32,
}

impl Value {
    /// What kind of value this is, in the words of an error message.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Why a file could not be read as a document at all.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxError {
    pub line: u32,
    pub message: String,
}

/// The documents of a file: its first document (the only one kube-apiserver reads), or `None`
/// for a file with none, and how many documents it held.
#[derive(Debug)]
pub struct Parsed {
    pub first: Option<Node>,
    pub documents: usize,
    /// The file is JSON (its first character other than white space is `{`).
    pub json: bool,
}

/// Reads the text of a policy file.
pub fn parse(text: &str) -> Result<Parsed, SyntaxError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let json = text.trim_start().starts_with('{');
    let options = serde_saphyr::options! {
        // Kept, so that the decoding can keep the last one as the server does, and say so.
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        with_snippet: false,
    };
    let yaml: Result<Vec<Spanned<Value>>, _> =
        serde_saphyr::from_str_multiple_with_options(text, options);
    match yaml {
        Ok(documents) => {
            let count = documents.len();
            let first = documents.into_iter().next().map(node);
            Ok(Parsed {
                first,
                documents: count,
                json,
            })
        }
        Err(_) if json => match serde_json::from_str::<Spanned<Value>>(text) {
            Ok(document) => Ok(Parsed {
                first: Some(node(document)),
                documents: 1,
                json,
            }),
            Err(json_error) => Err(SyntaxError {
                line: u32::try_from(json_error.line()).unwrap_or(0),
                message: format!("not valid JSON: {json_error}"),
            }),
        },
        Err(error) => Err(yaml_error(&error)),
    }
}

fn yaml_error(error: &serde_saphyr::Error) -> SyntaxError {
    let line = error
        .location()
        .map_or(0, |l| u32::try_from(l.line()).unwrap_or(u32::MAX));
    // The message without the location the error's own text repeats.
    let message = error.to_string();
    let message = message
        .split_once(" at line ")
        .map_or(message.as_str(), |(before, _)| before)
        .trim()
        .to_string();
    SyntaxError {
        line,
        message: format!("not valid YAML: {message}"),
    }
}

fn node(spanned: Spanned<Value>) -> Node {
    Node {
        line: u32::try_from(spanned.referenced.line()).unwrap_or(u32::MAX),
        value: spanned.value,
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML or JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v as f64))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Number(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Value>>()? {
            items.push(node(item));
        }
        Ok(Value::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
            let value = map.next_value::<Spanned<Value>>()?;
            entries.push((
                Key {
                    text: key.value.0,
                    line: u32::try_from(key.referenced.line()).unwrap_or(u32::MAX),
                },
                node(value),
            ));
        }
        Ok(Value::Map(entries))
    }
}

/// A mapping key of any scalar kind, as text.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeyText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText("null".to_string()))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(text: &str) -> Node {
        parse(text).unwrap().first.unwrap()
    }

    #[test]
    fn values_carry_their_lines() {
        let doc = first("apiVersion: audit.k8s.io/v1\nrules:\n- level: None\n  verbs: [get, on]\n");
        let Value::Map(entries) = &doc.value else {
            panic!("{doc:?}")
        };
        assert_eq!(entries[0].0.text, "apiVersion");
        assert_eq!(entries[1].0.line, 2);
        let Value::List(rules) = &entries[1].1.value else {
            panic!()
        };
        assert_eq!(rules[0].line, 3);
        let Value::Map(rule) = &rules[0].value else {
            panic!()
        };
        assert_eq!(rule[1].0.line, 4);
        // YAML 1.1, as the server reads it: `on` is a boolean.
        let Value::List(verbs) = &rule[1].1.value else {
            panic!()
        };
        assert_eq!(verbs[0].value, Value::String("get".into()));
        assert_eq!(verbs[1].value, Value::Bool(true));
    }

    #[test]
    fn repeated_keys_are_kept_in_order() {
        let doc = first("level: None\nlevel: Metadata\n");
        let Value::Map(entries) = doc.value else {
            panic!()
        };
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].1.value, Value::String("Metadata".into()));
    }

    #[test]
    fn json_reads_with_lines_and_with_tabs() {
        let doc = first("{\n  \"kind\": \"Policy\",\n  \"rules\": [{\"level\": \"None\"}]\n}");
        let Value::Map(entries) = &doc.value else {
            panic!()
        };
        assert_eq!(entries[1].0.line, 3);
        let tabbed = parse("{\n\t\"kind\": \"Policy\",\n\t\"rules\": []\n}").unwrap();
        assert!(tabbed.json);
        assert!(matches!(tabbed.first.unwrap().value, Value::Map(e) if e.len() == 2));
    }

    #[test]
    fn empty_and_broken_files() {
        let empty = parse("").unwrap();
        assert_eq!((empty.first.is_none(), empty.documents), (true, 0));
        let comments = parse("# nothing here\n").unwrap();
        assert!(comments.first.is_none());
        let broken = parse("rules:\n- level: None\n  verbs: [get\n").unwrap_err();
        assert!(broken.message.starts_with("not valid YAML"), "{broken:?}");
        assert!(broken.line >= 3, "{broken:?}");
        let two = parse("kind: Policy\n---\nkind: Other\n").unwrap();
        assert_eq!(two.documents, 2);
    }
}
