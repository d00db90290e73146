//! Every way a portal request can fail, mapped once to an HTTP status (and in [`crate::web`] to an HTML error page
//! or a JSON error).

use wif_auth::ports::StoreUnavailable;
use wif_registry::RegistryError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortalError {
    /// No valid session or bearer token (401; pages redirect to sign-in instead).
    #[error("{0}")]
    Unauthenticated(String),
    /// Signed in, but the role or the token's scopes do not allow this (403).
    #[error("{0}")]
    Forbidden(String),
    /// A state-changing request without the session's CSRF token (403).
    #[error("the form is out of date or was not sent by this portal; reload the page and try again")]
    Csrf,
    /// Not found, or not this tenant's (404, never 403).
    #[error("{0}")]
    NotFound(String),
    /// Bad input; the text names the field (400).
    #[error("{0}")]
    Invalid(String),
    /// A sign-in that cannot complete: expired, replayed, started elsewhere, or a token that failed validation.
    #[error("{0}")]
    SignInFailed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    MethodNotAllowed(&'static str),
    /// Storage, KMS or Entra unavailable (503 with Retry-After).
    #[error("{0}")]
    Unavailable(String),
}

impl PortalError {
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated(_) => 401,
            Self::Forbidden(_) | Self::Csrf => 403,
            Self::NotFound(_) => 404,
            Self::Invalid(_) | Self::SignInFailed(_) => 400,
            Self::Conflict(_) => 409,
            Self::PayloadTooLarge(_) => 413,
            Self::MethodNotAllowed(_) => 405,
            Self::Unavailable(_) => 503,
        }
    }

    /// The JSON API's `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "invalid_token",
            Self::Forbidden(_) => "insufficient_scope",
            Self::Csrf => "csrf",
            Self::NotFound(_) => "not_found",
            Self::Invalid(_) | Self::PayloadTooLarge(_) => "invalid_request",
            Self::SignInFailed(_) => "sign_in_failed",
            Self::Conflict(_) => "conflict",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::Unavailable(_) => "temporarily_unavailable",
        }
    }

    /// A short page title for the HTML error page.
    pub fn title(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "Please sign in",
            Self::Forbidden(_) | Self::Csrf => "Not allowed",
            Self::NotFound(_) => "Not found",
            Self::Invalid(_) | Self::PayloadTooLarge(_) => "Please check your input",
            Self::SignInFailed(_) => "Sign-in did not complete",
            Self::Conflict(_) => "Someone else changed this",
            Self::MethodNotAllowed(_) => "Not supported",
            Self::Unavailable(_) => "Temporarily unavailable",
        }
    }
}

impl From<StoreUnavailable> for PortalError {
    fn from(err: StoreUnavailable) -> Self {
        tracing::error!(error = %err, "portal storage unavailable");
        Self::Unavailable("the portal's storage is not answering; try again in a moment".into())
    }
}

impl From<RegistryError> for PortalError {
    fn from(err: RegistryError) -> Self {
        match err {
            RegistryError::Invalid(text) => Self::Invalid(text),
            RegistryError::NotFound(_) => Self::NotFound("no such registration".into()),
            RegistryError::SecretNotFound { .. } => Self::NotFound("no such secret".into()),
            RegistryError::CredentialNotFound { .. } => Self::NotFound("no such federated credential".into()),
            RegistryError::AudienceNotFound { .. } => Self::NotFound("no such audience".into()),
            RegistryError::VersionConflict { .. } | RegistryError::Conflict(_) => Self::Conflict(err.to_string()),
            RegistryError::Unavailable(reason) => {
                tracing::error!(error = %reason, "registry storage unavailable");
                Self::Unavailable("the registration store is not answering; try again in a moment".into())
            }
        }
    }
}
