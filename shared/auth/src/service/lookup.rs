//! Finding the registration of a token request: by `client_id` when the request has one (Entra sends it), else by
//! the trust the assertion names. (issuer, subject, audience) is unique across registrations, enforced by a marker
//! item written in the registration's own transaction; the marker and then the registration are read with strongly
//! consistent reads, so a just-disabled or just-changed registration is never found in an older state.

use crate::oauth_error::OAuthError;
use crate::ports::StoreUnavailable;
use crate::registration::Registration;
use crate::token_request::TokenRequest;
use crate::untrusted::{MAX_CLAIM_CHARS, printable};

use super::TokenService;
use super::authenticate::PresentedCredential;

const NO_MATCH: &str = "send client_id, or an assertion whose iss, sub and aud identify a registration";

fn unavailable(err: StoreUnavailable) -> OAuthError {
    OAuthError::temporarily_unavailable("client registrations are temporarily unavailable")
        .with_reason(format!("clients table: {err}"))
}

impl TokenService {
    pub(super) async fn find_registration(
        &self,
        request: &TokenRequest,
        credential: &PresentedCredential<'_>,
    ) -> Result<Registration, OAuthError> {
        if let Some(client_id) = &request.client_id {
            return self
                .clients
                .get_client(client_id)
                .await
                .map_err(unavailable)?
                .ok_or_else(|| {
                    OAuthError::invalid_client("unknown client").with_reason(format!("no registration {client_id:?}"))
                });
        }
        let PresentedCredential::Assertion(assertion) = credential else {
            // Secrets always come with a client_id (the request parser requires it).
            return Err(OAuthError::invalid_client(NO_MATCH).with_reason("no client_id"));
        };
        let Some(trust) = assertion.unverified_ids().trust() else {
            return Err(OAuthError::invalid_client(NO_MATCH)
                .with_reason("no client_id, and the assertion lacks a usable iss, sub or aud"));
        };
        self.clients
            .find_by_trust(&trust)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| {
                OAuthError::invalid_client(NO_MATCH).with_reason(format!(
                    "no registration holds iss {:?} sub {:?} aud {:?}",
                    printable(&trust.issuer, MAX_CLAIM_CHARS),
                    printable(&trust.subject, MAX_CLAIM_CHARS),
                    printable(&trust.audience, MAX_CLAIM_CHARS)
                ))
            })
    }
}
