//! The BulkResponse (RFC 7644 §3.7.3): one entry per operation that ran, in request order, each with the `method`
//! and `bulkId` it was sent with and its `status`; a success names the resource (`location`, `version`), a failure
//! carries the SCIM error in `response`.

use serde_json::{Map, Value, json};

use super::BULK_RESPONSE_SCHEMA;
use crate::error::ScimError;

/// A successful operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub status: u16,
    pub location: Option<String>,
    /// The resource's ETag after the operation.
    pub version: Option<String>,
}

/// How one operation ended.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationResult {
    /// Its position in the request.
    pub index: usize,
    pub method: String,
    pub bulk_id: Option<String>,
    pub outcome: Result<Done, ScimError>,
}

fn entry(result: OperationResult) -> Value {
    let mut entry = Map::new();
    entry.insert("method".into(), json!(result.method));
    if let Some(bulk_id) = result.bulk_id {
        entry.insert("bulkId".into(), json!(bulk_id));
    }
    match result.outcome {
        Ok(done) => {
            if let Some(location) = done.location {
                entry.insert("location".into(), json!(location));
            }
            if let Some(version) = done.version {
                entry.insert("version".into(), json!(version));
            }
            entry.insert("status".into(), json!(done.status.to_string()));
        }
        Err(err) => {
            entry.insert("status".into(), json!(err.status.to_string()));
            entry.insert("response".into(), err.to_json());
        }
    }
    Value::Object(entry)
}

/// The BulkResponse body, operations in request order.
pub fn bulk_response(mut results: Vec<OperationResult>) -> Value {
    results.sort_by_key(|r| r.index);
    json!({
        "schemas": [BULK_RESPONSE_SCHEMA],
        "Operations": results.into_iter().map(entry).collect::<Vec<_>>(),
    })
}
