//! Sign-in with Entra: [`SignIn::start`] creates a pending sign-in (state, nonce, PKCE verifier, return path)
//! keyed by the hash of a fresh browser cookie and sends the browser to Entra; [`SignIn::finish`] takes the pending
//! sign-in (once: a replayed answer finds nothing), compares `state`, redeems the code with the PKCE verifier and
//! the portal's signed client assertion, validates the ID token (signature, issuer of its own `tid`, audience,
//! expiry, nonce), and starts a session. Every outcome is audited; failures never say more to the browser than
//! that sign-in did not complete.

use std::sync::Arc;

use wif_common::Clock;
use wif_common::audit::{AuditCategory, AuditEvent, AuditSink};

use crate::access::{admin_role_names, holds_admin_role};
use crate::crypto::{pkce_challenge, random_token, same_secret, sha256_hex};
use crate::error::PortalError;
use crate::model::{PendingSignIn, Person, Session};
use crate::oidc::{AuthorizeRequest, CallbackParams, OidcSettings, TokenAnswer};
use crate::ports::{AssertionSigner, SessionStore, TenantLinkStore, TokenEndpoint};
use crate::sessions::Sessions;
use crate::verifier::{EntraVerifier, VerifyError};

/// A pending sign-in lives this long (an admin picking an account and approving consent).
pub const PENDING_SECONDS: i64 = 600;
/// Token endpoint answers above this size are not read.
const MAX_TOKEN_ANSWER_BYTES: usize = 64 * 1024;

/// Where the browser goes, and the cookie that binds the answer to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub cookie_value: String,
    pub redirect: String,
}

/// A completed sign-in.
#[derive(Debug)]
pub struct Finished {
    pub cookie_value: String,
    pub session: Session,
    pub return_to: String,
}

/// Request facts for the audit trail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

pub struct SignInPorts {
    pub pending: Arc<dyn SessionStore>,
    pub links: Arc<dyn TenantLinkStore>,
    pub endpoint: Arc<dyn TokenEndpoint>,
    pub signer: Arc<dyn AssertionSigner>,
    pub audit: Arc<dyn AuditSink>,
    pub clock: Arc<dyn Clock>,
}

pub struct SignIn {
    oidc: OidcSettings,
    ports: SignInPorts,
    verifier: Arc<EntraVerifier>,
}

fn failed(message: &str) -> PortalError {
    PortalError::SignInFailed(message.to_owned())
}

impl SignIn {
    pub fn new(oidc: OidcSettings, ports: SignInPorts, verifier: Arc<EntraVerifier>) -> Self {
        Self { oidc, ports, verifier }
    }

    pub fn oidc(&self) -> &OidcSettings {
        &self.oidc
    }

    pub async fn start(&self, return_to: String, redirect_uri: String) -> Result<Started, PortalError> {
        let cookie_value = random_token();
        let pending = PendingSignIn {
            key_hash: sha256_hex(&cookie_value),
            state: random_token(),
            nonce: random_token(),
            code_verifier: random_token(),
            return_to,
            redirect_uri,
            expires_at: self.ports.clock.now_unix() + PENDING_SECONDS,
        };
        self.ports.pending.put_pending(&pending).await?;
        let redirect = self.oidc.authorize_redirect(&AuthorizeRequest {
            redirect_uri: &pending.redirect_uri,
            state: &pending.state,
            nonce: &pending.nonce,
            code_challenge: &pkce_challenge(&pending.code_verifier),
        });
        Ok(Started { cookie_value, redirect })
    }

    pub async fn finish(
        &self,
        cookie_value: Option<&str>,
        params: &CallbackParams,
        sessions: &Sessions,
        info: &RequestInfo,
    ) -> Result<Finished, PortalError> {
        let outcome = self.complete(cookie_value, params).await;
        let (person, return_to) = match outcome {
            Ok(done) => done,
            Err((error, reason)) => {
                self.audit(None, "denied", Some(reason), info).await;
                return Err(error);
            }
        };
        let (cookie_value, session) = sessions.create(person.clone()).await?;
        self.audit(Some(&person), "success", None, info).await;
        Ok(Finished {
            cookie_value,
            session,
            return_to,
        })
    }

    /// The person, or the error for the browser with the full reason for the audit trail.
    async fn complete(
        &self,
        cookie_value: Option<&str>,
        params: &CallbackParams,
    ) -> Result<(Person, String), (PortalError, String)> {
        if let Some(error) = &params.error {
            let description = params.error_description.clone().unwrap_or_default();
            let reason = format!("Entra answered {error}: {description}");
            return Err((failed("Microsoft Entra did not sign you in. Please try again."), reason));
        }
        let unbound = || {
            (
                failed(
                    "This sign-in has expired, was already used, or was started in another browser. Please sign in again.",
                ),
                "no pending sign-in for this browser (expired, replayed or foreign)".to_owned(),
            )
        };
        let cookie_value = cookie_value.ok_or_else(unbound)?;
        let pending = self
            .ports
            .pending
            .take_pending(&sha256_hex(cookie_value))
            .await
            .map_err(|err| (PortalError::from(err), "pending sign-in store unavailable".to_owned()))?
            .filter(|pending| pending.expires_at > self.ports.clock.now_unix())
            .ok_or_else(unbound)?;
        let state_matches = params
            .state
            .as_deref()
            .is_some_and(|state| same_secret(state, &pending.state));
        if !state_matches {
            let reason = if params.state.is_none() {
                "state is missing"
            } else {
                "state does not match"
            };
            return Err((
                failed("The sign-in answer does not belong to this sign-in. Please sign in again."),
                reason.into(),
            ));
        }
        let code = params
            .code
            .as_deref()
            .filter(|code| !code.is_empty() && code.len() <= 4096);
        let code = code.ok_or_else(|| {
            (
                failed("Microsoft Entra sent no authorization code."),
                "no code".to_owned(),
            )
        })?;
        let id_token = self.redeem(code, &pending).await?;
        let claims = self
            .verifier
            .id_token(&id_token, &pending.nonce, self.ports.clock.now_unix())
            .await
            .map_err(|err| match err {
                VerifyError::KeysUnavailable(reason) => (
                    PortalError::Unavailable(
                        "Entra's signing keys are not reachable right now; try again shortly".into(),
                    ),
                    reason,
                ),
                VerifyError::Invalid(reason) => (
                    failed("The identity token from Microsoft Entra was not valid."),
                    format!("ID token refused: {reason}"),
                ),
            })?;
        let person = Person {
            admin: holds_admin_role(&claims.wids),
            roles: admin_role_names(&claims.wids).into_iter().map(str::to_owned).collect(),
            tid: claims.tid,
            oid: claims.oid,
            upn: claims.upn,
            name: claims.name,
        };
        Ok((person, pending.return_to))
    }

    /// Redeems the code; the answer's ID token, or why not.
    async fn redeem(&self, code: &str, pending: &PendingSignIn) -> Result<String, (PortalError, String)> {
        let now = self.ports.clock.now_unix();
        let assertion = self
            .ports
            .signer
            .client_assertion(&self.oidc.token_url, now)
            .await
            .map_err(|err| {
                (
                    PortalError::Unavailable("sign-in is unavailable right now".into()),
                    err.to_string(),
                )
            })?;
        let form = self
            .oidc
            .token_form(code, &pending.code_verifier, &pending.redirect_uri, &assertion);
        let answer = self
            .ports
            .endpoint
            .post_form(&self.oidc.token_url, &form)
            .await
            .map_err(|err| {
                (
                    PortalError::Unavailable("Microsoft Entra is not reachable right now".into()),
                    err.to_string(),
                )
            })?;
        let parsed: Option<TokenAnswer> = (answer.body.len() <= MAX_TOKEN_ANSWER_BYTES)
            .then(|| serde_json::from_slice(&answer.body).ok())
            .flatten();
        match parsed {
            Some(TokenAnswer {
                id_token: Some(token), ..
            }) if answer.status == 200 => Ok(token),
            Some(TokenAnswer {
                error: Some(error),
                error_description,
                ..
            }) => Err((
                failed("Microsoft Entra refused to complete the sign-in. Please sign in again."),
                format!(
                    "token endpoint {}: {error}: {}",
                    answer.status,
                    error_description.unwrap_or_default()
                ),
            )),
            _ => Err((
                failed("Microsoft Entra's answer could not be read."),
                format!("token endpoint answered {} without an ID token", answer.status),
            )),
        }
    }

    async fn audit(&self, person: Option<&Person>, outcome: &str, reason: Option<String>, info: &RequestInfo) {
        let mut event = AuditEvent::new(
            self.ports.clock.now_unix(),
            AuditCategory::Admin,
            "portal.signin",
            outcome,
        );
        if let Some(person) = person {
            event.actor = Some(format!("entra:{}/{}", person.tid, person.oid));
            if let Ok(Some(link)) = self.ports.links.get_link(&person.tid).await {
                event.tenant_id = Some(link.tenant_id);
            }
            event = event
                .detail("actor_tid", person.tid.clone())
                .detail("actor_oid", person.oid.clone())
                .detail("admin_role", person.admin);
            if let Some(upn) = &person.upn {
                event = event.detail("actor_upn", upn.clone());
            }
        }
        event.reason = reason;
        event.request_id = info.request_id.clone();
        event.source_ip = info.source_ip.clone();
        event.user_agent = info.user_agent.clone();
        if let Err(err) = self.ports.audit.record(event).await {
            tracing::error!(error = %err, "audit write failed");
        }
    }
}
