//! The audit trail's sink: the trait every writer of it uses. Token grants and denials, SCIM writes and admin
//! changes all become [`AuditEvent`]s; the store crate persists them (with TTL retention) and they are also logged
//! as structured JSON. The event itself is a wire type of the admin API (`GET /audit` returns it as recorded), so it
//! is defined in `wif-admin-api` and re-exported here. Events never carry secrets: no assertion, access token or
//! client secret value.

pub use wif_admin_api::audit::{AuditCategory, AuditEvent};

#[derive(Debug, thiserror::Error)]
#[error("audit write failed: {0}")]
pub struct AuditError(pub String);

/// Persists audit events. Implementations must not fail the caller's request for a lost audit write silently:
/// they return the error and the caller decides (the token endpoint logs and continues; a SCIM write already
/// happened and is logged either way).
#[async_trait::async_trait]
pub trait AuditSink: Send + Sync {
    async fn record(&self, event: AuditEvent) -> Result<(), AuditError>;
}

/// Writes each event to the log only; for tools and tests that have no table.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogOnlyAudit;

#[async_trait::async_trait]
impl AuditSink for LogOnlyAudit {
    async fn record(&self, event: AuditEvent) -> Result<(), AuditError> {
        event.log();
        Ok(())
    }
}
