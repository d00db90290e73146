//! The SearchRequest body of `POST …/.search` (RFC 7644 §3.4.3): the same query a GET carries in its parameters.

use serde_json::Value;

use crate::error::ScimError;
use crate::schema::SEARCH_REQUEST_SCHEMA;
use crate::service::{ListQuery, Projection};

/// A SearchRequest body (RFC 7644 §3.4.3).
pub(super) fn search_request(body: &Value) -> Result<ListQuery, ScimError> {
    let Some(object) = body.as_object() else {
        return Err(ScimError::invalid_syntax(
            "a search body must be a SearchRequest JSON object",
        ));
    };
    let get = |name: &str| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    if let Some(schemas) = get("schemas") {
        let ok = schemas.as_array().is_some_and(|a| {
            a.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(SEARCH_REQUEST_SCHEMA))
            })
        });
        if !ok {
            return Err(ScimError::invalid_syntax(format!(
                "'schemas' of a search body must contain {SEARCH_REQUEST_SCHEMA}"
            )));
        }
    }
    let text = |name: &str| -> Result<Option<String>, ScimError> {
        match get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ScimError::invalid_value(format!("'{name}' must be a string"))),
        }
    };
    let list = |name: &str| -> Result<Option<String>, ScimError> {
        match get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| ScimError::invalid_value(format!("'{name}' must list strings")))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|v| Some(v.join(","))),
            Some(_) => Err(ScimError::invalid_value(format!(
                "'{name}' must be an array of attribute names"
            ))),
        }
    };
    let number = |name: &str| -> Result<Option<i64>, ScimError> {
        match get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| ScimError::invalid_value(format!("'{name}' must be an integer"))),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ScimError::invalid_value(format!("'{name}' must be an integer"))),
            Some(_) => Err(ScimError::invalid_value(format!("'{name}' must be an integer"))),
        }
    };
    Ok(ListQuery {
        filter: text("filter")?,
        sort_by: text("sortBy")?,
        sort_order: text("sortOrder")?,
        start_index: number("startIndex")?,
        count: number("count")?,
        cursor: text("cursor")?,
        projection: Projection::parse(list("attributes")?.as_deref(), list("excludedAttributes")?.as_deref())?,
    })
}
