//! JSON objects with duplicate members rejected, at every nesting level.
//!
//! serde_json keeps the last of two equal member names silently, and derived structs only notice duplicates of
//! the fields they declare. For a signed JWT that ambiguity is an attack surface (two parsers may disagree on
//! which `aud` counts), so header and claims are parsed in one pass through this type, which fails on the first
//! repeated name anywhere in the document.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Deepest nesting accepted; real JWT claim sets nest two or three levels.
const MAX_DEPTH: usize = 32;

/// Parses a JSON object, rejecting duplicate member names anywhere inside it, and returns the top-level members
/// named in `keep`. The others are still checked for duplicates at every depth but never materialised, which
/// keeps the hot path nearly allocation-free.
pub fn parse_object_keeping(bytes: &[u8], keep: &[&str]) -> Result<Map<String, Value>, String> {
    let mut slots = vec![None; keep.len()];
    parse_into(bytes, keep, &mut slots)?;
    Ok(keep
        .iter()
        .zip(slots)
        .filter_map(|(name, value)| value.map(|value| ((*name).to_owned(), value)))
        .collect())
}

/// [`parse_object_keeping`] without the map: the members named in `keep`, by position (`None` when absent). No
/// member name is allocated, and the values can be moved out (the client-assertion hot path).
pub fn parse_members<const N: usize>(bytes: &[u8], keep: &[&str; N]) -> Result<[Option<Value>; N], String> {
    let mut slots = std::array::from_fn(|_| None);
    parse_into(bytes, keep, &mut slots)?;
    Ok(slots)
}

fn parse_into(bytes: &[u8], keep: &[&str], slots: &mut [Option<Value>]) -> Result<(), String> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    de::Deserializer::deserialize_any(&mut deserializer, KeepingVisitor { keep, slots })
        .map_err(|err| err.to_string())?;
    deserializer.end().map_err(|err| err.to_string())
}

/// Member names seen in one object before a typical JWT's allocation would have to grow.
const TYPICAL_MEMBERS: usize = 24;

struct KeepingVisitor<'k, 's> {
    keep: &'k [&'k str],
    slots: &'s mut [Option<Value>],
}

impl<'de> Visitor<'de> for KeepingVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let mut seen: Vec<Cow<'de, str>> = Vec::with_capacity(TYPICAL_MEMBERS);
        while let Some(key) = access.next_key_seed(KeySeed)? {
            if seen.contains(&key) {
                return Err(de::Error::custom(format!("duplicate member {key:?}")));
            }
            match self.keep.iter().position(|name| *name == key.as_ref()) {
                Some(index) => self.slots[index] = Some(access.next_value_seed(Nested { depth: 1 })?),
                None => access.next_value_seed(Skip { depth: 1 })?,
            }
            seen.push(key);
        }
        Ok(())
    }
}

/// A member name, borrowed from the input when it has no escapes.
struct KeySeed;

impl<'de> de::DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value))
    }
}

/// Walks a value without keeping it, rejecting duplicate members in any object inside.
struct Skip {
    depth: usize,
}

impl<'de> de::DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if self.depth > MAX_DEPTH {
            return Err(de::Error::custom("JSON nested too deeply"));
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip { depth: self.depth + 1 })?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let mut seen: Vec<Cow<'de, str>> = Vec::new();
        while let Some(key) = access.next_key_seed(KeySeed)? {
            if seen.contains(&key) {
                return Err(de::Error::custom(format!("duplicate member {key:?}")));
            }
            access.next_value_seed(Skip { depth: self.depth + 1 })?;
            seen.push(key);
        }
        Ok(())
    }
}

struct StrictValue;

impl StrictValue {
    fn deserialize_at<'de, D: de::Deserializer<'de>>(deserializer: D, depth: usize) -> Result<Value, D::Error> {
        if depth > MAX_DEPTH {
            return Err(de::Error::custom("JSON nested too deeply"));
        }
        deserializer.deserialize_any(StrictVisitor { depth })
    }
}

struct StrictVisitor {
    depth: usize,
}

/// Deserializes one nested value with the depth carried along.
struct Nested {
    depth: usize,
}

impl<'de> de::DeserializeSeed<'de> for Nested {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        StrictValue::deserialize_at(deserializer, self.depth)
    }
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Nested { depth: self.depth + 1 })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let value = access.next_value_seed(Nested { depth: self.depth + 1 })?;
            if map.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate member {key:?}")));
            }
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[&str] = &["a", "b", "d", "g", "h", "i", "aud", "x"];

    #[test]
    fn accepts_plain_objects() {
        let map = parse_object_keeping(
            br#"{"a":1,"b":[1,{"c":null}],"d":{"e":"f"},"g":1.5,"h":-3,"i":true}"#,
            ALL,
        )
        .unwrap();
        assert_eq!(map.len(), 6);
        assert_eq!(map["b"][1]["c"], Value::Null);
    }

    #[test]
    fn rejects_duplicates_at_any_depth() {
        assert!(
            parse_object_keeping(br#"{"aud":"a","aud":"b"}"#, ALL)
                .unwrap_err()
                .contains("duplicate member \"aud\"")
        );
        assert!(parse_object_keeping(br#"{"x":{"k":1,"k":2}}"#, ALL).is_err());
        assert!(parse_object_keeping(br#"{"x":[{"k":1,"k":2}]}"#, ALL).is_err());
        // Escapes decode before comparison: "\u0061ud" is "aud".
        assert!(parse_object_keeping(br#"{"aud":"a","\u0061ud":"b"}"#, ALL).is_err());
    }

    #[test]
    fn keeping_variant_checks_everything_but_keeps_only_what_is_asked() {
        let map = parse_object_keeping(br#"{"a":1,"b":{"c":[1,{"d":2}]},"e":"x"}"#, &["a", "e"]).unwrap();
        assert_eq!(map.len(), 2);
        assert_eq!(map["e"], "x");
        assert!(parse_object_keeping(br#"{"a":1,"a":2}"#, &["a"]).is_err());
        assert!(parse_object_keeping(br#"{"z":1,"z":2}"#, &["a"]).is_err());
        assert!(parse_object_keeping(br#"{"z":{"k":1,"k":2}}"#, &["a"]).is_err());
        assert!(parse_object_keeping(br#"{"z":[{"k":1,"\u006b":2}]}"#, &["a"]).is_err());
        assert!(parse_object_keeping(br#"{"a":1} x"#, &["a"]).is_err());
        assert!(parse_object_keeping(b"[1]", &["a"]).is_err());
        let deep = format!("{{\"z\":{}1{}}}", "[".repeat(40), "]".repeat(40));
        assert!(parse_object_keeping(deep.as_bytes(), &["a"]).is_err());
    }

    #[test]
    fn members_come_back_by_position() {
        let [a, missing, e] = parse_members(br#"{"e":"x","z":{"k":[1]},"a":1}"#, &["a", "missing", "e"]).unwrap();
        assert_eq!((a, missing, e), (Some(Value::from(1)), None, Some(Value::from("x"))));
        assert!(
            parse_members(br#"{"a":1,"\u0061":2}"#, &["a"])
                .unwrap_err()
                .contains("duplicate member")
        );
        assert!(parse_members(br#"{"z":[{"k":1,"k":2}]}"#, &["a"]).is_err());
        assert!(parse_members(br#"{"a":1} x"#, &["a"]).is_err());
        assert!(parse_members(b"[1]", &["a"]).is_err());
    }

    #[test]
    fn rejects_non_objects_trailing_data_and_deep_nesting() {
        assert!(parse_object_keeping(b"[1]", ALL).is_err());
        assert!(parse_object_keeping(br#"{"a":1} x"#, ALL).is_err());
        assert!(parse_object_keeping(br#"{"a":1}{"b":2}"#, ALL).is_err());
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(40), "]".repeat(40));
        assert!(
            parse_object_keeping(deep.as_bytes(), ALL)
                .unwrap_err()
                .contains("deeply")
        );
    }
}
