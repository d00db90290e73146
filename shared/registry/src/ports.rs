//! Storage the registry needs. `wif-store`'s ClientRepository implements it over the Clients table.

use wif_auth::ports::StoreUnavailable;
use wif_auth::registration::Registration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationWriteError {
    #[error("client_id already exists")]
    AlreadyExists,
    #[error("version mismatch or registration gone")]
    VersionConflict,
    #[error(transparent)]
    Unavailable(#[from] StoreUnavailable),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistrationPage {
    pub items: Vec<Registration>,
    pub next_cursor: Option<String>,
}

#[async_trait::async_trait]
pub trait RegistrationStore: Send + Sync {
    async fn insert(&self, registration: &Registration) -> Result<(), RegistrationWriteError>;
    async fn get(&self, client_id: &str) -> Result<Option<Registration>, StoreUnavailable>;
    /// Replaces the registration only if its stored version is still `expected_version`.
    async fn replace(&self, registration: &Registration, expected_version: u64) -> Result<(), RegistrationWriteError>;
    /// Deletes; `Ok(false)` when there was nothing to delete.
    async fn delete(&self, client_id: &str, expected_version: Option<u64>) -> Result<bool, RegistrationWriteError>;
    /// A page of registrations (of one tenant when given). `cursor` is opaque; a bad cursor is `Err(None)`-like
    /// invalid input, reported as [`ListError::InvalidCursor`].
    async fn list(
        &self,
        tenant_id: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<RegistrationPage, ListError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("cursor is not valid")]
    InvalidCursor,
    #[error(transparent)]
    Unavailable(#[from] StoreUnavailable),
}

/// Which audit events to read (`GET /audit`). A tenant or a client is required (the Audit table is partitioned by
/// tenant and indexed by client; there is deliberately no "scan everything"); times are inclusive Unix seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub cursor: Option<String>,
    pub limit: u32,
    /// Newest first when true.
    pub descending: bool,
}

/// A page of events: the admin API's wire type, which the store fills in directly.
pub use wif_admin_api::AuditPage;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditQueryError {
    /// The cursor is not one this query returned (garbage, or a cursor of another tenant or client).
    #[error("cursor is not valid for this query")]
    InvalidCursor,
    #[error(transparent)]
    Unavailable(#[from] StoreUnavailable),
}

/// Read access to the audit trail. `wif-store`'s AuditRepository implements it over the Audit table.
#[async_trait::async_trait]
pub trait AuditLog: Send + Sync {
    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, AuditQueryError>;
}
