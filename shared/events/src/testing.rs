//! Helpers for tests of this crate and of its users (feature `test-support`).

use serde_json::Value;

use crate::change::{ResourceState, WriteKind};

/// A stored resource whose `name` and `externalId` come from the attributes.
pub fn state(id: &str, version: u64, attributes: Value, written_by: WriteKind) -> ResourceState {
    let Value::Object(attributes) = attributes else {
        panic!("attributes must be a JSON object")
    };
    ResourceState {
        id: id.into(),
        version,
        created: "2026-01-01T00:00:00Z".into(),
        last_modified: "2026-01-02T00:00:00Z".into(),
        external_id: attributes.get("externalId").and_then(Value::as_str).map(str::to_owned),
        name: attributes
            .get("userName")
            .or_else(|| attributes.get("displayName"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        attributes,
        password_hash: None,
        written_by,
    }
}

/// A user as created.
pub fn user_state(id: &str, version: u64, attributes: Value) -> ResourceState {
    state(id, version, attributes, WriteKind::Create)
}
