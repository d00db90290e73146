//! Entra user tokens checked with `wif-auth`'s rules and the shared three-level JWKS cache (the same cache, Keys
//! table and fetch policy the token endpoint uses for assertions).

use std::sync::Arc;

use wif_auth::jwks_cache::{JwksCache, KeyLookupError};
use wif_auth::user_token::{Expected, UnverifiedUserToken, UserClaims, UserTokenError, UserTokenPolicy};

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("{0}")]
    Invalid(String),
    /// The signing keys could not be obtained: not the token's fault (503).
    #[error("Entra's signing keys are unavailable: {0}")]
    KeysUnavailable(String),
}

impl From<UserTokenError> for VerifyError {
    fn from(err: UserTokenError) -> Self {
        VerifyError::Invalid(err.reason)
    }
}

pub struct EntraVerifier {
    keys: Arc<JwksCache>,
    jwks_uri: String,
    /// Audience: the portal's client id.
    id_tokens: UserTokenPolicy,
    /// Audience: the portal API's app id URI (and its client id when configured for v2 access tokens).
    access_tokens: UserTokenPolicy,
}

impl EntraVerifier {
    pub fn new(
        keys: Arc<JwksCache>,
        jwks_uri: String,
        id_tokens: UserTokenPolicy,
        access_tokens: UserTokenPolicy,
    ) -> Self {
        Self {
            keys,
            jwks_uri,
            id_tokens,
            access_tokens,
        }
    }

    pub async fn id_token(&self, token: &str, nonce: &str, now: i64) -> Result<UserClaims, VerifyError> {
        self.verify(token, &self.id_tokens, Expected::IdToken { nonce }, now)
            .await
    }

    pub async fn access_token(&self, token: &str, now: i64) -> Result<UserClaims, VerifyError> {
        self.verify(token, &self.access_tokens, Expected::AccessToken, now)
            .await
    }

    async fn verify(
        &self,
        token: &str,
        policy: &UserTokenPolicy,
        expected: Expected<'_>,
        now: i64,
    ) -> Result<UserClaims, VerifyError> {
        let parsed = UnverifiedUserToken::parse(token, policy)?;
        let key = self
            .keys
            .key(&self.jwks_uri, parsed.kid())
            .await
            .map_err(|err| match err {
                KeyLookupError::UnknownKid { .. } => VerifyError::Invalid(err.to_string()),
                KeyLookupError::Unavailable { .. } | KeyLookupError::NotYetChecked { .. } => {
                    VerifyError::KeysUnavailable(err.to_string())
                }
            })?;
        Ok(parsed.verify(&key, policy, expected, now)?)
    }
}
