//! The admin API's request and response bodies, as this client sends and reads them. Unknown response members are
//! ignored (a newer server may add some); request bodies leave out what the caller did not set.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretInfo {
    pub secret_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub status: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub tenant_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub issuer: String,
    pub jwks_uri: String,
    pub subject: String,
    pub audience: String,
    #[serde(default)]
    pub expected_tid: Option<String>,
    pub scopes: Vec<String>,
    pub token_lifetime_seconds: u32,
    pub allowed_algorithms: Vec<String>,
    pub enabled: bool,
    pub wif_enabled: bool,
    pub secrets_enabled: bool,
    #[serde(default)]
    pub secrets: Vec<SecretInfo>,
    pub version: u64,
    pub created_at: i64,
    pub updated_at: i64,
    pub token_url: String,
    pub scim_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientPage {
    pub clients: Vec<Client>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// `POST /clients`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NewClient {
    /// The four federation values; all absent for a secrets-only client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_lifetime_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_tid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_algorithms: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wif_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets_enabled: Option<bool>,
}

/// `PATCH /clients/{id}`: `version` is the version the change is based on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClientUpdate {
    pub version: u64,
    /// Only accepted for a secrets-only client that has no issuer yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_lifetime_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_tid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_algorithms: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wif_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets_enabled: Option<bool>,
}

impl ClientUpdate {
    /// Whether anything besides the version is set.
    pub fn is_empty(&self) -> bool {
        *self
            == ClientUpdate {
                version: self.version,
                ..Default::default()
            }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    pub client_id: String,
    pub deleted: bool,
    pub revoked_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensRevoked {
    pub client_id: String,
    pub revoked_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    #[serde(default)]
    pub skipped: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionReport {
    pub client_id: String,
    pub ok: bool,
    pub checks: Vec<Check>,
}

/// `POST /clients/{id}/secrets` options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NewSecret {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// A created secret: the only time its value is available. `Debug` redacts it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedSecret {
    pub client_id: String,
    pub secret_id: String,
    pub client_secret: String,
    pub created_at: i64,
    pub expires_at: i64,
    #[serde(default)]
    pub description: Option<String>,
    pub version: u64,
    pub secrets_enabled: bool,
    #[serde(default)]
    pub token_endpoint_auth_methods: Vec<String>,
}

impl std::fmt::Debug for CreatedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedSecret")
            .field("client_id", &self.client_id)
            .field("secret_id", &self.secret_id)
            .field("client_secret", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretList {
    pub client_id: String,
    pub secrets_enabled: bool,
    pub active: u64,
    pub max_active: u64,
    pub secrets: Vec<SecretInfo>,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedSecret {
    pub client_id: String,
    pub secret_id: String,
    pub revoked: bool,
    pub version: u64,
    #[serde(default)]
    pub revoked_tokens: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: i64,
    pub category: String,
    pub action: String,
    pub outcome: String,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub source_ip: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// `GET /audit` parameters (times as Unix seconds or RFC 3339 text; the server validates them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// Oldest first instead of newest first.
    pub ascending: bool,
}
