//! Resource rules for POST (create) and PUT (replace), RFC 7643 §2 / RFC 7644 §3.3 and §3.5.1.
//!
//! The pipeline for a body: the caller's dialect rewrites it into RFC form (the directory service passes the Entra
//! steps, `crate::entra_compat::resource`), then the RFC-pure canonicalisation here:
//! - `id`, `meta` and every other readOnly attribute are dropped (the server owns them);
//! - null, `""`, `[]` and empty objects are unassigned (RFC 7643 §2.5) and dropped;
//! - every known attribute is type-checked (`invalidValue` names the attribute) and stored under its canonical name;
//! - unknown attributes and data of unknown extension schemas are ignored (listed in [`PreparedResource::ignored`]);
//! - `schemas` is recomputed: the core URN plus each extension that has data;
//! - required attributes (`userName`, group `displayName`) must be present;
//! - `password` (writeOnly) leaves the document and is handed over separately for hashing;
//! - a group's `members` leave the document too ([`PreparedResource::members`]): memberships are stored as their own
//!   items;
//! - more than one `"primary": true` in a multi-valued attribute is `invalidValue` (RFC 7643 §2.4 allows at most one;
//!   PATCH instead moves the flag, as RFC 7644 §3.5.2 prescribes);
//! - on replace, changing an immutable attribute that has a value is `mutability`.

pub mod meta;

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::json::{equal_typed, get_ci, is_unassigned};
use crate::schema::{AttributeDef, AttributeType, Mutability, ResourceKind, ResourceSchema, SchemaDef, fold_case};

pub use meta::{EntityTag, EntityTags, Meta, check_if_match, format_etag, if_none_match_hits, parse_etag_list};

/// A group member as the client names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberRef {
    /// The member resource's `id`.
    pub value: String,
    /// `User` or `Group` when the client said.
    pub member_type: Option<String>,
}

/// A validated, canonical resource ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedResource {
    /// The client-writable attributes in canonical form, with `schemas`; no `id`, `meta`, `password` or `members`.
    pub document: Value,
    /// The cleartext password the client set (write-only: hash it, never store or return it). On PUT, `None` means
    /// the body carried no password: keep the stored hash (a client cannot read it back to resend it).
    pub password: Option<String>,
    /// Groups: the members named in the body, deduplicated, in order.
    pub members: Vec<MemberRef>,
    /// Whether the body had a `members` attribute at all (a PUT without it replaces the members with none, per
    /// RFC 7644 §3.5.1; the service may choose to treat absence as "unchanged").
    pub members_specified: bool,
    /// Attributes that were dropped or rewritten on the way (readOnly, unknown, Entra normalisations), for debug logs.
    pub ignored: Vec<String>,
}

impl PreparedResource {
    pub fn index_keys(&self, schema: &ResourceSchema) -> IndexKeys {
        index_keys(&self.document, schema)
    }
}

/// The values the directory keeps unique or indexed, read from a canonical document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexKeys {
    /// As sent (case preserved); unique per tenant case-insensitively (compare [`IndexKeys::user_name_key`]).
    pub user_name: Option<String>,
    /// caseExact (RFC 7643 §3.1).
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    /// The `value` of the work e-mail (the primary one when there are several): Entra looks users up by
    /// `emails[type eq "work"].value eq ".."`.
    pub work_email: Option<String>,
}

impl IndexKeys {
    pub fn user_name_key(&self) -> Option<String> {
        self.user_name.as_deref().map(fold_case)
    }

    pub fn display_name_key(&self) -> Option<String> {
        self.display_name.as_deref().map(fold_case)
    }

    pub fn work_email_key(&self) -> Option<String> {
        self.work_email.as_deref().map(fold_case)
    }
}

/// Reads the index values out of a canonical (stored or prepared) document.
pub fn index_keys(doc: &Value, schema: &ResourceSchema) -> IndexKeys {
    let Some(object) = doc.as_object() else {
        return IndexKeys::default();
    };
    let text = |name: &str| get_ci(object, name).and_then(Value::as_str).map(str::to_owned);
    let work_email = match schema.kind {
        ResourceKind::User => get_ci(object, "emails").and_then(Value::as_array).and_then(|emails| {
            let work: Vec<&Map<String, Value>> = emails
                .iter()
                .filter_map(Value::as_object)
                .filter(|e| {
                    get_ci(e, "type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t.eq_ignore_ascii_case("work"))
                })
                .collect();
            let chosen = work
                .iter()
                .find(|e| get_ci(e, "primary").and_then(Value::as_bool) == Some(true))
                .or(work.first())?;
            get_ci(chosen, "value").and_then(Value::as_str).map(str::to_owned)
        }),
        ResourceKind::Group => None,
    };
    IndexKeys {
        user_name: match schema.kind {
            ResourceKind::User => text("userName"),
            ResourceKind::Group => None,
        },
        external_id: text("externalId"),
        display_name: text("displayName"),
        work_email,
    }
}

/// Validates and canonicalises a POST body. `normalize` is the client dialect's rewrite of the body into RFC form
/// (it runs first and notes what it changed in [`PreparedResource::ignored`]); RFC clients need none.
pub fn prepare_create(
    schema: &ResourceSchema,
    body: Value,
    normalize: impl FnOnce(&mut Map<String, Value>, &mut Vec<String>),
) -> Result<PreparedResource, ScimError> {
    let Value::Object(mut object) = body else {
        return Err(ScimError::invalid_syntax("the request body must be a JSON object"));
    };
    let mut ignored = Vec::new();
    normalize(&mut object, &mut ignored);
    let canonical = canonicalize(object, schema, Strictness::Request, &mut ignored)?;
    Ok(PreparedResource {
        document: Value::Object(canonical.document),
        password: canonical.password,
        members: canonical.members,
        members_specified: canonical.members_specified,
        ignored,
    })
}

/// Validates and canonicalises a PUT body against the stored document: as [`prepare_create`], plus immutable
/// attributes that have a value must keep it (RFC 7644 §3.5.1).
pub fn prepare_replace(
    schema: &ResourceSchema,
    existing: &Value,
    body: Value,
    normalize: impl FnOnce(&mut Map<String, Value>, &mut Vec<String>),
) -> Result<PreparedResource, ScimError> {
    let prepared = prepare_create(schema, body, normalize)?;
    if let (Some(old), Some(new)) = (existing.as_object(), prepared.document.as_object()) {
        check_immutable(schema, old, new)?;
    }
    Ok(prepared)
}

fn check_immutable(
    schema: &ResourceSchema,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Result<(), ScimError> {
    let scopes = std::iter::once((None::<&SchemaDef>, &schema.common))
        .chain(std::iter::once((None, &schema.core.attributes)))
        .chain(
            schema
                .extensions
                .iter()
                .map(|e| (Some(&e.schema), &e.schema.attributes)),
        );
    for (extension, attributes) in scopes {
        let scope = |doc: &Map<String, Value>| -> Option<Map<String, Value>> {
            match extension {
                Some(ext) => get_ci(doc, &ext.id).and_then(Value::as_object).cloned(),
                None => Some(doc.clone()),
            }
        };
        let (Some(old_scope), new_scope) = (scope(old), scope(new).unwrap_or_default()) else {
            continue;
        };
        for attr in attributes.iter() {
            let before = get_ci(&old_scope, &attr.name).filter(|v| !is_unassigned(v));
            let after = get_ci(&new_scope, &attr.name).filter(|v| !is_unassigned(v));
            if attr.mutability == Mutability::Immutable {
                if let Some(before) = before
                    && !after.is_some_and(|a| equal_typed(before, a, attr))
                {
                    return Err(ScimError::mutability(format!(
                        "'{}' is immutable and cannot be changed",
                        attr.name
                    )));
                }
            } else if attr.is_complex() && !attr.multi_valued {
                for sub in attr
                    .sub_attributes
                    .iter()
                    .filter(|s| s.mutability == Mutability::Immutable)
                {
                    let old_sub = before.and_then(Value::as_object).and_then(|o| get_ci(o, &sub.name));
                    let new_sub = after.and_then(Value::as_object).and_then(|o| get_ci(o, &sub.name));
                    if let Some(old_sub) = old_sub.filter(|v| !is_unassigned(v))
                        && !new_sub.is_some_and(|n| equal_typed(old_sub, n, sub))
                    {
                        return Err(ScimError::mutability(format!(
                            "'{}.{}' is immutable and cannot be changed",
                            attr.name, sub.name
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

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
    let mut document = Map::new();
    let mut password = None;
    let mut members = Vec::new();
    let mut members_specified = false;
    let mut seen: Vec<String> = Vec::new();

    for (key, value) in object {
        let folded = key.to_ascii_lowercase();
        if seen.contains(&folded) {
            return Err(ScimError::invalid_value(format!(
                "attribute '{key}' appears more than once"
            )));
        }
        seen.push(folded);

        if key.eq_ignore_ascii_case("schemas") {
            check_schemas_member(&value)?;
            continue;
        }
        if let Some(ext) = schema.extension(&key) {
            match value {
                Value::Object(inner) => {
                    let mut out = Map::new();
                    for (name, v) in inner {
                        match ext.schema.attribute(&name) {
                            Some(def) => put_attribute(&mut out, def, v, &ext.schema.id, strictness, ignored)?,
                            None => ignored.push(format!("{}:{name}", ext.schema.id)),
                        }
                    }
                    if !out.is_empty() {
                        document.insert(ext.schema.id.clone(), Value::Object(out));
                    }
                }
                Value::Null => {}
                _ => {
                    return Err(ScimError::invalid_value(format!(
                        "'{}' must be an object holding the extension's attributes",
                        ext.schema.id
                    )));
                }
            }
            continue;
        }
        if schema.kind == ResourceKind::Group && key.eq_ignore_ascii_case("members") {
            members_specified = true;
            members = parse_members(&value)?;
            continue;
        }
        match schema.top_level(&key) {
            Some(def) if def.mutability == Mutability::WriteOnly && def.name == "password" => match value {
                Value::String(s) if !s.is_empty() => password = Some(s),
                Value::Null => {}
                Value::String(_) => {}
                _ => return Err(ScimError::invalid_value("'password' must be a string")),
            },
            Some(def) if def.mutability == Mutability::ReadOnly => ignored.push(def.name.clone()),
            Some(def) => put_attribute(&mut document, def, value, "", strictness, ignored)?,
            None => ignored.push(key),
        }
    }

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

    let schemas: Vec<Value> = schema
        .schema_urns()
        .filter(|urn| schema.core.is(urn) || document.contains_key(*urn))
        .map(|urn| Value::String(urn.to_owned()))
        .collect();
    document.insert("schemas".into(), Value::Array(schemas));

    Ok(Canonical {
        document,
        password,
        members,
        members_specified,
    })
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

/// Group `members` from a body or a PATCH value: objects with a `value` (the member id) and optional `type`; a bare
/// string is taken as the id. Duplicates collapse.
pub(crate) fn parse_members(value: &Value) -> Result<Vec<MemberRef>, ScimError> {
    let items: Vec<&Value> = match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    let mut out: Vec<MemberRef> = Vec::new();
    for item in items {
        let member = match item {
            Value::String(id) if !id.trim().is_empty() => MemberRef {
                value: id.trim().to_owned(),
                member_type: None,
            },
            Value::Object(o) => {
                let id = get_ci(o, "value")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty());
                let Some(id) = id else {
                    return Err(ScimError::invalid_value(
                        "each member needs a 'value' holding the member's id",
                    ));
                };
                MemberRef {
                    value: id.to_owned(),
                    member_type: get_ci(o, "type").and_then(Value::as_str).map(str::to_owned),
                }
            }
            Value::Null => continue,
            _ => {
                return Err(ScimError::invalid_value(
                    "each member must be an object with a 'value' (the member's id)",
                ));
            }
        };
        if !out.iter().any(|m| m.value == member.value) {
            out.push(member);
        }
    }
    Ok(out)
}
