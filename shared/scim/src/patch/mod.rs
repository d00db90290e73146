//! RFC 7644 §3.5.2 PATCH.
//!
//! 1. [`PatchRequest::parse`] checks the PatchOp message (`op` in any case, `Operations` may be empty, `path`s parsed
//!    with positioned `invalidPath` errors).
//! 2. For groups, [`take_member_operations`] moves every operation on `members` out of the request: memberships are
//!    stored as their own items, never in the group document.
//! 3. [`apply`] runs each operation through the caller's dialect (the directory service passes the Entra steps,
//!    `crate::entra_compat::patch`) and then the RFC-pure engine, and finally re-validates the whole document with
//!    the resource rules.
//!
//! Choices where RFC 7644 leaves room:
//! - `remove` whose filter matches nothing is a successful no-op (idempotent, as Entra expects), while `add` /
//!   `replace` through a value filter that matches nothing is `noTarget` (§3.5.2.3), unless the Entra step could build
//!   the element from the filter (`emails[type eq "work"].value`).
//! - An unknown attribute in a `path` is `invalidPath`; a path into an extension schema this deployment does not
//!   know is ignored (a no-op), like that extension's data in POST bodies, so an Entra mapping to an unregistered
//!   custom extension does not fail every cycle. Unknown keys inside a path-less value object are ignored too.
//! - readOnly targets are `mutability` errors; readOnly keys inside a path-less value (`id`, `meta`, `schemas`
//!   echoed back) are skipped.
//! - Setting `primary: true` on one value clears it on the others (§3.5.2).
//! - Removing a sub-attribute that leaves an element with nothing but `type`/`primary` removes the element.
//! - A required attribute removed or emptied fails with `invalidValue` when the final document is validated.

mod engine;
mod members;

use std::fmt;

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::filter::{AttrPath, Filter, column, parse_patch_path};
use crate::json::{get_ci, key_ci};
use crate::resource::{Strictness, canonicalize};
use crate::schema::{PATCH_OP_SCHEMA, ResourceKind, ResourceSchema};

pub use members::{MemberOperation, take_member_operations};

/// Most operations accepted in one PATCH request.
pub const MAX_OPERATIONS: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOp {
    Add,
    Replace,
    Remove,
}

impl PatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOp::Add => "add",
            PatchOp::Replace => "replace",
            PatchOp::Remove => "remove",
        }
    }
}

/// `attrPath / valuePath [subAttr]`: `name.givenName` is `attr = name.givenName`; `emails[type eq "work"].value` is
/// `attr = emails`, `filter = type eq "work"`, `sub_attr = value`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    pub sub_attr: Option<String>,
}

impl PatchPath {
    pub fn parse(text: &str) -> Result<Self, ScimError> {
        let (attr, filter, sub_attr) = parse_patch_path(text).map_err(|e| {
            ScimError::invalid_path(format!(
                "invalid path \"{text}\" at column {}: {}",
                column(text, e.offset),
                e.message
            ))
        })?;
        Ok(Self { attr, filter, sub_attr })
    }

    /// The attribute without any sub-attribute.
    pub fn base(&self) -> AttrPath {
        AttrPath {
            sub_attr: None,
            ..self.attr.clone()
        }
    }

    /// The sub-attribute the path ends in, either `a.b` or `a[..].b`.
    pub fn sub(&self) -> Option<&str> {
        self.sub_attr.as_deref().or(self.attr.sub_attr.as_deref())
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    pub op: PatchOp,
    pub path: Option<PatchPath>,
    /// `None` when the operation had no `value` member (only valid for `remove`).
    pub value: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PatchRequest {
    pub operations: Vec<PatchOperation>,
}

impl PatchRequest {
    /// Parses a PatchOp body (RFC 7644 §3.5.2). `schemas` may be missing (some clients omit it) but, if present,
    /// must name the PatchOp message; member names are matched case-insensitively (`Operations`/`operations`).
    pub fn parse(body: &Value) -> Result<Self, ScimError> {
        let Some(object) = body.as_object() else {
            return Err(ScimError::invalid_syntax(
                "a PATCH body must be a JSON object (a PatchOp message)",
            ));
        };
        if let Some(schemas) = get_ci(object, "schemas") {
            let names_patch_op = schemas.as_array().is_some_and(|a| {
                a.iter().any(|s| {
                    s.as_str()
                        .is_some_and(|s| s.trim().eq_ignore_ascii_case(PATCH_OP_SCHEMA))
                })
            });
            if !names_patch_op {
                return Err(ScimError::invalid_syntax(format!(
                    "'schemas' of a PATCH body must contain {PATCH_OP_SCHEMA}"
                )));
            }
        }
        let operations = match key_ci(object, "Operations").and_then(|k| object.get(&k)) {
            Some(Value::Array(items)) => items,
            Some(_) => return Err(ScimError::invalid_syntax("'Operations' must be an array")),
            None => return Err(ScimError::invalid_syntax("a PATCH body needs an 'Operations' array")),
        };
        if operations.len() > MAX_OPERATIONS {
            return Err(ScimError::invalid_syntax(format!(
                "a PATCH request may carry at most {MAX_OPERATIONS} operations"
            )));
        }
        let operations = operations
            .iter()
            .enumerate()
            .map(|(i, item)| parse_operation(i, item))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { operations })
    }

    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }
}

fn parse_operation(index: usize, item: &Value) -> Result<PatchOperation, ScimError> {
    let Some(object) = item.as_object() else {
        return Err(ScimError::invalid_syntax(format!(
            "Operations[{index}] must be an object"
        )));
    };
    let op = match get_ci(object, "op")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_ascii_lowercase())
    {
        Some(op) if op == "add" => PatchOp::Add,
        Some(op) if op == "replace" => PatchOp::Replace,
        Some(op) if op == "remove" => PatchOp::Remove,
        Some(other) => {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{index}].op is \"{other}\"; it must be add, replace or remove"
            )));
        }
        None => {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{index}] needs an 'op' (add, replace or remove)"
            )));
        }
    };
    let path = match get_ci(object, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(Value::String(text)) => Some(
            PatchPath::parse(text.trim())
                .map_err(|e| ScimError::invalid_path(format!("Operations[{index}]: {}", e.detail)))?,
        ),
        Some(_) => {
            return Err(ScimError::invalid_path(format!(
                "Operations[{index}].path must be a string"
            )));
        }
    };
    let value = key_ci(object, "value").and_then(|k| object.get(&k)).cloned();
    if op != PatchOp::Remove && value.is_none() {
        return Err(ScimError::invalid_syntax(format!(
            "Operations[{index}] ({}) needs a 'value'",
            op.as_str()
        )));
    }
    Ok(PatchOperation { op, path, value })
}

/// What a PATCH did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatchOutcome {
    /// False when the document is exactly as before and no password was set (the service can skip the write and
    /// keep the version).
    pub changed: bool,
    /// A password the request set (write-only: hash it; it never enters the document).
    pub password: Option<String>,
}

/// Applies a PATCH request to a stored resource document (as produced by [`crate::resource::prepare_create`] or a
/// previous `apply`; `id` and `meta`, if the caller keeps them in the document, are preserved untouched).
///
/// `normalize` is the client dialect's rewrite of one operation into RFC form, given the document as the earlier
/// operations left it (a path-less operation may become several); RFC clients need none (`|op, _| vec![op]`).
///
/// All-or-nothing: on error `doc` is left unchanged. For groups, call [`take_member_operations`] first; an
/// operation on `members` reaching this function is reported as an error instead of silently writing members into
/// the document.
pub fn apply(
    doc: &mut Value,
    request: &PatchRequest,
    schema: &ResourceSchema,
    normalize: impl Fn(PatchOperation, &Map<String, Value>) -> Vec<PatchOperation>,
) -> Result<PatchOutcome, ScimError> {
    let original = doc.clone();
    let mut working = original.as_object().cloned().unwrap_or_default();
    for operation in &request.operations {
        for step in normalize(operation.clone(), &working) {
            engine::apply_operation(&mut working, &step, schema)?;
        }
    }
    engine::settle_primaries(&mut working, schema);

    let mut ignored = Vec::new();
    let canonical = canonicalize(working, schema, Strictness::Patched, &mut ignored)?;
    if schema.kind == ResourceKind::Group && canonical.members_specified {
        return Err(ScimError::new(
            500,
            None,
            "member operations must be taken out of the request with take_member_operations before apply",
        ));
    }
    let mut result = canonical.document;
    if let Some(original) = original.as_object() {
        for key in ["id", "meta"] {
            if let Some(v) = get_ci(original, key) {
                result.insert(key.to_owned(), v.clone());
            }
        }
    }
    let result = Value::Object(result);
    // A new password changes the resource even though it never enters the document.
    let changed = result != original || canonical.password.is_some();
    *doc = result;
    Ok(PatchOutcome {
        changed,
        password: canonical.password,
    })
}
