//! Group membership operations, taken out of a PATCH request because memberships are stored as their own items.

use serde_json::Value;

use super::{PatchOp, PatchOperation, PatchRequest};
use crate::error::ScimError;
use crate::filter::{CompValue, CompareOp, Filter};
use crate::json::key_ci;
use crate::resource::{MemberRef, parse_members};
use crate::schema::GROUP_SCHEMA;

/// One change to a group's members, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberOperation {
    /// Add these members; adding an existing member is a no-op (no 409).
    Add(Vec<MemberRef>),
    /// Remove exactly these member ids (absent ones are ignored).
    Remove(Vec<String>),
    /// Remove every member: only for `remove` of `members` with neither a value nor a filter (RFC 7644 §3.5.2.2).
    RemoveAll,
    /// The group's members become exactly these.
    Replace(Vec<MemberRef>),
}

fn is_members(path: &crate::filter::AttrPath) -> bool {
    path.name.eq_ignore_ascii_case("members")
        && path
            .schema
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case(GROUP_SCHEMA))
}

/// Moves every operation on `members` out of `request` and returns them in order. Both of Entra's removal shapes,
/// `{"op":"Remove","path":"members","value":[{"value":"<id>"}]}` and `{"op":"Remove","path":"members[value eq "<id>"]"}`,
/// become [`MemberOperation::Remove`] of just those ids; `members` inside a path-less add/replace value is taken too.
pub fn take_member_operations(request: &mut PatchRequest) -> Result<Vec<MemberOperation>, ScimError> {
    let mut taken = Vec::new();
    let mut kept = Vec::with_capacity(request.operations.len());
    for mut operation in std::mem::take(&mut request.operations) {
        match &operation.path {
            Some(path) if is_members(&path.attr) => {
                if path.sub().is_some() {
                    return Err(ScimError::invalid_path(format!(
                        "path \"{path}\": members are added or removed whole; their sub-attributes cannot be patched"
                    )));
                }
                taken.push(member_operation(&operation)?);
            }
            None if operation.op != PatchOp::Remove => {
                if let Some(Value::Object(attributes)) = &mut operation.value
                    && let Some(key) = key_ci(attributes, "members")
                    && let Some(members) = attributes.remove(&key)
                {
                    let members = parse_members(&members)?;
                    taken.push(match operation.op {
                        PatchOp::Replace => MemberOperation::Replace(members),
                        _ => MemberOperation::Add(members),
                    });
                    if attributes.is_empty() {
                        continue;
                    }
                }
                kept.push(operation);
            }
            _ => kept.push(operation),
        }
    }
    request.operations = kept;
    taken.retain(|op| !matches!(op, MemberOperation::Add(list) if list.is_empty()));
    Ok(taken)
}

fn member_operation(operation: &PatchOperation) -> Result<MemberOperation, ScimError> {
    let path = operation.path.as_ref();
    let filter = path.and_then(|p| p.filter.as_ref());
    match (operation.op, filter) {
        (PatchOp::Remove, Some(filter)) => {
            let mut ids = Vec::new();
            collect_member_ids(filter, &mut ids)?;
            if let Some(value) = operation.value.as_ref().filter(|v| !v.is_null()) {
                ids.extend(parse_members(value)?.into_iter().map(|m| m.value));
            }
            let mut unique: Vec<String> = Vec::with_capacity(ids.len());
            for id in ids {
                if !unique.contains(&id) {
                    unique.push(id);
                }
            }
            Ok(MemberOperation::Remove(unique))
        }
        (PatchOp::Remove, None) => match operation.value.as_ref() {
            None | Some(Value::Null) => Ok(MemberOperation::RemoveAll),
            Some(value) => {
                let ids: Vec<String> = parse_members(value)?.into_iter().map(|m| m.value).collect();
                // A value that names nobody (`[]`) removes nobody: never widen a targeted removal into "everyone".
                Ok(MemberOperation::Remove(ids))
            }
        },
        (_, Some(_)) => Err(ScimError::invalid_path(format!(
            "path \"{}\": members cannot be {} through a value filter; add or remove them by id",
            path.map(ToString::to_string).unwrap_or_default(),
            if operation.op == PatchOp::Add {
                "added"
            } else {
                "replaced"
            }
        ))),
        (PatchOp::Add, None) => Ok(MemberOperation::Add(parse_members(
            operation.value.as_ref().unwrap_or(&Value::Null),
        )?)),
        (PatchOp::Replace, None) => Ok(MemberOperation::Replace(parse_members(
            operation.value.as_ref().unwrap_or(&Value::Null),
        )?)),
    }
}

/// The ids of `value eq "<id>"` terms joined by `or` (the only member filters that can be answered without reading
/// member records).
fn collect_member_ids(filter: &Filter, ids: &mut Vec<String>) -> Result<(), ScimError> {
    match filter {
        Filter::Or(a, b) => {
            collect_member_ids(a, ids)?;
            collect_member_ids(b, ids)
        }
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(id),
        } if path.is("value", None) && path.schema.is_none() => {
            ids.push(id.clone());
            Ok(())
        }
        other => Err(ScimError::invalid_filter(format!(
            "member filter \"{other}\" is not supported: use members[value eq \"<id>\"] (optionally joined with or)"
        ))),
    }
}
