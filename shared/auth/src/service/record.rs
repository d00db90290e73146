//! The audit record and log line of every token request. A grant names the federated credential and the audience
//! that matched; a denial after the signature verified holds the claims as Entra sent them (so an admin can copy
//! the value that differs), and a denial before that holds only the unverified `iss`/`sub`/`aud`, cut short and
//! stripped to printable characters. Never the assertion, secret or token.

use wif_common::audit::{AuditCategory, AuditEvent};

use crate::assertion::AssertionClaims;
use crate::oauth_error::OAuthError;
use crate::scope::Scope;
use crate::token_request::TokenRequest;

use super::authenticate::PresentedCredential;
use super::{RequestContext, TokenGrant, TokenService, scope_string};

use crate::untrusted::{MAX_ALG_CHARS, MAX_CLAIM_CHARS, MAX_KID_CHARS, printable};

/// What we learnt about a request while handling it, for the audit record. Never holds credentials.
#[derive(Debug, Default)]
pub(super) struct Facts {
    pub client_id: Option<String>,
    pub tenant_id: Option<String>,
    method: Option<&'static str>,
    /// Verified claims (set once the signature verified, whether or not they then matched).
    iss: Option<String>,
    sub: Option<String>,
    tid: Option<String>,
    aud: Option<String>,
    /// Claims as sent, before any verification.
    unverified: Option<(Option<String>, Option<String>, Option<String>)>,
    kid: Option<String>,
    alg: Option<String>,
    /// The federated credential whose keys verified (or were to verify) the assertion.
    pub credential_id: Option<String>,
    /// The audience of that credential the assertion matched.
    pub audience: Option<String>,
    /// Which stored secret authenticated the request, so an admin can see Entra moved to a new secret before
    /// revoking the old one.
    pub secret_id: Option<String>,
    ignored_key_hints: Vec<&'static str>,
    requested_scopes: Option<Vec<Scope>>,
    /// The assertion's signature verified with a key of the credential's JWKS (claims may still be refused).
    pub signature_verified: bool,
}

impl Facts {
    pub(super) fn note_request(&mut self, request: &TokenRequest) {
        self.method = Some(request.credential.method_name());
        self.requested_scopes = request.scopes.clone();
        self.client_id = request.client_id.clone();
    }

    pub(super) fn note_credential(&mut self, credential: &PresentedCredential<'_>) {
        if let PresentedCredential::Assertion(assertion) = credential {
            let header = assertion.header();
            self.kid = Some(printable(&header.kid, MAX_KID_CHARS));
            self.alg = Some(printable(&header.alg, MAX_ALG_CHARS));
            self.ignored_key_hints = header.ignored_key_hints.clone();
            let ids = assertion.unverified_ids();
            let cut = |value: Option<String>| value.map(|text| printable(&text, MAX_CLAIM_CHARS));
            self.unverified = Some((cut(ids.iss), cut(ids.sub), cut(ids.aud)));
        }
    }

    pub(super) fn note_verified(&mut self, claims: &AssertionClaims) {
        self.iss = Some(claims.iss.clone());
        self.sub = Some(claims.sub.clone());
        self.aud = Some(claims.aud.clone());
        self.tid = claims.tid.clone();
    }

    fn details(&self, event: &mut AuditEvent) {
        let mut put = |key: &str, value: &Option<String>| {
            if let Some(value) = value {
                event.details.insert(key.to_owned(), value.clone().into());
            }
        };
        put("iss", &self.iss);
        put("sub", &self.sub);
        put("aud", &self.aud);
        put("tid", &self.tid);
        if self.iss.is_none()
            && let Some((iss, sub, aud)) = &self.unverified
        {
            put("unverified_iss", iss);
            put("unverified_sub", sub);
            put("unverified_aud", aud);
        }
        put("kid", &self.kid);
        put("alg", &self.alg);
        put("credential_id", &self.credential_id);
        put("matched_audience", &self.audience);
        put("secret_id", &self.secret_id);
        put("auth_method", &self.method.map(str::to_owned));
        if !self.ignored_key_hints.is_empty() {
            event.details.insert(
                "ignored_header_key_hints".to_owned(),
                self.ignored_key_hints.clone().into(),
            );
        }
        if let Some(requested) = &self.requested_scopes {
            event
                .details
                .insert("requested_scopes".to_owned(), scope_string(requested).into());
        }
    }
}

impl TokenService {
    pub(super) async fn record(
        &self,
        result: &Result<TokenGrant, OAuthError>,
        facts: &Facts,
        context: &RequestContext,
        now: i64,
    ) {
        let (action, outcome) = match result {
            Ok(_) => ("token.granted", "success"),
            Err(error) if error.status.is_server_error() => ("token.denied", "error"),
            Err(_) => ("token.denied", "denied"),
        };
        let mut event = AuditEvent::new(now, AuditCategory::Token, action, outcome);
        event.client_id = facts.client_id.clone();
        event.tenant_id = facts.tenant_id.clone();
        event.actor = facts.client_id.as_ref().map(|id| format!("client:{id}"));
        event.request_id = context.request_id.clone();
        event.source_ip = context.source_ip.clone();
        event.user_agent = context.user_agent.clone();
        facts.details(&mut event);
        match result {
            Ok(grant) => {
                event
                    .details
                    .insert("scopes".to_owned(), scope_string(&grant.scopes).into());
                event.details.insert("expires_in".to_owned(), grant.expires_in.into());
                tracing::info!(
                    client_id = %grant.client_id,
                    tenant_id = %grant.tenant_id,
                    credential_id = facts.credential_id.as_deref().unwrap_or("-"),
                    scopes = %scope_string(&grant.scopes),
                    "token granted"
                );
            }
            Err(error) => {
                event.reason = Some(error.reason.clone());
                event.details.insert("error".to_owned(), error.code.as_str().into());
                event.details.insert("status".to_owned(), error.status.as_u16().into());
                tracing::info!(
                    client_id = facts.client_id.as_deref().unwrap_or("-"),
                    error = error.code.as_str(),
                    status = error.status.as_u16(),
                    reason = %error.reason,
                    "token denied"
                );
            }
        }
        if let Err(err) = self.audit.record(event).await {
            tracing::warn!(error = %err, "audit write failed");
        }
    }
}
