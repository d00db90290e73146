//! The token endpoint's use case: one client-credentials grant, over the ports.
//!
//! Order of work, cheapest and least revealing first: per-source rate limit → request parsing → registration
//! lookup ([`lookup`]: by `client_id`, else through the uniqueness marker of the assertion's `iss`, `sub`, `aud`)
//! → client state → client authentication ([`authenticate`]: for an assertion, the credential chosen by `iss` +
//! `sub`, a key from that credential's JWKS only, the signature, then every claim; or a secret) → per-client rate
//! limit → scope decision → mint and store the token. Every outcome is audited ([`record`]: never with the
//! assertion, secret or token) and logged once.
//!
//! The per-client limit counts authenticated requests only: counting attempts would let anyone who knows a
//! client_id (it is not a secret) lock that customer's provisioning out; floods of forged assertions are bounded
//! by the per-source limit instead.

mod authenticate;
mod lookup;
mod record;

use std::sync::Arc;

use http::{HeaderMap, Method, Response, StatusCode};
use wif_common::Clock;
use wif_common::audit::AuditSink;

use crate::assertion::AssertionPolicy;
use crate::credentials::AccessToken;
use crate::jwks_cache::{JwksCache, JwksCacheSettings};
use crate::oauth_error::{OAuthError, no_store_json};
use crate::ports::{ClientLookup, JwksFetcher, KeyStore, RateCounter, TokenRecord, TokenStore};
use crate::registration::Registration;
use crate::scope::Scope;
use crate::token_request::parse_token_request;

use authenticate::PresentedCredential;
use record::Facts;

/// Token-endpoint limits (from `WIF_*` variables; see `functions/token/src/config.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenSettings {
    pub assertion: AssertionPolicy,
    /// Form bodies above this are refused before decoding (the assertion cap plus room for the other fields).
    pub max_body_bytes: usize,
    /// Authenticated token requests per client per minute; 0 disables.
    pub rate_limit_client_per_minute: u64,
    /// Token requests per source IP per minute; 0 disables.
    pub rate_limit_source_per_minute: u64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        let assertion = AssertionPolicy::default();
        Self {
            max_body_bytes: body_cap_for(assertion.max_bytes),
            assertion,
            rate_limit_client_per_minute: 60,
            rate_limit_source_per_minute: 300,
        }
    }
}

/// The body cap that fits an assertion of `max_assertion_bytes` (JWT characters need no percent-encoding).
pub fn body_cap_for(max_assertion_bytes: usize) -> usize {
    max_assertion_bytes.saturating_add(4096)
}

/// Every dependency of the token service.
pub struct TokenPorts {
    pub clients: Arc<dyn ClientLookup>,
    pub tokens: Arc<dyn TokenStore>,
    pub key_store: Arc<dyn KeyStore>,
    pub fetcher: Arc<dyn JwksFetcher>,
    pub rates: Arc<dyn RateCounter>,
    pub audit: Arc<dyn AuditSink>,
    pub clock: Arc<dyn Clock>,
}

/// Who is asking, for rate limiting and the audit trail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// A successful grant.
#[derive(Debug)]
pub struct TokenGrant {
    pub access_token: AccessToken,
    pub expires_in: u32,
    pub scopes: Vec<Scope>,
    pub client_id: String,
    pub tenant_id: String,
}

impl TokenGrant {
    /// `{"access_token","token_type":"Bearer","expires_in","scope"}`, no-store (RFC 6749 §5.1).
    pub fn to_response(&self) -> Response<String> {
        let body = serde_json::json!({
            "access_token": self.access_token.value(),
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": scope_string(&self.scopes),
        });
        no_store_json(StatusCode::OK, &body)
    }
}

fn scope_string(scopes: &[Scope]) -> String {
    scopes.iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(" ")
}

pub struct TokenService {
    clients: Arc<dyn ClientLookup>,
    tokens: Arc<dyn TokenStore>,
    rates: Arc<dyn RateCounter>,
    audit: Arc<dyn AuditSink>,
    clock: Arc<dyn Clock>,
    jwks: JwksCache,
    settings: TokenSettings,
}

impl TokenService {
    pub fn new(ports: TokenPorts, settings: TokenSettings, cache_settings: JwksCacheSettings) -> Self {
        let jwks = JwksCache::new(ports.key_store, ports.fetcher, ports.clock.clone(), cache_settings);
        Self {
            clients: ports.clients,
            tokens: ports.tokens,
            rates: ports.rates,
            audit: ports.audit,
            clock: ports.clock,
            jwks,
            settings,
        }
    }

    pub fn jwks_cache(&self) -> &JwksCache {
        &self.jwks
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// Handles `POST /oauth2/token` end to end and always answers with an HTTP response (never an error).
    pub async fn token_response(
        &self,
        method: &Method,
        headers: &HeaderMap,
        body: &[u8],
        context: &RequestContext,
    ) -> Response<String> {
        match self.grant(method, headers, body, context).await {
            Ok(grant) => grant.to_response(),
            Err(error) => error.to_response(),
        }
    }

    /// One grant, audited either way.
    pub async fn grant(
        &self,
        method: &Method,
        headers: &HeaderMap,
        body: &[u8],
        context: &RequestContext,
    ) -> Result<TokenGrant, OAuthError> {
        let now = self.clock.now_unix();
        let mut facts = Facts::default();
        let result = self
            .process(method, headers, body, context, now, &mut facts)
            .await
            .map_err(|error| conceal_before_authentication(error, &facts));
        self.record(&result, &facts, context, now).await;
        result
    }

    async fn process(
        &self,
        method: &Method,
        headers: &HeaderMap,
        body: &[u8],
        context: &RequestContext,
        now: i64,
        facts: &mut Facts,
    ) -> Result<TokenGrant, OAuthError> {
        if let Some(ip) = &context.source_ip {
            let limit = self.settings.rate_limit_source_per_minute;
            let bucket = wif_common::source::rate_limit_bucket(ip);
            self.enforce_rate(&format!("token:source:{bucket}"), limit, now).await?;
        }
        let request = parse_token_request(method, headers, body, self.settings.max_body_bytes)?;
        facts.note_request(&request);
        let challenge = request.challenge();
        let with_challenge = |error: OAuthError| match challenge {
            Some(value) if error.status == StatusCode::UNAUTHORIZED => error.with_challenge(value),
            _ => error,
        };
        // The credential in checked form: an assertion is parsed (shape and header only) before any lookup.
        let credential = PresentedCredential::parse(&request.credential, &self.settings.assertion)?;
        facts.note_credential(&credential);
        let registration = self
            .find_registration(&request, &credential)
            .await
            .map_err(with_challenge)?;
        facts.client_id = Some(registration.client_id.clone());
        facts.tenant_id = Some(registration.tenant_id.clone());
        if !registration.enabled {
            return Err(with_challenge(OAuthError::invalid_client("client is disabled")));
        }
        self.authenticate(&credential, &registration, facts, now)
            .await
            .map_err(with_challenge)?;
        let limit = self.settings.rate_limit_client_per_minute;
        self.enforce_rate(&format!("token:client:{}", registration.client_id), limit, now)
            .await?;
        let scopes = grant_scopes(request.scopes.as_deref(), &registration)?;
        self.issue(registration, scopes, now).await
    }

    /// Mints the access token and stores its hash.
    async fn issue(&self, registration: Registration, scopes: Vec<Scope>, now: i64) -> Result<TokenGrant, OAuthError> {
        let access_token = AccessToken::generate().map_err(|err| OAuthError::server_error(err.to_string()))?;
        let lifetime = registration.token_lifetime_seconds;
        let record = TokenRecord {
            token_hash: access_token.hash().to_owned(),
            client_id: registration.client_id.clone(),
            tenant_id: registration.tenant_id.clone(),
            scopes: scopes.clone(),
            issued_at: now,
            expires_at: now.saturating_add(i64::from(lifetime)),
            revoked: false,
        };
        crate::revocation::store_token(self.tokens.as_ref(), &record, registration.version).await?;
        Ok(TokenGrant {
            access_token,
            expires_in: lifetime,
            scopes,
            client_id: registration.client_id,
            tenant_id: registration.tenant_id,
        })
    }

    async fn enforce_rate(&self, key: &str, limit_per_minute: u64, now: i64) -> Result<(), OAuthError> {
        if limit_per_minute == 0 {
            return Ok(());
        }
        let window_start = now - now.rem_euclid(60);
        let window_end = window_start + 60;
        match self.rates.hit(key, window_start, window_end + 60).await {
            Ok(count) if count > limit_per_minute => Err(OAuthError::rate_limited(
                u64::try_from(window_end - now).unwrap_or(1),
                "too many token requests; retry after the indicated time",
            )
            .with_reason(format!(
                "rate limit {key} exceeded: {count} > {limit_per_minute} per minute"
            ))),
            Ok(_) => Ok(()),
            Err(err) => {
                // Failing open: a broken counter table must not stop provisioning; every other protection stays.
                tracing::warn!(key, error = %err, "rate counter unavailable; not limiting");
                Ok(())
            }
        }
    }
}

/// Requested scopes must all be allowed; no request means every allowed scope.
fn grant_scopes(requested: Option<&[Scope]>, registration: &Registration) -> Result<Vec<Scope>, OAuthError> {
    match requested {
        None | Some([]) => {
            if registration.allowed_scopes.is_empty() {
                return Err(OAuthError::invalid_scope("this client has no scopes"));
            }
            Ok(registration.allowed_scopes.clone())
        }
        Some(requested) => {
            if let Some(denied) = requested
                .iter()
                .find(|scope| !registration.allowed_scopes.contains(scope))
            {
                return Err(OAuthError::invalid_scope(format!(
                    "scope {denied} is not allowed for this client"
                )));
            }
            Ok(requested.to_vec())
        }
    }
}

/// What an unauthenticated caller is told about any failed client authentication. The precise reason (unknown
/// client, disabled, method not enabled, a bad signature...) would tell anyone whether a client_id exists and how it
/// is set up; it goes to the audit record only. Once an assertion's signature has verified, the caller is the
/// registered issuer and learns which claim is wrong.
pub const CLIENT_AUTHENTICATION_FAILED: &str = "client authentication failed";

fn conceal_before_authentication(mut error: OAuthError, facts: &Facts) -> OAuthError {
    if error.code != crate::oauth_error::OAuthErrorCode::InvalidClient || facts.signature_verified {
        return error;
    }
    if error.reason != error.description {
        error.reason = format!("{}: {}", error.description, error.reason);
    }
    error.description = CLIENT_AUTHENTICATION_FAILED.to_owned();
    error
}
