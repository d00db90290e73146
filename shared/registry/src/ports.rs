//! Storage the registry needs. `wif-store`'s ClientRepository implements it over the Clients table.

use wif_auth::ports::StoreUnavailable;
use wif_auth::registration::{Registration, Trust};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationWriteError {
    #[error("client_id already exists")]
    AlreadyExists,
    #[error("version mismatch or registration gone")]
    VersionConflict,
    /// Another registration holds this (issuer, subject, audience); `holder` is `None` when it could not be read
    /// (it was removed meanwhile).
    #[error("the trust is held by another registration")]
    TrustTaken { trust: Trust, holder: Option<TrustHolder> },
    #[error(transparent)]
    Unavailable(#[from] StoreUnavailable),
}

/// The registration that holds a trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustHolder {
    pub client_id: String,
    pub tenant_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistrationPage {
    pub items: Vec<Registration>,
    pub next_cursor: Option<String>,
}

/// Registrations and the uniqueness markers of their trusts. Every write moves the markers in the same transaction
/// as the registration: a trust is never claimed twice, and never left claimed by a registration that no longer
/// has it.
#[async_trait::async_trait]
pub trait RegistrationStore: Send + Sync {
    /// Stores a new registration with a marker per trust.
    async fn insert(&self, registration: &Registration) -> Result<(), RegistrationWriteError>;
    /// Strongly consistent.
    async fn get(&self, client_id: &str) -> Result<Option<Registration>, StoreUnavailable>;
    /// Replaces `current` by `updated` only if the stored version is still `current.version`, adding the markers of
    /// trusts `updated` gains (all of them when `current.markers_pending`) and removing those it loses.
    async fn replace(&self, current: &Registration, updated: &Registration) -> Result<(), RegistrationWriteError>;
    /// Deletes `current` (only at its version) and its markers; `Ok(false)` when there was nothing to delete.
    async fn delete(&self, current: &Registration) -> Result<bool, RegistrationWriteError>;
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
