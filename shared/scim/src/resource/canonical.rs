//! The RFC-pure canonicalisation of a resource document, shared by POST, PUT and the document PATCH produces:
//! attribute names made canonical, values type-checked, readOnly and unknown data dropped (and noted), `schemas`
//! recomputed, required attributes checked, `password` and a group's `members` taken out of the document.

use serde_json::{Map, Value};

use super::{MemberRef, parse_members};
use crate::error::ScimError;
use crate::json::equal_typed;
use crate::schema::{AttributeDef, AttributeType, Mutability, ResourceKind, ResourceSchema, SchemaDef};

/// How strictly canonicalisation treats what a client could not have meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strictness {
    /// POST/PUT bodies: more than one primary value is the client's error.
    Request,
    /// The document after PATCH: the engine already moved `primary` flags.
    Patched,
}

pub(crate) struct Canonical {
    pub document: Map<String, Value>,
    pub password: Option<String>,
    pub members: Vec<MemberRef>,
    pub members_specified: bool,
}

/// The RFC-pure canonicalisation shared by POST, PUT and the document PATCH produces.
pub(crate) fn canonicalize(
    object: Map<String, Value>,
    schema: &ResourceSchema,
    strictness: Strictness,
    ignored: &mut Vec<String>,
) -> Result<Canonical, ScimError> {
    let mut canonical = Canonical {
        document: Map::new(),
        password: None,
        members: Vec::new(),
        members_specified: false,
    };
    let mut seen: Vec<String> = Vec::new();
    for (key, value) in object {
        let folded = key.to_ascii_lowercase();
        if seen.contains(&folded) {
            return Err(ScimError::invalid_value(format!(
                "attribute '{key}' appears more than once"
            )));
        }
        seen.push(folded);
        canonical.take(key, value, schema, strictness, ignored)?;
    }
    check_required(&canonical.document, schema)?;
    let schemas: Vec<Value> = schema
        .schema_urns()
        .filter(|urn| schema.core.is(urn) || canonical.document.contains_key(*urn))
        .map(|urn| Value::String(urn.to_owned()))
        .collect();
    canonical.document.insert("schemas".into(), Value::Array(schemas));
    Ok(canonical)
}

impl Canonical {
    /// One member of the body: `schemas` (only checked), an extension object, a group's `members`, `password`, or
    /// a core attribute; readOnly and unknown ones are ignored.
    fn take(
        &mut self,
        key: String,
        value: Value,
        schema: &ResourceSchema,
        strictness: Strictness,
        ignored: &mut Vec<String>,
    ) -> Result<(), ScimError> {
        if key.eq_ignore_ascii_case("schemas") {
            return check_schemas_member(&value);
        }
        if let Some(ext) = schema.extension(&key) {
            if let Some(out) = canonical_extension(&ext.schema, value, strictness, ignored)? {
                self.document.insert(ext.schema.id.clone(), Value::Object(out));
            }
            return Ok(());
        }
        if schema.kind == ResourceKind::Group && key.eq_ignore_ascii_case("members") {
            self.members_specified = true;
            self.members = parse_members(&value)?;
            return Ok(());
        }
        match schema.top_level(&key) {
            Some(def) if def.mutability == Mutability::WriteOnly && def.name == "password" => match value {
                Value::String(s) if !s.is_empty() => self.password = Some(s),
                Value::Null => {}
                Value::String(_) => {}
                _ => return Err(ScimError::invalid_value("'password' must be a string")),
            },
            Some(def) if def.mutability == Mutability::ReadOnly => ignored.push(def.name.clone()),
            Some(def) => put_attribute(&mut self.document, def, value, "", strictness, ignored)?,
            None => ignored.push(key),
        }
        Ok(())
    }
}

/// The attributes of one extension object, canonical; `None` when it holds none.
fn canonical_extension(
    ext: &SchemaDef,
    value: Value,
    strictness: Strictness,
    ignored: &mut Vec<String>,
) -> Result<Option<Map<String, Value>>, ScimError> {
    match value {
        Value::Object(inner) => {
            let mut out = Map::new();
            for (name, v) in inner {
                match ext.attribute(&name) {
                    Some(def) => put_attribute(&mut out, def, v, &ext.id, strictness, ignored)?,
                    None => ignored.push(format!("{}:{name}", ext.id)),
                }
            }
            Ok((!out.is_empty()).then_some(out))
        }
        Value::Null => Ok(None),
        _ => Err(ScimError::invalid_value(format!(
            "'{}' must be an object holding the extension's attributes",
            ext.id
        ))),
    }
}

/// Required attributes (`userName`, group `displayName`) and required extensions with their required attributes.
fn check_required(document: &Map<String, Value>, schema: &ResourceSchema) -> Result<(), ScimError> {
    for attr in schema.core.attributes.iter().filter(|a| a.required) {
        if !document.contains_key(&attr.name) {
            return Err(ScimError::invalid_value(format!("'{}' is required", attr.name)));
        }
    }
    for ext in &schema.extensions {
        let present = document.get(&ext.schema.id).and_then(Value::as_object);
        if ext.required && present.is_none() {
            return Err(ScimError::invalid_value(format!(
                "the extension '{}' is required",
                ext.schema.id
            )));
        }
        if let Some(present) = present {
            for attr in ext.schema.attributes.iter().filter(|a| a.required) {
                if !present.contains_key(&attr.name) {
                    return Err(ScimError::invalid_value(format!(
                        "'{}:{}' is required",
                        ext.schema.id, attr.name
                    )));
                }
            }
        }
    }
    Ok(())
}

/// `schemas` is recomputed from the data, so its content only has to be a list of strings (Entra sends misspelled
/// and foreign URNs; its dialect notes them before this runs).
fn check_schemas_member(value: &Value) -> Result<(), ScimError> {
    match value {
        Value::Array(items) if items.iter().all(Value::is_string) => Ok(()),
        Value::Null => Ok(()),
        _ => Err(ScimError::invalid_syntax("'schemas' must be an array of schema URNs")),
    }
}

fn put_attribute(
    out: &mut Map<String, Value>,
    def: &AttributeDef,
    value: Value,
    prefix: &str,
    strictness: Strictness,
    ignored: &mut Vec<String>,
) -> Result<(), ScimError> {
    let label = if prefix.is_empty() {
        def.name.clone()
    } else {
        format!("{prefix}:{}", def.name)
    };
    if def.mutability == Mutability::ReadOnly {
        ignored.push(label);
        return Ok(());
    }
    if let Some(v) = canonical_value(value, def, &label, strictness, ignored)? {
        out.insert(def.name.clone(), v);
    }
    Ok(())
}

/// Canonical form of one attribute value, `None` when it is unassigned.
fn canonical_value(
    value: Value,
    def: &AttributeDef,
    label: &str,
    strictness: Strictness,
    ignored: &mut Vec<String>,
) -> Result<Option<Value>, ScimError> {
    if !def.multi_valued {
        return canonical_single(value, def, label, ignored);
    }
    let items = match value {
        Value::Null => return Ok(None),
        Value::Array(items) => items,
        // A lone value where a list belongs: the client meant a one-element list.
        single => vec![single],
    };
    let mut out: Vec<Value> = Vec::new();
    for item in items {
        if let Some(v) = canonical_single(item, def, label, ignored)?
            && !out.iter().any(|existing| equal_typed(existing, &v, def))
        {
            out.push(v);
        }
    }
    if out.is_empty() {
        return Ok(None);
    }
    if def.is_complex() {
        let primaries = out
            .iter()
            .filter(|v| v.get("primary").and_then(Value::as_bool) == Some(true))
            .count();
        if primaries > 1 && strictness == Strictness::Request {
            return Err(ScimError::invalid_value(format!(
                "'{label}' has {primaries} values marked primary; at most one may be (RFC 7643 §2.4)"
            )));
        }
    }
    Ok(Some(Value::Array(out)))
}

fn canonical_single(
    value: Value,
    def: &AttributeDef,
    label: &str,
    ignored: &mut Vec<String>,
) -> Result<Option<Value>, ScimError> {
    if value.is_null() {
        return Ok(None);
    }
    let wrong = |expected: &str| ScimError::invalid_value(format!("'{label}' must be {expected}"));
    match def.attr_type {
        AttributeType::Complex => {
            let Value::Object(members) = value else {
                return Err(wrong("an object with sub-attributes"));
            };
            let mut out = Map::new();
            for (name, v) in members {
                match def.sub_attribute(&name) {
                    Some(sub) if sub.mutability == Mutability::ReadOnly => {
                        ignored.push(format!("{label}.{}", sub.name))
                    }
                    Some(sub) => {
                        if out.contains_key(&sub.name) {
                            return Err(ScimError::invalid_value(format!(
                                "'{label}.{}' appears more than once",
                                sub.name
                            )));
                        }
                        let sub_label = format!("{label}.{}", sub.name);
                        if let Some(v) = canonical_single(v, sub, &sub_label, ignored)? {
                            out.insert(sub.name.clone(), v);
                        }
                    }
                    None => ignored.push(format!("{label}.{name}")),
                }
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        AttributeType::String | AttributeType::Reference => match value {
            Value::String(s) if s.is_empty() => Ok(None),
            Value::String(s) => Ok(Some(Value::String(s))),
            _ => Err(wrong("a string")),
        },
        AttributeType::Binary => match value {
            Value::String(s) if s.is_empty() => Ok(None),
            Value::String(s) => {
                use base64::Engine;
                let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
                let decodes = base64::engine::general_purpose::STANDARD.decode(&compact).is_ok()
                    || base64::engine::general_purpose::URL_SAFE.decode(&compact).is_ok();
                if decodes {
                    Ok(Some(Value::String(s)))
                } else {
                    Err(wrong("base64-encoded binary"))
                }
            }
            _ => Err(wrong("a base64-encoded string")),
        },
        AttributeType::Boolean => match value {
            Value::Bool(b) => Ok(Some(Value::Bool(b))),
            _ => Err(wrong("a boolean (true or false)")),
        },
        AttributeType::Integer => match &value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Some(value)),
            _ => Err(wrong("an integer")),
        },
        AttributeType::Decimal => match value {
            Value::Number(_) => Ok(Some(value)),
            _ => Err(wrong("a number")),
        },
        AttributeType::DateTime => match value {
            Value::String(s) if s.is_empty() => Ok(None),
            Value::String(s) if crate::json::parse_datetime(&s).is_some() => Ok(Some(Value::String(s))),
            _ => Err(wrong("an RFC 3339 date-time such as \"2024-01-31T12:00:00Z\"")),
        },
    }
}
