//! Small JSON helpers shared by the engine: case-insensitive member access (SCIM attribute names are
//! case-insensitive, RFC 7643 §2.1), typed value comparison and the RFC 7643 §2.5 notion of "unassigned".

use std::cmp::Ordering;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::schema::{AttributeDef, AttributeType, fold_case};

/// The member of `object` whose key equals `name` ignoring ASCII case; an exact match wins.
pub(crate) fn get_ci<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The actual key spelling of the member named `name` (ignoring case).
pub(crate) fn key_ci(object: &Map<String, Value>, name: &str) -> Option<String> {
    if object.contains_key(name) {
        return Some(name.to_owned());
    }
    object.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

pub(crate) fn get_mut_ci<'a>(object: &'a mut Map<String, Value>, name: &str) -> Option<&'a mut Value> {
    let key = key_ci(object, name)?;
    object.get_mut(&key)
}

pub(crate) fn remove_ci(object: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let key = key_ci(object, name)?;
    object.remove(&key)
}

/// RFC 7643 §2.5: null, an empty array (and, for `pr`, an empty string or an object with no assigned member) are
/// equivalent to an attribute that is not there.
pub(crate) fn is_unassigned(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.iter().all(is_unassigned),
        Value::Object(members) => members.values().all(is_unassigned),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

pub(crate) fn parse_datetime(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Orders two attribute values by the attribute's type; `None` when they are not comparable (wrong JSON types).
pub(crate) fn compare_typed(a: &Value, b: &Value, def: &AttributeDef) -> Option<Ordering> {
    match def.attr_type {
        AttributeType::Boolean => Some(a.as_bool()?.cmp(&b.as_bool()?)),
        AttributeType::Integer | AttributeType::Decimal => compare_numbers(a, b),
        AttributeType::DateTime => {
            let (a, b) = (a.as_str()?, b.as_str()?);
            match (parse_datetime(a), parse_datetime(b)) {
                (Some(x), Some(y)) => Some(x.cmp(&y)),
                _ => Some(a.cmp(b)),
            }
        }
        AttributeType::String | AttributeType::Reference | AttributeType::Binary => {
            let (a, b) = (a.as_str()?, b.as_str()?);
            if def.case_exact {
                Some(a.cmp(b))
            } else {
                Some(fold_case(a).cmp(&fold_case(b)))
            }
        }
        AttributeType::Complex => None,
    }
}

pub(crate) fn compare_numbers(a: &Value, b: &Value) -> Option<Ordering> {
    let (a, b) = (a.as_number()?, b.as_number()?);
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// Equality by the attribute's type (caseExact for strings, instants for dateTime, numeric value for numbers).
pub(crate) fn equal_typed(a: &Value, b: &Value, def: &AttributeDef) -> bool {
    if def.attr_type == AttributeType::Complex {
        return complex_equal(a, b, def);
    }
    compare_typed(a, b, def) == Some(Ordering::Equal)
}

/// Two complex values are the same value when every sub-attribute assigned in either is equal in both.
fn complex_equal(a: &Value, b: &Value, def: &AttributeDef) -> bool {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return a == b;
    };
    let keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter().all(|k| {
        let x = get_ci(a, k).filter(|v| !is_unassigned(v));
        let y = get_ci(b, k).filter(|v| !is_unassigned(v));
        match (x, y, def.sub_attribute(k)) {
            (None, None, _) => true,
            (Some(x), Some(y), Some(sub)) => equal_typed(x, y, sub),
            (Some(x), Some(y), None) => x == y,
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unassigned_follows_rfc7643_2_5() {
        for v in [
            json!(null),
            json!(""),
            json!([]),
            json!([null]),
            json!({}),
            json!({"value": null}),
        ] {
            assert!(is_unassigned(&v), "{v}");
        }
        for v in [json!(false), json!(0), json!("x"), json!([1]), json!({"value": "x"})] {
            assert!(!is_unassigned(&v), "{v}");
        }
    }

    #[test]
    fn typed_comparisons() {
        let s = AttributeDef::new("s", AttributeType::String);
        assert!(equal_typed(&json!("ABC"), &json!("abc"), &s));
        assert!(!equal_typed(&json!("ABC"), &json!("abc"), &s.clone().case_exact()));
        let d = AttributeDef::new("d", AttributeType::DateTime);
        assert!(equal_typed(
            &json!("2024-01-01T00:00:00Z"),
            &json!("2024-01-01T01:00:00+01:00"),
            &d
        ));
        let n = AttributeDef::new("n", AttributeType::Decimal);
        assert!(equal_typed(&json!(1), &json!(1.0), &n));
        assert_eq!(compare_typed(&json!(2), &json!(10), &n), Some(Ordering::Less));
        assert_eq!(compare_typed(&json!("x"), &json!(10), &n), None);
    }
}
