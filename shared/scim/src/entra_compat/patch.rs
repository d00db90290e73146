//! Entra's PATCH quirks, each rewriting one operation into RFC form before the engine applies it, and [`apply`], the
//! PATCH the directory service runs.
//!
//! Quirks absorbed elsewhere: `op` as `Add`/`Replace`/`Remove` ([`crate::patch::PatchRequest::parse`] ignores case),
//! an empty `Operations` array (a no-op), and group member removals ([`crate::patch::take_member_operations`]).

use serde_json::{Map, Value};

use super::{extension_values, normalize_value};
use crate::error::ScimError;
use crate::filter::{AttrPath, CompValue, CompareOp, Filter, matches_element};
use crate::json::get_ci;
use crate::patch::{self, PatchOp, PatchOperation, PatchOutcome, PatchPath, PatchRequest};
use crate::schema::ResourceSchema;

/// A PATCH request as Entra sends it, applied to a stored document: [`patch::apply`] with [`normalize`] on each
/// operation.
pub fn apply(doc: &mut Value, request: &PatchRequest, schema: &ResourceSchema) -> Result<PatchOutcome, ScimError> {
    patch::apply(doc, request, schema, |operation, working| {
        normalize(operation, working, schema)
    })
}

/// Runs every PATCH step on one operation; a path-less operation may become several.
pub fn normalize(operation: PatchOperation, doc: &Map<String, Value>, schema: &ResourceSchema) -> Vec<PatchOperation> {
    path_less_keys_as_paths(operation, schema)
        .into_iter()
        .map(|op| path_filter_booleans(op, schema))
        .filter_map(|op| remove_by_value(op, schema))
        .map(|op| value_shapes(op, schema))
        .map(empty_value_removes)
        .map(|op| create_unmatched_element(op, doc, schema))
        .collect()
}

/// With the `aadOptscim062020` flag Entra sends a path-less replace whose value keys are paths:
/// `{"op":"replace","value":{"displayName":"..","name.givenName":"..",
/// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":".."}}`. Each path-like key (one with a
/// `.`, `[` or `:` that is not itself an extension URN) becomes its own operation with that path; plain keys stay in
/// the path-less operation.
pub fn path_less_keys_as_paths(operation: PatchOperation, schema: &ResourceSchema) -> Vec<PatchOperation> {
    let PatchOperation {
        op,
        path: None,
        value: Some(Value::Object(attributes)),
    } = operation
    else {
        return vec![operation];
    };
    let mut plain = Map::new();
    let mut split = Vec::new();
    for (key, value) in attributes {
        let path_like = key.contains(['.', '[', ':'])
            && !schema.is_known_urn(&key)
            && schema.extension_root(&key_path(&key)).is_none();
        match path_like.then(|| PatchPath::parse(&key).ok()).flatten() {
            Some(path) => split.push(PatchOperation {
                op,
                path: Some(path),
                value: Some(value),
            }),
            None => {
                plain.insert(key, value);
            }
        }
    }
    let mut out = Vec::with_capacity(split.len() + 1);
    if !plain.is_empty() || split.is_empty() {
        out.push(PatchOperation {
            op,
            path: None,
            value: Some(Value::Object(plain)),
        });
    }
    out.extend(split);
    out
}

/// `roles[primary eq "True"].value`: string booleans in a path's value filter become booleans (see
/// [`super::normalize_filter`]), so the filter matches and an element built from it gets a real boolean.
pub fn path_filter_booleans(mut operation: PatchOperation, schema: &ResourceSchema) -> PatchOperation {
    if let Some(path) = operation.path.as_mut()
        && let Some(filter) = path.filter.take()
    {
        let parent = path.base();
        path.filter = Some(super::normalize_value_filter(filter, schema, &parent));
    }
    operation
}

fn key_path(key: &str) -> AttrPath {
    crate::filter::parse_attr_path(key).unwrap_or_else(|_| AttrPath::simple(""))
}

/// Entra removes values by listing them in `value` (`{"op":"Remove","path":"emails","value":[{"value":"a@x"}]}`;
/// for `members` see [`crate::patch::take_member_operations`]). On a multi-valued attribute the listed values become
/// a value filter, so only they are removed; on a single-valued attribute (`manager`) the value only names what is
/// being removed and is dropped. A value that names nothing removable drops the operation (`None`): removing the
/// whole attribute would be wider than asked.
pub fn remove_by_value(mut operation: PatchOperation, schema: &ResourceSchema) -> Option<PatchOperation> {
    if operation.op != PatchOp::Remove {
        return Some(operation);
    }
    let Some(value) = operation.value.take().filter(|v| !v.is_null()) else {
        return Some(operation);
    };
    let Some(path) = operation.path.as_mut() else {
        return Some(operation);
    };
    if path.filter.is_some() || path.sub().is_some() {
        return Some(operation);
    }
    let Some(resolved) = schema.resolve(&path.attr) else {
        return Some(operation);
    };
    if !resolved.attr.multi_valued {
        return Some(operation);
    }
    let items: Vec<&Value> = match &value {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    let mut alternatives: Vec<Filter> = Vec::new();
    for item in items {
        let terms: Vec<Filter> = match item {
            Value::Object(members) => members
                .iter()
                .filter(|(k, _)| resolved.attr.sub_attribute(k).is_some())
                .filter_map(|(k, v)| {
                    let value = match v {
                        Value::String(s) => CompValue::String(s.clone()),
                        Value::Bool(b) => CompValue::Bool(*b),
                        Value::Number(n) => CompValue::Number(n.clone()),
                        _ => return None,
                    };
                    Some(Filter::Compare {
                        path: AttrPath::simple(k),
                        op: CompareOp::Eq,
                        value,
                    })
                })
                .collect(),
            Value::String(s) if resolved.attr.is_complex() => vec![Filter::Compare {
                path: AttrPath::simple("value"),
                op: CompareOp::Eq,
                value: CompValue::String(s.clone()),
            }],
            _ => Vec::new(),
        };
        if let Some(all) = terms.into_iter().reduce(|a, b| Filter::And(Box::new(a), Box::new(b))) {
            alternatives.push(all);
        }
    }
    let filter = alternatives
        .into_iter()
        .reduce(|a, b| Filter::Or(Box::new(a), Box::new(b)))?;
    path.filter = Some(filter);
    Some(operation)
}

/// The value-level steps ([`super::normalize_value`]: `"False"` for booleans, stringified roles, the manager
/// shapes) on the operation's value, by the definition the path designates.
pub fn value_shapes(mut operation: PatchOperation, schema: &ResourceSchema) -> PatchOperation {
    let Some(value) = operation.value.as_mut() else {
        return operation;
    };
    match &operation.path {
        None => {
            if let Value::Object(attributes) = value {
                super::resource::attribute_values(attributes, schema);
            }
        }
        Some(path) => {
            if let Some(ext) = schema.extension_root(&path.attr) {
                if let Value::Object(inner) = value {
                    extension_values(&ext.schema, inner);
                }
            } else if let Some(resolved) = schema.resolve(&path.attr) {
                let def = match path.sub_attr.as_deref() {
                    Some(sub) => resolved.attr.sub_attribute(sub),
                    None => Some(resolved.leaf()),
                };
                if let Some(def) = def {
                    normalize_value(def, value);
                }
            }
        }
    }
    operation
}

/// An add/replace whose value is empty (`""`, or null once the manager shapes turned `{"value": ""}` into it) is how
/// Entra clears an attribute, e.g. `{"op":"Replace","path":"urn:..:enterprise:2.0:User:manager","value":""}`: it
/// becomes a remove of that path.
pub fn empty_value_removes(operation: PatchOperation) -> PatchOperation {
    let empty = matches!(&operation.value, Some(Value::Null))
        || matches!(&operation.value, Some(Value::String(s)) if s.is_empty());
    if operation.op == PatchOp::Remove || operation.path.is_none() || !empty {
        return operation;
    }
    PatchOperation {
        op: PatchOp::Remove,
        path: operation.path,
        value: None,
    }
}

/// Entra adds and replaces through value filters that match nothing yet, e.g.
/// `{"op":"Replace","path":"emails[type eq \"work\"].value","value":"x@y"}` on a user without a work e-mail, and
/// expects the element to be created. When the filter is a conjunction of `eq` terms it describes the element fully,
/// so the operation becomes an add of `{type: "work", value: "x@y"}`. Other filters are left to the engine, which
/// answers `noTarget` as RFC 7644 §3.5.2.3 requires.
pub fn create_unmatched_element(
    operation: PatchOperation,
    doc: &Map<String, Value>,
    schema: &ResourceSchema,
) -> PatchOperation {
    if operation.op == PatchOp::Remove {
        return operation;
    }
    let Some(path) = &operation.path else {
        return operation;
    };
    let Some(filter) = &path.filter else {
        return operation;
    };
    let Some(resolved) = schema.resolve(&path.attr) else {
        return operation;
    };
    if !resolved.attr.is_complex() || !resolved.attr.multi_valued || resolved.sub.is_some() {
        return operation;
    }
    let existing = match resolved.extension {
        Some(ext) => get_ci(doc, &ext.id)
            .and_then(Value::as_object)
            .and_then(|o| get_ci(o, &resolved.attr.name)),
        None => get_ci(doc, &resolved.attr.name),
    };
    let any_match = match existing {
        Some(Value::Array(items)) => items.iter().any(|e| matches_element(filter, e, resolved.attr)),
        Some(single) if !single.is_null() => matches_element(filter, single, resolved.attr),
        _ => false,
    };
    if any_match {
        return operation;
    }
    let mut element = Map::new();
    if !equality_terms(filter, &mut element, resolved.attr) {
        return operation;
    }
    match (&path.sub_attr, &operation.value) {
        (Some(sub), Some(value)) => {
            let Some(def) = resolved.attr.sub_attribute(sub) else {
                return operation;
            };
            element.insert(def.name.clone(), value.clone());
        }
        (None, Some(Value::Object(subs))) => {
            for (k, v) in subs {
                element.insert(k.clone(), v.clone());
            }
        }
        _ => return operation,
    }
    let mut base = path.base();
    base.sub_attr = None;
    PatchOperation {
        op: PatchOp::Add,
        path: Some(PatchPath {
            attr: base,
            filter: None,
            sub_attr: None,
        }),
        value: Some(Value::Array(vec![Value::Object(element)])),
    }
}

/// Collects `sub eq literal` terms of an `and`-only filter into `element`; false if the filter is anything else.
fn equality_terms(filter: &Filter, element: &mut Map<String, Value>, parent: &crate::schema::AttributeDef) -> bool {
    match filter {
        Filter::And(a, b) => equality_terms(a, element, parent) && equality_terms(b, element, parent),
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.schema.is_none() && path.sub_attr.is_none() => {
            let Some(def) = parent.sub_attribute(&path.name) else {
                return false;
            };
            let json = match value {
                CompValue::String(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return false,
            };
            if get_ci(element, &def.name).is_some_and(|v| v != &json) {
                return false;
            }
            element.insert(def.name.clone(), json);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(value: Value) -> PatchOperation {
        let request = PatchRequest::parse(&json!({"Operations": [value]})).expect("parse");
        request.operations.into_iter().next().expect("one operation")
    }

    fn user() -> &'static ResourceSchema {
        ResourceSchema::user()
    }

    #[test]
    fn path_less_keys_split_into_operations() {
        let out = path_less_keys_as_paths(
            op(json!({"op": "replace", "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "x"}
            }})),
            user(),
        );
        assert_eq!(out.len(), 3);
        assert_eq!(
            out[0].value,
            Some(
                json!({"displayName": "Bjfe", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "x"}})
            )
        );
        let paths: Vec<String> = out[1..]
            .iter()
            .filter_map(|o| o.path.as_ref().map(ToString::to_string))
            .collect();
        assert_eq!(
            paths,
            [
                "name.givenName",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"
            ]
        );
        // Nothing to split: unchanged.
        let plain = op(json!({"op": "add", "value": {"title": "x"}}));
        assert_eq!(path_less_keys_as_paths(plain.clone(), user()), vec![plain]);
    }

    #[test]
    fn remove_by_value_becomes_a_filter_or_is_dropped() {
        let out = remove_by_value(
            op(json!({"op": "Remove", "path": "emails", "value": [{"value": "a@x"}, "b@x"]})),
            user(),
        )
        .expect("kept");
        assert_eq!(
            out.path.map(|p| p.to_string()).as_deref(),
            Some(r#"emails[value eq "a@x" or value eq "b@x"]"#)
        );
        assert!(out.value.is_none());
        // Single-valued: the value is only a description of what goes.
        let out = remove_by_value(
            op(json!({"op": "Remove", "path": "manager", "value": {"value": "m"}})),
            user(),
        )
        .expect("kept");
        assert_eq!(out.path.map(|p| p.to_string()).as_deref(), Some("manager"));
        assert!(out.value.is_none());
        // Nothing usable: the operation is dropped rather than widened.
        assert!(
            remove_by_value(
                op(json!({"op": "Remove", "path": "emails", "value": [{"nosuch": 1}]})),
                user()
            )
            .is_none()
        );
        // Other operations pass through.
        let add = op(json!({"op": "add", "path": "emails", "value": [{"value": "a@x"}]}));
        assert_eq!(remove_by_value(add.clone(), user()), Some(add));
    }

    #[test]
    fn empty_values_become_removals() {
        for value in [json!(""), json!(null)] {
            let out = empty_value_removes(op(json!({"op": "Replace", "path": "title", "value": value})));
            assert_eq!(out.op, PatchOp::Remove);
            assert!(out.value.is_none());
        }
        let kept = op(json!({"op": "Replace", "path": "title", "value": "x"}));
        assert_eq!(empty_value_removes(kept.clone()), kept);
        let pathless = op(json!({"op": "Replace", "value": {"title": ""}}));
        assert_eq!(empty_value_removes(pathless.clone()), pathless);
    }

    #[test]
    fn unmatched_eq_filters_build_the_element() {
        let doc = Map::new();
        let out = create_unmatched_element(
            op(json!({"op": "Replace", "path": "emails[type eq \"work\" and primary eq true].value", "value": "a@x"})),
            &doc,
            user(),
        );
        assert_eq!(out.op, PatchOp::Add);
        assert_eq!(out.path.map(|p| p.to_string()).as_deref(), Some("emails"));
        assert_eq!(
            out.value,
            Some(json!([{"type": "work", "primary": true, "value": "a@x"}]))
        );
        // A match exists: unchanged.
        let mut doc = Map::new();
        doc.insert("emails".into(), json!([{"type": "work", "value": "old@x"}]));
        let replace = op(json!({"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "a@x"}));
        assert_eq!(create_unmatched_element(replace.clone(), &doc, user()), replace);
        // Not a conjunction of eq terms: left for the engine's noTarget.
        let or = op(json!({"op": "Replace", "path": "emails[type eq \"a\" or type eq \"b\"].value", "value": "x"}));
        assert_eq!(create_unmatched_element(or.clone(), &Map::new(), user()), or);
        let contradiction =
            op(json!({"op": "Replace", "path": "emails[type eq \"a\" and type eq \"b\"].value", "value": "x"}));
        assert_eq!(
            create_unmatched_element(contradiction.clone(), &Map::new(), user()),
            contradiction
        );
    }

    #[test]
    fn path_filters_get_real_booleans() {
        let out = path_filter_booleans(
            op(json!({"op": "Add", "path": "roles[primary eq \"True\"].value", "value": "Admin"})),
            user(),
        );
        assert_eq!(
            out.path.map(|p| p.to_string()).as_deref(),
            Some("roles[primary eq true].value")
        );
    }

    #[test]
    fn value_shapes_follow_the_path() {
        let out = value_shapes(op(json!({"op": "Replace", "path": "active", "value": "False"})), user());
        assert_eq!(out.value, Some(json!(false)));
        let out = value_shapes(
            op(json!({"op": "Replace", "path": "emails[type eq \"work\"].primary", "value": "True"})),
            user(),
        );
        assert_eq!(out.value, Some(json!(true)));
        let out = value_shapes(
            op(
                json!({"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "value": {"manager": "m1"}}),
            ),
            user(),
        );
        assert_eq!(out.value, Some(json!({"manager": {"value": "m1"}})));
        let out = value_shapes(
            op(json!({"op": "Add", "value": {"active": "True", "title": "True"}})),
            user(),
        );
        assert_eq!(out.value, Some(json!({"active": true, "title": "True"})));
    }
}
