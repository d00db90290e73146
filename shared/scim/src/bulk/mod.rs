//! SCIM Bulk (RFC 7644 §3.7), the pure part: parsing a BulkRequest ([`parse`]), the `bulkId` cross-references and
//! the order operations run in ([`order`]), and the BulkResponse ([`response`]). The directory service runs each
//! operation through its ordinary create / replace / patch / delete entry points.
//!
//! Bulk is not a transaction (RFC 7644 §3.7): every operation is its own atomic write. An operation that fails
//! leaves nothing behind and does not undo the ones before it.

pub mod order;
pub mod response;

use serde_json::Value;

use crate::error::{ScimError, ScimType};
use crate::schema::ResourceKind;

pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// The prefix of a reference to the resource another operation of the same request creates (RFC 7644 §3.7.2).
pub const BULK_ID_PREFIX: &str = "bulkId:";

/// What one Bulk request may hold (advertised in `/ServiceProviderConfig` `bulk`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkLimits {
    pub max_operations: usize,
    pub max_payload_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMethod {
    Post,
    Put,
    Patch,
    Delete,
}

impl BulkMethod {
    fn parse(method: &str) -> Option<Self> {
        match method.to_ascii_uppercase().as_str() {
            "POST" => Some(Self::Post),
            "PUT" => Some(Self::Put),
            "PATCH" => Some(Self::Patch),
            "DELETE" => Some(Self::Delete),
            _ => None,
        }
    }
}

/// The resource an operation on an existing resource names: by id, or by the `bulkId` of the operation creating it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceRef {
    Id(String),
    BulkId(String),
}

/// A well-formed operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub method: BulkMethod,
    pub kind: ResourceKind,
    /// `None` for POST (to the collection), the resource for PUT / PATCH / DELETE.
    pub target: Option<ResourceRef>,
    /// The `version` (an ETag), used as If-Match.
    pub version: Option<String>,
    /// The body of POST / PUT / PATCH (`Value::Null` for DELETE).
    pub data: Value,
}

/// One entry of `Operations` as sent: the `method` and `bulkId` echoed in the response, and the operation or why it
/// is malformed (a malformed operation fails alone).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestedOperation {
    pub method: String,
    pub bulk_id: Option<String>,
    pub parsed: Result<Operation, ScimError>,
}

/// A parsed BulkRequest.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRequest {
    /// Stop after this many errors (`failOnErrors`); `None` runs every operation.
    pub fail_on_errors: Option<usize>,
    pub operations: Vec<RequestedOperation>,
}

/// 413 `tooMany`: the request is larger than the advertised limits.
pub fn too_large(detail: impl Into<String>) -> ScimError {
    ScimError::new(413, Some(ScimType::TooMany), detail)
}

/// Checks the body size before it is parsed.
pub fn check_payload(size: usize, limits: &BulkLimits) -> Result<(), ScimError> {
    if size > limits.max_payload_bytes {
        return Err(too_large(format!(
            "the bulk request is {size} bytes; maxPayloadSize is {}",
            limits.max_payload_bytes
        )));
    }
    Ok(())
}

/// Parses a BulkRequest body. Whole-request problems (not a BulkRequest, too many operations) are errors; a
/// malformed operation is kept, with its error, in [`RequestedOperation::parsed`].
pub fn parse(body: &Value, limits: &BulkLimits) -> Result<BulkRequest, ScimError> {
    let object = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a BulkRequest is a JSON object"))?;
    let declared = object.get("schemas").and_then(Value::as_array);
    if !declared.is_some_and(|s| s.iter().any(|v| v.as_str() == Some(BULK_REQUEST_SCHEMA))) {
        return Err(ScimError::invalid_syntax(format!(
            "'schemas' must contain \"{BULK_REQUEST_SCHEMA}\""
        )));
    }
    let fail_on_errors = match object.get("failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => {
                return Err(ScimError::invalid_value(
                    "'failOnErrors' must be an integer of at least 1",
                ));
            }
        },
    };
    let operations = object
        .get("Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("'Operations' must be an array"))?;
    if operations.len() > limits.max_operations {
        return Err(too_large(format!(
            "the bulk request has {} operations; maxOperations is {}",
            operations.len(),
            limits.max_operations
        )));
    }
    Ok(BulkRequest {
        fail_on_errors,
        operations: operations.iter().map(requested_operation).collect(),
    })
}

fn requested_operation(entry: &Value) -> RequestedOperation {
    let text = |name: &str| entry.get(name).and_then(Value::as_str).map(str::to_owned);
    RequestedOperation {
        method: text("method").unwrap_or_default(),
        bulk_id: text("bulkId"),
        parsed: operation(entry),
    }
}

fn operation(entry: &Value) -> Result<Operation, ScimError> {
    let entry = entry
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("an operation is a JSON object"))?;
    let method_text = entry.get("method").and_then(Value::as_str).unwrap_or_default();
    let method = BulkMethod::parse(method_text).ok_or_else(|| {
        ScimError::invalid_syntax(format!(
            "operation method \"{method_text}\" is not one of POST, PUT, PATCH, DELETE"
        ))
    })?;
    let bulk_id = entry.get("bulkId");
    if bulk_id.is_some_and(|b| b.as_str().is_none_or(str::is_empty)) {
        return Err(ScimError::invalid_syntax("'bulkId' must be a non-empty string"));
    }
    if method == BulkMethod::Post && bulk_id.is_none() {
        return Err(ScimError::invalid_syntax(
            "a POST operation needs a 'bulkId' (RFC 7644 §3.7)",
        ));
    }
    let path = entry
        .get("path")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_syntax("an operation needs a 'path'"))?;
    let (kind, target) = parse_path(path)?;
    if (method == BulkMethod::Post) != target.is_none() {
        return Err(ScimError::invalid_path(format!(
            "{method_text} needs {}, not \"{path}\"",
            if method == BulkMethod::Post {
                "a resource endpoint (/Users or /Groups)"
            } else {
                "a resource path (/Users/{id} or /Groups/{id})"
            }
        )));
    }
    let data = entry.get("data").cloned().unwrap_or(Value::Null);
    if method != BulkMethod::Delete && !data.is_object() {
        return Err(ScimError::invalid_syntax(format!(
            "{method_text} needs a 'data' object"
        )));
    }
    let version = entry.get("version").and_then(Value::as_str).map(str::to_owned);
    Ok(Operation {
        method,
        kind,
        target,
        version,
        data,
    })
}

/// `/Users`, `/Groups`, `/Users/{id}`, `/Groups/bulkId:{bulkId}`.
fn parse_path(path: &str) -> Result<(ResourceKind, Option<ResourceRef>), ScimError> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let kind = match segments[0] {
        s if s.eq_ignore_ascii_case("Users") => ResourceKind::User,
        s if s.eq_ignore_ascii_case("Groups") => ResourceKind::Group,
        _ => {
            return Err(ScimError::invalid_path(format!(
                "\"{path}\" is not a /Users or /Groups path"
            )));
        }
    };
    match segments.as_slice() {
        [_] => Ok((kind, None)),
        [_, id] if !id.is_empty() => {
            let target = match id.strip_prefix(BULK_ID_PREFIX) {
                Some(bulk_id) if !bulk_id.is_empty() => ResourceRef::BulkId(bulk_id.to_owned()),
                _ => ResourceRef::Id((*id).to_owned()),
            };
            Ok((kind, Some(target)))
        }
        _ => Err(ScimError::invalid_path(format!(
            "\"{path}\" is not a /Users or /Groups path"
        ))),
    }
}

#[cfg(test)]
mod tests;
