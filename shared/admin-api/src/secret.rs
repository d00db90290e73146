//! Client secrets for the non-WIF mode: `POST /clients/{id}/secrets` ([`NewSecret`] → [`CreatedSecret`]),
//! `GET /clients/{id}/secrets` ([`SecretList`]), `DELETE /clients/{id}/secrets/{secret_id}` ([`RevokedSecret`]).

use serde::{Deserialize, Serialize};

use crate::client::SecretInfo;

/// `POST /clients/{id}/secrets` options (every member optional; an empty body is fine).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSecret {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whole days, 365–1095; default 365. Signed so that a negative number gets the server's message, not serde's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<i64>,
    /// The registration version the caller read; when given, the secret is only created at that version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// A created secret: the only time its value is ever shown. `Debug` redacts it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedSecret {
    pub client_id: String,
    pub secret_id: String,
    pub client_secret: String,
    pub created_at: i64,
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The registration's version after the change (for the next optimistic write).
    pub version: u64,
    pub secrets_enabled: bool,
    /// The token-endpoint authentication methods the registration now accepts, in RFC 8414 names.
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

/// `GET /clients/{id}/secrets`: ids, dates and status, never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretList {
    pub client_id: String,
    pub secrets_enabled: bool,
    pub active: usize,
    pub max_active: usize,
    pub secrets: Vec<SecretInfo>,
    pub version: u64,
}

/// `DELETE /clients/{id}/secrets/{secret_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedSecret {
    pub client_id: String,
    pub secret_id: String,
    pub revoked: bool,
    pub version: u64,
    /// Present when the caller asked for the client's live tokens to be revoked too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_tokens: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let created = CreatedSecret {
            client_id: "c".into(),
            secret_id: "s".into(),
            client_secret: "wif_cs_value".into(),
            created_at: 1,
            expires_at: 2,
            description: None,
            version: 2,
            secrets_enabled: true,
            token_endpoint_auth_methods: Vec::new(),
        };
        assert!(!format!("{created:?}").contains("wif_cs_value"));
    }
}
