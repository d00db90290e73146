//! Issuing a token so that revocation cannot be raced (issue 14.1). The token is written only if the registration
//! is still, at the instant of the write, in the state it was authenticated against: the store writes it in one
//! transaction with a condition on the registration's `version` (and `enabled`), and with an entry in the client's
//! token index. Every change of a registration bumps its version, so:
//! - a token cannot be minted on an old state: once a disable, delete, PATCH or `revoke-tokens` has written the
//!   registration, a transaction still holding the old version fails;
//! - a token minted before that write is in the client's index, which the revocation sweep reads with a strongly
//!   consistent read after the write, so it is revoked before the admin call answers.

use crate::oauth_error::OAuthError;
use crate::ports::{StoreUnavailable, TokenRecord, TokenStore};

/// Live (unexpired) tokens one client may hold at once. Entra holds one per provisioning job and token lifetime;
/// the cap keeps the client's index item far below DynamoDB's item size limit.
pub const MAX_LIVE_TOKENS_PER_CLIENT: usize = 1000;

/// Why a conditional token write did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    /// The registration changed (or was disabled or deleted) after it was read.
    #[error("the registration changed while the token was being issued")]
    RegistrationChanged,
    /// The client already holds [`MAX_LIVE_TOKENS_PER_CLIENT`] live tokens.
    #[error("the client holds too many live tokens")]
    TooManyLiveTokens,
    #[error(transparent)]
    Unavailable(#[from] StoreUnavailable),
}

/// Stores `record` on condition that the registration is still enabled at `registration_version`.
pub async fn store_token(
    tokens: &dyn TokenStore,
    record: &TokenRecord,
    registration_version: u64,
) -> Result<(), OAuthError> {
    tokens
        .put_token_if_current(record, registration_version)
        .await
        .map_err(|err| match err {
            // Entra retries a 503; the retry sees the new state (a disabled client then gets its own answer).
            IssueError::RegistrationChanged => {
                OAuthError::temporarily_unavailable("the client's registration changed; retry")
                    .with_reason(err.to_string())
            }
            IssueError::TooManyLiveTokens => OAuthError::rate_limited(
                60,
                format!("the client holds {MAX_LIVE_TOKENS_PER_CLIENT} live access tokens; reuse them"),
            ),
            IssueError::Unavailable(err) => {
                OAuthError::temporarily_unavailable("the token could not be issued; retry shortly")
                    .with_reason(format!("token store write failed: {err}"))
            }
        })
}
