//! Registry outcomes that are not success, each mapping to one admin-API status and error code.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// A field failed validation; the text names the field (`"jwks_uri: must use https"`).
    #[error("{0}")]
    Invalid(String),
    #[error("no registration with client_id {0:?}")]
    NotFound(String),
    #[error("client {client_id:?} has no secret {secret_id:?}")]
    SecretNotFound { client_id: String, secret_id: String },
    #[error("client {client_id:?} has no federated credential {credential_id:?}")]
    CredentialNotFound { client_id: String, credential_id: String },
    #[error("federated credential {credential_id:?} has no audience {audience:?}")]
    AudienceNotFound { credential_id: String, audience: String },
    /// Optimistic concurrency: the registration changed since the caller read it.
    #[error("the registration was changed by someone else (expected version {expected}); read it again and retry")]
    VersionConflict { expected: u64 },
    #[error("{0}")]
    Conflict(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl RegistryError {
    /// HTTP status of the admin API.
    pub fn status(&self) -> u16 {
        match self {
            RegistryError::Invalid(_) => 400,
            RegistryError::NotFound(_)
            | RegistryError::SecretNotFound { .. }
            | RegistryError::CredentialNotFound { .. }
            | RegistryError::AudienceNotFound { .. } => 404,
            RegistryError::VersionConflict { .. } | RegistryError::Conflict(_) => 409,
            RegistryError::Unavailable(_) => 503,
        }
    }

    /// The `error` code of the admin API's JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::Invalid(_) => "invalid_request",
            RegistryError::NotFound(_)
            | RegistryError::SecretNotFound { .. }
            | RegistryError::CredentialNotFound { .. }
            | RegistryError::AudienceNotFound { .. } => "not_found",
            RegistryError::VersionConflict { .. } => "version_conflict",
            RegistryError::Conflict(_) => "conflict",
            RegistryError::Unavailable(_) => "temporarily_unavailable",
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "error": self.code(), "error_description": self.to_string() })
    }
}

impl From<wif_auth::ports::StoreUnavailable> for RegistryError {
    fn from(err: wif_auth::ports::StoreUnavailable) -> Self {
        RegistryError::Unavailable(err.0)
    }
}
