//! The audit trail's record and the trait every writer of it uses. Token grants and denials, SCIM writes and
//! admin changes all become [`AuditEvent`]s; the store crate persists them (with TTL retention) and they are also
//! logged as structured JSON. Events never carry secrets: no assertion, access token or client secret value.

use serde::{Deserialize, Serialize};

/// What happened, in one of three families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditCategory {
    Token,
    Scim,
    Admin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Unix seconds.
    pub at: i64,
    pub category: AuditCategory,
    /// e.g. `token.granted`, `token.denied`, `scim.user.create`, `admin.client.update`.
    pub action: String,
    /// `success`, `denied` or `error`, or an HTTP-ish outcome such as `409`.
    pub outcome: String,
    /// The ISV-side tenant, when known (a denial for an unknown client has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Who acted: the IAM principal for admin calls, `client:<id>` for SCIM and token calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The SCIM resource or registration the action touched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// Full reason for a denial or failure (the client only sees a shorter description).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Action-specific details (iss, sub, tid, kid, scopes, ...). Never secrets.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl AuditEvent {
    pub fn new(at: i64, category: AuditCategory, action: impl Into<String>, outcome: impl Into<String>) -> Self {
        Self {
            at,
            category,
            action: action.into(),
            outcome: outcome.into(),
            tenant_id: None,
            client_id: None,
            actor: None,
            resource_id: None,
            reason: None,
            request_id: None,
            source_ip: None,
            user_agent: None,
            details: serde_json::Map::new(),
        }
    }

    pub fn detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// Emits the event as one structured log line (target `audit`), so CloudWatch has it even if the table write
    /// fails.
    pub fn log(&self) {
        let json = serde_json::to_string(self).unwrap_or_default();
        tracing::info!(target: "audit", audit = %json, action = %self.action, outcome = %self.outcome, "audit event");
    }
}

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
