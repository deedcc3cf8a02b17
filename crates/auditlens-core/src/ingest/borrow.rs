//! Strings borrowed from the record wherever they hold no escapes.
//!
//! serde borrows a `Cow<str>` field only when the `Cow` is the field's whole type. Inside an
//! `Option`, a `Vec` or a map it always makes a copy, which would cost every event a dozen
//! allocations. These functions, named in `deserialize_with`, borrow there too; a string with
//! an escape (`\u0026`, `\"`) is unescaped into its own copy, as it must be.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, Error, Visitor};

/// One string: borrowed when the parser can lend it, else owned.
#[derive(PartialEq, Eq, Hash)]
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Borrowed(text)))
    }

    fn visit_str<E: Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E: Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(text)))
    }
}

/// A map of strings to strings, as GKE's labels.
type Texts<'a> = HashMap<Cow<'a, str>, Cow<'a, str>>;
/// A map of strings to lists of them, as a user's `extra`.
type TextLists<'a> = HashMap<Cow<'a, str>, Vec<Cow<'a, str>>>;

/// The text of one JSON string value (`"..."`, escapes and all), borrowed from `json` where
/// it holds no escapes; `None` when `json` is not a string.
pub(crate) fn string(json: &str) -> Option<Cow<'_, str>> {
    serde_json::from_str::<Text<'_>>(json).ok().map(|t| t.0)
}

fn texts(list: Vec<Text<'_>>) -> Vec<Cow<'_, str>> {
    list.into_iter().map(|t| t.0).collect()
}

/// `Option<Cow<str>>`.
pub(crate) fn option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'de, str>>, D::Error> {
    Ok(Option::<Text<'de>>::deserialize(deserializer)?.map(|t| t.0))
}

/// A timestamp: a string, or a number (seconds or finer since 1970, as some exports write
/// them) kept as its text.
pub(crate) fn time<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'de, str>>, D::Error> {
    struct TimeVisitor;

    impl<'de> Visitor<'de> for TimeVisitor {
        type Value = Option<Cow<'de, str>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a timestamp")
        }

        fn visit_borrowed_str<E: Error>(self, text: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(text)))
        }

        fn visit_str<E: Error>(self, text: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(text.to_owned())))
        }

        fn visit_string<E: Error>(self, text: String) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(text)))
        }

        fn visit_u64<E: Error>(self, n: u64) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(n.to_string())))
        }

        fn visit_i64<E: Error>(self, n: i64) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(n.to_string())))
        }

        fn visit_f64<E: Error>(self, n: f64) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(format!("{n:.6}"))))
        }

        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(TimeVisitor)
        }
    }

    deserializer.deserialize_option(TimeVisitor)
}

/// `Option<Vec<Cow<str>>>`.
pub(crate) fn list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<Cow<'de, str>>>, D::Error> {
    Ok(Option::<Vec<Text<'de>>>::deserialize(deserializer)?.map(texts))
}

/// `Option<HashMap<Cow<str>, Vec<Cow<str>>>>`.
pub(crate) fn map_of_lists<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<TextLists<'de>>, D::Error> {
    let map = Option::<HashMap<Text<'de>, Vec<Text<'de>>>>::deserialize(deserializer)?;
    Ok(map.map(|m| m.into_iter().map(|(k, v)| (k.0, texts(v))).collect()))
}

/// `Option<HashMap<Cow<str>, Cow<str>>>`.
pub(crate) fn map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Texts<'de>>, D::Error> {
    let map = Option::<HashMap<Text<'de>, Text<'de>>>::deserialize(deserializer)?;
    Ok(map.map(|m| m.into_iter().map(|(k, v)| (k.0, v.0)).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_value_is_borrowed_unless_it_holds_an_escape() {
        assert!(matches!(string(r#""plain""#), Some(Cow::Borrowed("plain"))));
        assert!(matches!(string(r#""a \"b\"""#), Some(Cow::Owned(t)) if t == r#"a "b""#));
        assert_eq!(string("{}"), None);
        assert_eq!(string("12"), None);
    }
}
