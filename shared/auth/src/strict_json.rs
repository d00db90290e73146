//! JSON objects with duplicate members rejected, at every nesting level.
//!
//! serde_json keeps the last of two equal member names silently, and derived structs only notice duplicates of
//! the fields they declare. For a signed JWT that ambiguity is an attack surface (two parsers may disagree on
//! which `aud` counts), so header and claims are parsed in one pass through this type, which fails on the first
//! repeated name anywhere in the document.

use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Deepest nesting accepted; real JWT claim sets nest two or three levels.
const MAX_DEPTH: usize = 32;

/// Parses a JSON object, rejecting duplicate member names anywhere inside it.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue::deserialize_at(&mut deserializer, 0).map_err(|err| err.to_string())?;
    deserializer.end().map_err(|err| err.to_string())?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err("not a JSON object".to_owned()),
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

    #[test]
    fn accepts_plain_objects() {
        let map = parse_object(br#"{"a":1,"b":[1,{"c":null}],"d":{"e":"f"},"g":1.5,"h":-3,"i":true}"#).unwrap();
        assert_eq!(map.len(), 6);
        assert_eq!(map["b"][1]["c"], Value::Null);
    }

    #[test]
    fn rejects_duplicates_at_any_depth() {
        assert!(
            parse_object(br#"{"aud":"a","aud":"b"}"#)
                .unwrap_err()
                .contains("duplicate member \"aud\"")
        );
        assert!(parse_object(br#"{"x":{"k":1,"k":2}}"#).is_err());
        assert!(parse_object(br#"{"x":[{"k":1,"k":2}]}"#).is_err());
        // Escapes decode before comparison: "\u0061ud" is "aud".
        assert!(parse_object(br#"{"aud":"a","\u0061ud":"b"}"#).is_err());
    }

    #[test]
    fn rejects_non_objects_trailing_data_and_deep_nesting() {
        assert!(parse_object(b"[1]").is_err());
        assert!(parse_object(br#"{"a":1} x"#).is_err());
        assert!(parse_object(br#"{"a":1}{"b":2}"#).is_err());
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(40), "]".repeat(40));
        assert!(parse_object(deep.as_bytes()).unwrap_err().contains("deeply"));
    }
}
