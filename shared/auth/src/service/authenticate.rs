//! Client authentication against a registration: an assertion (Workload Identity Federation) or a client secret.
//!
//! An assertion is checked against one federated credential: the one whose issuer and subject equal the
//! assertion's `iss` and `sub`. Its signature is verified with a key from that credential's JWKS only, and only
//! then is every claim pinned to that credential. When no credential has exactly that issuer and subject, the
//! signature is still verified, with the keys of the credential the assertion most likely meant (same subject, else
//! same issuer, else the first), so that the answer names the claim that differs and the audit record holds the
//! value Entra really sent, verified; such an assertion always fails the pinning that follows.

use crate::assertion::{AssertionError, AssertionPolicy, UnverifiedAssertion, UnverifiedIds};
use crate::credentials::verify_client_secret;
use crate::jwks_cache::KeyLookupError;
use crate::oauth_error::OAuthError;
use crate::registration::{FederatedCredential, Registration};
use crate::token_request::ClientCredential;

use super::TokenService;
use super::record::Facts;

/// The presented credential after its syntax check.
pub(super) enum PresentedCredential<'a> {
    Assertion(UnverifiedAssertion<'a>),
    Secret(&'a str),
}

impl<'a> PresentedCredential<'a> {
    pub(super) fn parse(credential: &'a ClientCredential, policy: &AssertionPolicy) -> Result<Self, OAuthError> {
        Ok(match credential {
            ClientCredential::Assertion(text) => {
                Self::Assertion(UnverifiedAssertion::parse(text, policy).map_err(|err| assertion_error(&err))?)
            }
            ClientCredential::SecretPost(secret) | ClientCredential::SecretBasic(secret) => Self::Secret(secret),
        })
    }
}

/// The credential whose keys verify the assertion (see the module documentation). `None` only for a registration
/// without credentials.
pub(super) fn choose_credential<'r>(
    registration: &'r Registration,
    ids: &UnverifiedIds,
) -> Option<&'r FederatedCredential> {
    let credentials = &registration.federated_credentials;
    if let (Some(iss), Some(sub)) = (&ids.iss, &ids.sub)
        && let Some(exact) = registration.credential_for(iss, sub)
    {
        return Some(exact);
    }
    let only = |matches: &dyn Fn(&FederatedCredential) -> bool| {
        let mut found = credentials.iter().filter(|credential| matches(credential));
        match (found.next(), found.next()) {
            (Some(one), None) => Some(one),
            _ => None,
        }
    };
    only(&|c| ids.sub.as_deref() == Some(c.subject.as_str()))
        .or_else(|| only(&|c| ids.iss.as_deref() == Some(c.issuer.as_str())))
        .or_else(|| credentials.first())
}

impl TokenService {
    pub(super) async fn authenticate(
        &self,
        credential: &PresentedCredential<'_>,
        registration: &Registration,
        facts: &mut Facts,
        now: i64,
    ) -> Result<(), OAuthError> {
        match credential {
            PresentedCredential::Assertion(assertion) => {
                self.authenticate_assertion(assertion, registration, facts, now).await
            }
            PresentedCredential::Secret(secret) => {
                if !registration.secrets_enabled {
                    return Err(OAuthError::invalid_client(
                        "client secrets are not enabled for this client",
                    ));
                }
                let secret_id = verify_client_secret(registration, secret, now).ok_or_else(|| {
                    OAuthError::invalid_client("client authentication failed")
                        .with_reason("the client secret matches no unexpired secret of the client")
                })?;
                facts.secret_id = Some(secret_id);
                Ok(())
            }
        }
    }

    async fn authenticate_assertion(
        &self,
        assertion: &UnverifiedAssertion<'_>,
        registration: &Registration,
        facts: &mut Facts,
        now: i64,
    ) -> Result<(), OAuthError> {
        if !registration.wif_enabled {
            return Err(OAuthError::invalid_client(
                "client_assertion is not enabled for this client",
            ));
        }
        let ids = assertion.unverified_ids();
        let Some(credential) = choose_credential(registration, &ids) else {
            return Err(
                OAuthError::invalid_client("client_assertion is not enabled for this client")
                    .with_reason("the registration has no federated credential"),
            );
        };
        facts.credential_id = Some(credential.credential_id.clone());
        let alg = assertion
            .algorithm_for(registration)
            .map_err(|err| assertion_error(&err))?;
        let key = self
            .jwks
            .key(&credential.jwks_uri, assertion.kid())
            .await
            .map_err(|err| key_error(&err, alg.as_str()))?;
        let verified = assertion
            .verify_signature(registration, &key)
            .map_err(|err| assertion_error(&err))?;
        facts.signature_verified = true;
        facts.note_verified(&verified.claims);
        verified
            .pin(credential, &self.settings.assertion, now)
            .map_err(|err| assertion_error(&err))?;
        facts.audience = Some(verified.claims.aud);
        Ok(())
    }
}

fn assertion_error(error: &AssertionError) -> OAuthError {
    OAuthError::invalid_client(error.public_description.clone()).with_reason(error.reason.clone())
}

fn key_error(error: &KeyLookupError, alg: &str) -> OAuthError {
    let printable_kid = |kid: &str| crate::untrusted::printable(kid, crate::untrusted::MAX_KID_CHARS);
    match error {
        KeyLookupError::UnknownKid { kid, .. } => OAuthError::invalid_client(format!(
            "assertion kid {} is not a signing key of this client's JWKS",
            printable_kid(kid)
        ))
        .with_reason(format!("{error} (alg {alg})")),
        // Entra may sign with a key it has just published: never a 401 (a credential failure to Entra) before a
        // set fetched after the kid appeared has been looked at.
        KeyLookupError::NotYetChecked {
            kid,
            retry_after_seconds,
            ..
        } => OAuthError::temporarily_unavailable(format!(
            "assertion kid {} is not among the client's signing keys fetched so far; retry after the indicated time",
            printable_kid(kid)
        ))
        .with_retry_after(*retry_after_seconds)
        .with_reason(format!("{error} (alg {alg})")),
        KeyLookupError::Unavailable {
            retry_after_seconds, ..
        } => OAuthError::temporarily_unavailable("the client's signing keys could not be retrieved; retry shortly")
            .with_retry_after(*retry_after_seconds)
            .with_reason(error.to_string()),
    }
}
