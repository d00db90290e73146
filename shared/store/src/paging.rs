//! Opaque page cursors: a DynamoDB `LastEvaluatedKey`, serialised to JSON and base64url-encoded, so clients can
//! page without learning our key layout. A tampered cursor decodes to an error, never to another tenant's key: every
//! query re-applies its own key condition.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::dynamo::StoreError;

pub fn encode_cursor(key: &HashMap<String, AttributeValue>) -> Result<String, StoreError> {
    let mut plain = serde_json::Map::new();
    for (name, value) in key {
        let value = match value {
            AttributeValue::S(s) => serde_json::json!({ "S": s }),
            AttributeValue::N(n) => serde_json::json!({ "N": n }),
            other => {
                return Err(StoreError::Malformed(format!(
                    "unsupported key attribute type {other:?}"
                )));
            }
        };
        plain.insert(name.clone(), value);
    }
    let json = serde_json::to_vec(&plain).map_err(|e| StoreError::Malformed(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// The error for a cursor that is not one of ours.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("invalid cursor")]
pub struct InvalidCursor;

pub fn decode_cursor(cursor: &str) -> Result<HashMap<String, AttributeValue>, StoreError> {
    try_decode_cursor(cursor).map_err(|_| StoreError::Malformed("invalid cursor".into()))
}

pub fn try_decode_cursor(cursor: &str) -> Result<HashMap<String, AttributeValue>, InvalidCursor> {
    if cursor.len() > 2048 {
        return Err(InvalidCursor);
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| InvalidCursor)?;
    let plain: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes).map_err(|_| InvalidCursor)?;
    let mut key = HashMap::new();
    for (name, value) in plain {
        let value = match (
            value.get("S").and_then(|v| v.as_str()),
            value.get("N").and_then(|v| v.as_str()),
        ) {
            (Some(s), None) => AttributeValue::S(s.to_owned()),
            (None, Some(n)) => AttributeValue::N(n.to_owned()),
            _ => return Err(InvalidCursor),
        };
        key.insert(name, value);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let mut key = HashMap::new();
        key.insert("pk".to_owned(), AttributeValue::S("T#a".into()));
        key.insert("n".to_owned(), AttributeValue::N("5".into()));
        let cursor = encode_cursor(&key).unwrap();
        assert_eq!(decode_cursor(&cursor).unwrap(), key);
        assert!(decode_cursor("not base64 !!").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode(b"{\"pk\":{\"B\":\"x\"}}")).is_err());
    }
}
