//! Filter evaluation against a resource document, and the schema check that runs before it.
//!
//! Semantics (RFC 7644 §3.4.2.2, with the choices the RFC leaves open):
//! - strings compare case-insensitively unless the attribute is caseExact (`id`, `externalId`, `meta.version`...);
//! - a multi-valued attribute matches when any of its values matches;
//! - naming a complex attribute without a sub-attribute compares its `value` sub-attribute (`emails co "@x"`,
//!   `members eq "<id>"`, `manager eq "<id>"`);
//! - `ne` is the negation of `eq` (so it matches resources without the attribute), and `eq null` matches exactly
//!   the resources where the attribute is unassigned;
//! - `pr` is false for null, `""`, `[]` and objects without assigned members (RFC 7643 §2.5);
//! - dateTime values compare as instants; numbers by numeric value;
//! - an attribute the schema does not know never matches (the directory runs [`validate`] first, which rejects it
//!   with `invalidFilter`).

use serde_json::Value;

use super::ast::{AttrPath, CompValue, CompareOp, Filter};
use crate::error::ScimError;
use crate::json::{compare_typed, get_ci, is_unassigned, parse_datetime};
use crate::schema::{AttributeDef, AttributeType, ResourceSchema, Returned, fold_case};

/// Where the paths of a (sub-)filter are resolved: the resource, or one element of a multi-valued attribute
/// (inside `attr[...]`).
#[derive(Clone, Copy)]
enum Scope<'a> {
    Resource(&'a ResourceSchema),
    Element(&'a AttributeDef),
}

/// True when `resource` satisfies `filter`.
pub fn matches(filter: &Filter, resource: &Value, schema: &ResourceSchema) -> bool {
    eval(filter, resource, Scope::Resource(schema))
}

/// True when one element of the complex attribute `parent` satisfies a value filter (`emails[type eq "work"]`).
pub(crate) fn matches_element(filter: &Filter, element: &Value, parent: &AttributeDef) -> bool {
    eval(filter, element, Scope::Element(parent))
}

fn eval(filter: &Filter, node: &Value, scope: Scope<'_>) -> bool {
    match filter {
        Filter::And(a, b) => eval(a, node, scope) && eval(b, node, scope),
        Filter::Or(a, b) => eval(a, node, scope) || eval(b, node, scope),
        Filter::Not(inner) => !eval(inner, node, scope),
        Filter::Present(path) => match leaf_values(path, node, scope) {
            Some((values, _)) => values.iter().any(|v| !is_unassigned(v)),
            None => false,
        },
        Filter::Compare { path, op, value } => match leaf_values(path, node, scope) {
            Some((values, def)) => compare(&values, *op, value, def),
            None => false,
        },
        Filter::ValuePath { path, filter } => {
            let Scope::Resource(schema) = scope else {
                return false;
            };
            let Some(resolved) = schema.resolve(path) else {
                return false;
            };
            if resolved.sub.is_some() || !resolved.attr.is_complex() {
                return false;
            }
            let Some(raw) = attribute_value(node, resolved.extension.map(|e| e.id.as_str()), &resolved.attr.name)
            else {
                return false;
            };
            elements(raw).any(|element| eval(filter, element, Scope::Element(resolved.attr)))
        }
    }
}

/// The value of a top-level attribute, or of one inside an extension object.
pub(crate) fn attribute_value<'a>(doc: &'a Value, extension: Option<&str>, name: &str) -> Option<&'a Value> {
    let object = doc.as_object()?;
    match extension {
        Some(urn) => get_ci(get_ci(object, urn)?.as_object()?, name),
        None => get_ci(object, name),
    }
}

/// The elements of a multi-valued attribute (a lone value counts as a one-element list).
fn elements(value: &Value) -> Box<dyn Iterator<Item = &Value> + '_> {
    match value {
        Value::Array(items) => Box::new(items.iter()),
        other => Box::new(std::iter::once(other)),
    }
}

/// The values a path designates in `node` and the definition they are compared by.
fn leaf_values<'a, 'd>(
    path: &AttrPath,
    node: &'a Value,
    scope: Scope<'d>,
) -> Option<(Vec<&'a Value>, &'d AttributeDef)> {
    match scope {
        Scope::Resource(schema) => {
            let resolved = schema.resolve(path)?;
            let raw = attribute_value(node, resolved.extension.map(|e| e.id.as_str()), &resolved.attr.name);
            let leaf_def = match resolved.sub {
                Some(sub) => sub,
                None if resolved.attr.is_complex() => resolved.attr.implicit_value()?,
                None => resolved.attr,
            };
            let Some(raw) = raw else {
                return Some((Vec::new(), leaf_def));
            };
            let values = if resolved.attr.is_complex() {
                elements(raw)
                    .filter_map(|e| e.as_object().and_then(|o| get_ci(o, &leaf_def.name)))
                    .flat_map(elements)
                    .collect()
            } else {
                elements(raw).collect()
            };
            Some((values, leaf_def))
        }
        Scope::Element(parent) => {
            let def = parent.sub_attribute(&path.name)?;
            let values = node
                .as_object()
                .and_then(|o| get_ci(o, &def.name))
                .map(|v| elements(v).collect())
                .unwrap_or_default();
            Some((values, def))
        }
    }
}

fn compare(values: &[&Value], op: CompareOp, expected: &CompValue, def: &AttributeDef) -> bool {
    let assigned = || values.iter().copied().filter(|v| !v.is_null());
    if let CompValue::Null = expected {
        let any = values.iter().any(|v| !is_unassigned(v));
        return match op {
            CompareOp::Eq => !any,
            CompareOp::Ne => any,
            _ => false,
        };
    }
    match op {
        CompareOp::Ne => !assigned().any(|v| compare_one(v, CompareOp::Eq, expected, def)),
        _ => assigned().any(|v| compare_one(v, op, expected, def)),
    }
}

fn expected_json(expected: &CompValue, def: &AttributeDef) -> Option<Value> {
    Some(match (expected, def.attr_type) {
        (CompValue::String(s), AttributeType::Boolean) => Value::Bool(parse_bool(s)?),
        (CompValue::String(s), _) => Value::String(s.clone()),
        (CompValue::Number(n), _) => Value::Number(n.clone()),
        (CompValue::Bool(b), _) => Value::Bool(*b),
        (CompValue::Null, _) => return None,
    })
}

pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn compare_one(actual: &Value, op: CompareOp, expected: &CompValue, def: &AttributeDef) -> bool {
    let Some(expected) = expected_json(expected, def) else {
        return false;
    };
    match op {
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
            let (Some(actual), Some(expected)) = (actual.as_str(), expected.as_str()) else {
                return false;
            };
            let (actual, expected) = if def.case_exact {
                (actual.to_owned(), expected.to_owned())
            } else {
                (fold_case(actual), fold_case(expected))
            };
            match op {
                CompareOp::Co => actual.contains(&expected),
                CompareOp::Sw => actual.starts_with(&expected),
                _ => actual.ends_with(&expected),
            }
        }
        _ => {
            if matches!(def.attr_type, AttributeType::Boolean | AttributeType::Binary)
                && !matches!(op, CompareOp::Eq | CompareOp::Ne)
            {
                return false;
            }
            let Some(ordering) = compare_typed(actual, &expected, def) else {
                return false;
            };
            match op {
                CompareOp::Eq | CompareOp::Ne => ordering.is_eq(),
                CompareOp::Gt => ordering.is_gt(),
                CompareOp::Ge => ordering.is_ge(),
                CompareOp::Lt => ordering.is_lt(),
                _ => ordering.is_le(),
            }
        }
    }
}

/// Checks a parsed filter against the schema: every attribute must exist (unknown attributes are `invalidFilter`,
/// so a typo is reported instead of silently matching nothing), `password` and other never-returned attributes cannot
/// be filtered on, and each operator/value must suit the attribute type (RFC 7644 §3.4.2.2: `gt`/`ge`/`lt`/`le` on
/// boolean or binary attributes fail with `invalidFilter`).
pub fn validate(filter: &Filter, schema: &ResourceSchema) -> Result<(), ScimError> {
    check(filter, Scope::Resource(schema))
}

fn check(filter: &Filter, scope: Scope<'_>) -> Result<(), ScimError> {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            check(a, scope)?;
            check(b, scope)
        }
        Filter::Not(inner) => check(inner, scope),
        Filter::Present(path) => resolve_leaf(path, scope).map(|_| ()),
        Filter::Compare { path, op, value } => {
            let def = resolve_leaf(path, scope)?;
            check_comparison(path, def, *op, value)
        }
        Filter::ValuePath { path, filter } => {
            let Scope::Resource(schema) = scope else {
                return Err(ScimError::invalid_filter("value filters '[..]' cannot be nested"));
            };
            let resolved = schema
                .resolve(path)
                .ok_or_else(|| ScimError::invalid_filter(format!("unknown attribute '{}'", path_text(path))))?;
            if !resolved.attr.is_complex() || resolved.sub.is_some() {
                return Err(ScimError::invalid_filter(format!(
                    "'{}' is not a complex attribute, so it takes no value filter '[..]'",
                    path_text(path)
                )));
            }
            check(filter, Scope::Element(resolved.attr))
        }
    }
}

fn resolve_leaf<'d>(path: &AttrPath, scope: Scope<'d>) -> Result<&'d AttributeDef, ScimError> {
    let def = match scope {
        Scope::Resource(schema) => {
            let resolved = schema
                .resolve(path)
                .ok_or_else(|| ScimError::invalid_filter(format!("unknown attribute '{}'", path_text(path))))?;
            match resolved.sub {
                Some(sub) => sub,
                None if resolved.attr.is_complex() => resolved.attr.implicit_value().ok_or_else(|| {
                    ScimError::invalid_filter(format!(
                        "'{}' is a complex attribute: filter on one of its sub-attributes, e.g. '{}.{}'",
                        resolved.attr.name,
                        resolved.attr.name,
                        resolved
                            .attr
                            .sub_attributes
                            .first()
                            .map(|s| s.name.as_str())
                            .unwrap_or("value")
                    ))
                })?,
                None => resolved.attr,
            }
        }
        Scope::Element(parent) => {
            if path.sub_attr.is_some() {
                return Err(ScimError::invalid_filter(format!(
                    "'{}' inside '{}[..]' must be a sub-attribute name",
                    path_text(path),
                    parent.name
                )));
            }
            parent.sub_attribute(&path.name).ok_or_else(|| {
                ScimError::invalid_filter(format!("'{}' has no sub-attribute '{}'", parent.name, path.name))
            })?
        }
    };
    if def.returned == Returned::Never {
        return Err(ScimError::invalid_filter(format!(
            "'{}' cannot be used in a filter",
            def.name
        )));
    }
    Ok(def)
}

fn check_comparison(path: &AttrPath, def: &AttributeDef, op: CompareOp, value: &CompValue) -> Result<(), ScimError> {
    let name = path_text(path);
    let op_name = op_text(op);
    let ordering = matches!(op, CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le);
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    if matches!(value, CompValue::Null) {
        if matches!(op, CompareOp::Eq | CompareOp::Ne) {
            return Ok(());
        }
        return Err(ScimError::invalid_filter(format!(
            "'{op_name}' cannot compare '{name}' with null"
        )));
    }
    match def.attr_type {
        AttributeType::Boolean | AttributeType::Binary if ordering => Err(ScimError::invalid_filter(format!(
            "'{op_name}' is not defined for the {} attribute '{name}'",
            def.attr_type.as_str()
        ))),
        AttributeType::Boolean | AttributeType::Integer | AttributeType::Decimal if substring => {
            Err(ScimError::invalid_filter(format!(
                "'{op_name}' needs a string attribute, but '{name}' is {}",
                def.attr_type.as_str()
            )))
        }
        AttributeType::Boolean => match value {
            CompValue::Bool(_) => Ok(()),
            _ => Err(ScimError::invalid_filter(format!(
                "'{name}' is boolean: compare it with true or false"
            ))),
        },
        AttributeType::Integer | AttributeType::Decimal => match value {
            CompValue::Number(_) => Ok(()),
            _ => Err(ScimError::invalid_filter(format!(
                "'{name}' is a number: compare it with a number"
            ))),
        },
        AttributeType::DateTime => match value {
            CompValue::String(s) if substring || parse_datetime(s).is_some() => Ok(()),
            CompValue::String(s) => Err(ScimError::invalid_filter(format!(
                "'{name}' is a dateTime: \"{s}\" is not an RFC 3339 date-time such as \"2024-01-31T12:00:00Z\""
            ))),
            _ => Err(ScimError::invalid_filter(format!(
                "'{name}' is a dateTime: compare it with a quoted date-time"
            ))),
        },
        AttributeType::String | AttributeType::Reference | AttributeType::Binary => match value {
            CompValue::String(_) => Ok(()),
            _ => Err(ScimError::invalid_filter(format!(
                "'{name}' is a string: compare it with a quoted string"
            ))),
        },
        AttributeType::Complex => Err(ScimError::invalid_filter(format!(
            "'{name}' is a complex attribute: filter on one of its sub-attributes"
        ))),
    }
}

fn path_text(path: &AttrPath) -> String {
    let mut out = String::new();
    if let Some(schema) = &path.schema {
        out.push_str(schema);
        out.push(':');
    }
    out.push_str(&path.name);
    if let Some(sub) = &path.sub_attr {
        out.push('.');
        out.push_str(sub);
    }
    out
}

pub(crate) fn op_text(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "eq",
        CompareOp::Ne => "ne",
        CompareOp::Co => "co",
        CompareOp::Sw => "sw",
        CompareOp::Ew => "ew",
        CompareOp::Gt => "gt",
        CompareOp::Ge => "ge",
        CompareOp::Lt => "lt",
        CompareOp::Le => "le",
    }
}
