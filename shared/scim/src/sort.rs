//! `sortBy` / `sortOrder` (RFC 7644 §3.4.2.3).
//!
//! The sort key of a resource is the attribute's value; for a multi-valued attribute the primary value, else the
//! first; a complex attribute named without a sub-attribute sorts by its `value`. Strings order by code point after
//! case folding unless caseExact; dateTimes as instants; numbers numerically. Resources without a value sort last
//! in ascending order and first in descending order (the RFC's rule), which [`compare_ordered`] gets by reversing.

use std::cmp::Ordering;

use serde_json::Value;

use crate::error::ScimError;
use crate::filter::{AttrPath, attribute_value, parse_attr_path};
use crate::json::{compare_typed, get_ci, is_unassigned};
use crate::schema::{AttributeDef, ResourceSchema, Returned};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

impl SortOrder {
    /// `ascending` (the default when absent) or `descending`, case-insensitively.
    pub fn parse(text: Option<&str>) -> Result<Self, ScimError> {
        match text.map(str::trim) {
            None | Some("") => Ok(SortOrder::Ascending),
            Some(t) if t.eq_ignore_ascii_case("ascending") => Ok(SortOrder::Ascending),
            Some(t) if t.eq_ignore_ascii_case("descending") => Ok(SortOrder::Descending),
            Some(t) => Err(ScimError::invalid_value(format!(
                "sortOrder is \"{t}\"; it must be ascending or descending"
            ))),
        }
    }
}

/// Parses and checks a `sortBy` value: a known attribute with a comparable value.
pub fn parse_sort_by(text: &str, schema: &ResourceSchema) -> Result<AttrPath, ScimError> {
    let path = parse_attr_path(text.trim())
        .map_err(|e| ScimError::invalid_value(format!("sortBy \"{text}\" is not an attribute path: {}", e.message)))?;
    let leaf = sort_leaf(&path, schema)
        .ok_or_else(|| ScimError::invalid_value(format!("sortBy \"{text}\" names no sortable attribute")))?;
    if leaf.returned == Returned::Never {
        return Err(ScimError::invalid_value(format!("cannot sort by \"{text}\"")));
    }
    Ok(path)
}

fn sort_leaf<'a>(path: &AttrPath, schema: &'a ResourceSchema) -> Option<&'a AttributeDef> {
    let resolved = schema.resolve(path)?;
    match resolved.sub {
        Some(sub) => Some(sub),
        None if resolved.attr.is_complex() => resolved.attr.implicit_value(),
        None => Some(resolved.attr),
    }
}

/// The value a resource sorts by.
fn sort_key<'a>(resource: &'a Value, path: &AttrPath, schema: &ResourceSchema) -> Option<&'a Value> {
    let resolved = schema.resolve(path)?;
    let raw = attribute_value(resource, resolved.extension.map(|e| e.id.as_str()), &resolved.attr.name)?;
    let element = match raw {
        Value::Array(items) => {
            let is_primary = |v: &&Value| {
                v.as_object()
                    .and_then(|o| get_ci(o, "primary"))
                    .and_then(Value::as_bool)
                    == Some(true)
            };
            items
                .iter()
                .find(is_primary)
                .or_else(|| items.iter().find(|v| !is_unassigned(v)))?
        }
        other => other,
    };
    let value = if resolved.attr.is_complex() {
        let leaf = sort_leaf(path, schema)?;
        get_ci(element.as_object()?, &leaf.name)?
    } else {
        element
    };
    (!is_unassigned(value)).then_some(value)
}

/// Ascending order of two resources by `sort_by`; resources without a value come last.
pub fn compare(a: &Value, b: &Value, sort_by: &AttrPath, schema: &ResourceSchema) -> Ordering {
    let Some(leaf) = sort_leaf(sort_by, schema) else {
        return Ordering::Equal;
    };
    match (sort_key(a, sort_by, schema), sort_key(b, sort_by, schema)) {
        (Some(x), Some(y)) => compare_typed(x, y, leaf).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// [`compare`] in the requested order.
pub fn compare_ordered(
    a: &Value,
    b: &Value,
    sort_by: &AttrPath,
    order: SortOrder,
    schema: &ResourceSchema,
) -> Ordering {
    match order {
        SortOrder::Ascending => compare(a, b, sort_by, schema),
        SortOrder::Descending => compare(b, a, sort_by, schema),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sorted(mut items: Vec<Value>, by: &str, order: SortOrder) -> Vec<String> {
        let schema = ResourceSchema::user();
        let path = parse_sort_by(by, schema).expect("sortBy");
        items.sort_by(|a, b| compare_ordered(a, b, &path, order, schema));
        items
            .iter()
            .map(|v| v["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn strings_fold_case_and_missing_sort_last() {
        let items = vec![
            json!({"id": "1", "userName": "bob"}),
            json!({"id": "2"}),
            json!({"id": "3", "userName": "Alice"}),
            json!({"id": "4", "userName": "carol"}),
        ];
        assert_eq!(
            sorted(items.clone(), "userName", SortOrder::Ascending),
            ["3", "1", "4", "2"]
        );
        assert_eq!(sorted(items, "userName", SortOrder::Descending), ["2", "4", "1", "3"]);
    }

    #[test]
    fn case_exact_attributes_sort_by_code_point() {
        let items = vec![
            json!({"id": "1", "externalId": "b"}),
            json!({"id": "2", "externalId": "B"}),
        ];
        assert_eq!(sorted(items, "externalId", SortOrder::Ascending), ["2", "1"]);
    }

    #[test]
    fn multi_valued_sorts_by_primary_or_first() {
        let items = vec![
            json!({"id": "1", "emails": [{"value": "z@x"}, {"value": "a@x", "primary": true}]}),
            json!({"id": "2", "emails": [{"value": "m@x"}, {"value": "b@x"}]}),
        ];
        assert_eq!(sorted(items.clone(), "emails", SortOrder::Ascending), ["1", "2"]);
        assert_eq!(sorted(items, "emails.value", SortOrder::Ascending), ["1", "2"]);
    }

    #[test]
    fn datetimes_sort_as_instants_and_sort_by_is_checked() {
        let items = vec![
            json!({"id": "1", "meta": {"lastModified": "2024-01-01T10:00:00+02:00"}}),
            json!({"id": "2", "meta": {"lastModified": "2024-01-01T09:00:00Z"}}),
        ];
        assert_eq!(sorted(items, "meta.lastModified", SortOrder::Ascending), ["1", "2"]);
        assert!(parse_sort_by("nope", ResourceSchema::user()).is_err());
        assert!(parse_sort_by("password", ResourceSchema::user()).is_err());
        assert!(parse_sort_by("name", ResourceSchema::user()).is_err());
        assert!(SortOrder::parse(Some("DESCENDING")).is_ok());
        assert!(SortOrder::parse(Some("up")).is_err());
    }
}
