//! The token endpoint's use case: one client-credentials grant, over the ports.
//!
//! Order of work, cheapest and least revealing first: per-source rate limit → request parsing → registration
//! lookup → client state → client authentication (assertion: header, algorithm, key from this registration's JWKS
//! only, signature, then claims; or secret) → per-client rate limit → scope decision → mint and store the token.
//! Every outcome is audited (never with the assertion, secret or token) and logged once.
//!
//! The per-client limit counts authenticated requests only: counting attempts would let anyone who knows a
//! client_id (it is not a secret) lock that customer's provisioning out; floods of forged assertions are bounded
//! by the per-source limit instead.

use std::sync::Arc;

use http::{HeaderMap, Method, Response, StatusCode};
use wif_common::Clock;
use wif_common::audit::{AuditCategory, AuditEvent, AuditSink};

use crate::assertion::{AssertionError, AssertionPolicy, UnverifiedAssertion};
use crate::credentials::{AccessToken, verify_client_secret};
use crate::jwks_cache::{JwksCache, JwksCacheSettings, KeyLookupError};
use crate::oauth_error::{OAuthError, no_store_json};
use crate::ports::{ClientLookup, JwksFetcher, KeyStore, RateCounter, TokenRecord, TokenStore};
use crate::registration::Registration;
use crate::scope::Scope;
use crate::token_request::{ClientCredential, TokenRequest, parse_token_request};

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

/// The presented credential after its syntax check.
enum Credential<'a> {
    Assertion(UnverifiedAssertion<'a>),
    Secret(&'a str),
}

/// What we learnt about a request while handling it, for the audit record. Never holds credentials.
#[derive(Debug, Default)]
struct Facts {
    client_id: Option<String>,
    tenant_id: Option<String>,
    method: Option<&'static str>,
    iss: Option<String>,
    sub: Option<String>,
    tid: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    /// Which stored secret authenticated the request, so an admin can see Entra moved to a new secret before
    /// revoking the old one.
    secret_id: Option<String>,
    ignored_key_hints: Vec<&'static str>,
    requested_scopes: Option<Vec<Scope>>,
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
        let result = self.process(method, headers, body, context, now, &mut facts).await;
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
            self.enforce_rate(
                &format!("token:source:{ip}"),
                self.settings.rate_limit_source_per_minute,
                now,
            )
            .await?;
        }
        let request = parse_token_request(method, headers, body, self.settings.max_body_bytes)?;
        facts.method = Some(request.credential.method_name());
        facts.requested_scopes = request.scopes.clone();
        facts.client_id = request.client_id.clone();
        let challenge = request.challenge();
        let with_challenge = |error: OAuthError| match challenge {
            Some(value) if error.status == StatusCode::UNAUTHORIZED => error.with_challenge(value),
            _ => error,
        };
        // The credential in checked form: an assertion is parsed (shape and header only) before any lookup.
        let credential = match &request.credential {
            ClientCredential::Assertion(text) => Credential::Assertion(
                UnverifiedAssertion::parse(text, &self.settings.assertion).map_err(|err| assertion_error(&err))?,
            ),
            ClientCredential::SecretPost(secret) | ClientCredential::SecretBasic(secret) => Credential::Secret(secret),
        };
        let assertion = match &credential {
            Credential::Assertion(assertion) => Some(assertion),
            Credential::Secret(_) => None,
        };
        if let Some(assertion) = assertion {
            let header = assertion.header();
            facts.kid = Some(header.kid.clone());
            facts.alg = Some(header.alg.clone());
            facts.ignored_key_hints = header.ignored_key_hints.clone();
        }
        let registration = self
            .find_registration(&request, assertion)
            .await
            .map_err(with_challenge)?;
        facts.client_id = Some(registration.client_id.clone());
        facts.tenant_id = Some(registration.tenant_id.clone());
        if !registration.enabled {
            return Err(with_challenge(OAuthError::invalid_client("client is disabled")));
        }
        match credential {
            Credential::Assertion(assertion) => {
                if !registration.wif_enabled {
                    return Err(OAuthError::invalid_client(
                        "client_assertion is not enabled for this client",
                    ));
                }
                let alg = assertion
                    .algorithm_for(&registration)
                    .map_err(|err| assertion_error(&err))?;
                let key = self
                    .jwks
                    .key(&registration.jwks_uri, assertion.kid())
                    .await
                    .map_err(|err| key_error(&err, alg.as_str()))?;
                let verified = assertion
                    .verify(&registration, &key, &self.settings.assertion, now)
                    .map_err(|err| assertion_error(&err))?;
                facts.iss = Some(verified.claims.iss);
                facts.sub = Some(verified.claims.sub);
                facts.tid = verified.claims.tid;
            }
            Credential::Secret(secret) => {
                if !registration.secrets_enabled {
                    return Err(with_challenge(OAuthError::invalid_client(
                        "client secrets are not enabled for this client",
                    )));
                }
                match verify_client_secret(&registration, secret, now) {
                    Some(secret_id) => facts.secret_id = Some(secret_id),
                    None => {
                        return Err(with_challenge(
                            OAuthError::invalid_client("client authentication failed")
                                .with_reason("the client secret matches no unexpired secret of the client"),
                        ));
                    }
                }
            }
        }
        self.enforce_rate(
            &format!("token:client:{}", registration.client_id),
            self.settings.rate_limit_client_per_minute,
            now,
        )
        .await?;
        let scopes = grant_scopes(request.scopes.as_deref(), &registration)?;
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
        self.tokens.put_token(&record).await.map_err(|err| {
            OAuthError::temporarily_unavailable("the token could not be issued; retry shortly")
                .with_reason(format!("token store write failed: {err}"))
        })?;
        Ok(TokenGrant {
            access_token,
            expires_in: lifetime,
            scopes,
            client_id: registration.client_id,
            tenant_id: registration.tenant_id,
        })
    }

    async fn find_registration(
        &self,
        request: &TokenRequest,
        assertion: Option<&UnverifiedAssertion<'_>>,
    ) -> Result<Registration, OAuthError> {
        let unavailable = |err: crate::ports::StoreUnavailable| {
            OAuthError::temporarily_unavailable("client registrations are temporarily unavailable")
                .with_reason(format!("clients table: {err}"))
        };
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
        let no_match = "send client_id, or an assertion whose iss and sub identify exactly one registration";
        let (issuer, subject) = assertion
            .and_then(UnverifiedAssertion::unverified_issuer_subject)
            .ok_or_else(|| {
                OAuthError::invalid_client(no_match).with_reason("no client_id and no string iss/sub in the assertion")
            })?;
        let mut candidates: Vec<Registration> = self
            .clients
            .find_by_issuer_subject(&issuer, &subject)
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter(|registration| registration.issuer == issuer && registration.subject == subject)
            .collect();
        if candidates.len() > 1 {
            // Several registrations for one workload identity (e.g. a disabled old one): only enabled ones count.
            candidates.retain(|registration| registration.enabled && registration.wif_enabled);
        }
        match candidates.len() {
            1 => Ok(candidates.remove(0)),
            0 => Err(OAuthError::invalid_client(no_match)
                .with_reason(format!("no registration for iss {issuer:?} sub {subject:?}"))),
            n => Err(OAuthError::invalid_client(no_match).with_reason(format!(
                "{n} registrations for iss {issuer:?} sub {subject:?}; client_id needed"
            ))),
        }
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

    async fn record(&self, result: &Result<TokenGrant, OAuthError>, facts: &Facts, context: &RequestContext, now: i64) {
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
        let mut put = |key: &str, value: &Option<String>| {
            if let Some(value) = value {
                event.details.insert(key.to_owned(), value.clone().into());
            }
        };
        put("iss", &facts.iss);
        put("sub", &facts.sub);
        put("tid", &facts.tid);
        put("kid", &facts.kid);
        put("alg", &facts.alg);
        put("secret_id", &facts.secret_id);
        put("auth_method", &facts.method.map(str::to_owned));
        if !facts.ignored_key_hints.is_empty() {
            event.details.insert(
                "ignored_header_key_hints".to_owned(),
                facts.ignored_key_hints.clone().into(),
            );
        }
        if let Some(requested) = &facts.requested_scopes {
            event
                .details
                .insert("requested_scopes".to_owned(), scope_string(requested).into());
        }
        match result {
            Ok(grant) => {
                event
                    .details
                    .insert("scopes".to_owned(), scope_string(&grant.scopes).into());
                event.details.insert("expires_in".to_owned(), grant.expires_in.into());
                tracing::info!(
                    client_id = %grant.client_id,
                    tenant_id = %grant.tenant_id,
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

fn assertion_error(error: &AssertionError) -> OAuthError {
    OAuthError::invalid_client(error.public_description.clone()).with_reason(error.reason.clone())
}

fn key_error(error: &KeyLookupError, alg: &str) -> OAuthError {
    let printable_kid = |kid: &str| kid.chars().filter(char::is_ascii_graphic).take(64).collect::<String>();
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
