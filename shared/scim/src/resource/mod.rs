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

mod canonical;
pub mod meta;

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::json::{equal_typed, get_ci, is_unassigned};
use crate::schema::{Mutability, ResourceKind, ResourceSchema, SchemaDef, fold_case};

pub(crate) use canonical::{Strictness, canonicalize};
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
