//! Helpers for tests of this crate and of its users (feature `test-support`).

use serde_json::{Value, json};

use crate::change::{Change, ChangeEvent, DirectoryChange, RecordOrigin, ResourceState, ResourceType, WriteKind};
use crate::feed::{SetSigner, SigningError};

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

/// The creation of user `record` in `tenant`, as the stream would report it.
pub fn user_created(tenant: &str, record: &str) -> ChangeEvent {
    ChangeEvent::of(
        &RecordOrigin {
            record_id: record.into(),
            committed_at_ms: 0,
            sequence: "1".into(),
        },
        &DirectoryChange {
            tenant: tenant.into(),
            change: Change::Created(ResourceType::User, user_state(record, 1, json!({"userName": record}))),
        },
    )
}

/// "Signs" a SET as `h.<the subject's uri>.s`, so tests can tell SETs apart.
pub struct PlainSigner;

#[async_trait::async_trait]
impl SetSigner for PlainSigner {
    async fn sign(&self, claims: &Value) -> Result<String, SigningError> {
        Ok(format!("h.{}.s", claims["sub_id"]["uri"].as_str().unwrap_or_default()))
    }
}
