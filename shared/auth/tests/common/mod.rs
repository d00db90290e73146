//! A token service over in-memory ports, with one registration (`c1`) whose JWKS holds a freshly generated key.
#![allow(dead_code)]

use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method, Response, header};
use wif_auth::jwks_cache::JwksCacheSettings;
use wif_auth::registration::Registration;
use wif_auth::service::{CLIENT_AUTHENTICATION_FAILED, RequestContext, TokenPorts, TokenService, TokenSettings};
use wif_auth::testing::*;
use wif_common::FixedClock;

pub const NOW: i64 = 1_750_000_000;
pub const JWT_BEARER: &str = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";

pub struct Harness {
    pub service: TokenService,
    pub clients: Arc<InMemoryClients>,
    pub tokens: Arc<InMemoryTokenStore>,
    pub keys: Arc<InMemoryKeyStore>,
    pub fetcher: Arc<StaticJwksFetcher>,
    pub rates: Arc<InMemoryRateCounter>,
    pub audit: Arc<RecordingAudit>,
    pub clock: Arc<FixedClock>,
    pub key: TestKey,
    pub registration: Registration,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_settings(TokenSettings::default())
    }

    pub fn with_settings(settings: TokenSettings) -> Self {
        let clients = Arc::new(InMemoryClients::default());
        let tokens = Arc::new(InMemoryTokenStore::default());
        let keys = Arc::new(InMemoryKeyStore::default());
        let fetcher = Arc::new(StaticJwksFetcher::default());
        let rates = Arc::new(InMemoryRateCounter::default());
        let audit = Arc::new(RecordingAudit::default());
        let clock = Arc::new(FixedClock::at(NOW));
        let key = TestKey::rsa("k1");
        let registration = sample_registration("c1");
        fetcher.serve(&registration.federated_credentials[0].jwks_uri, &jwks_document(&[&key]));
        clients.insert(registration.clone());
        let service = TokenService::new(
            TokenPorts {
                clients: clients.clone(),
                tokens: tokens.clone(),
                key_store: keys.clone(),
                fetcher: fetcher.clone(),
                rates: rates.clone(),
                audit: audit.clone(),
                clock: clock.clone(),
            },
            settings,
            JwksCacheSettings::default(),
        );
        Self {
            service,
            clients,
            tokens,
            keys,
            fetcher,
            rates,
            audit,
            clock,
            key,
            registration,
        }
    }

    pub fn claims(&self) -> serde_json::Value {
        entra_like_claims(&self.registration, NOW)
    }

    /// A valid assertion for `c1` with `claims` changed by `edit`.
    pub fn assertion_with(&self, edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> String {
        let mut claims = self.claims();
        if let Some(map) = claims.as_object_mut() {
            edit(map);
        }
        sign_jwt(&self.key, "RS256", &claims)
    }

    pub fn assertion(&self) -> String {
        self.assertion_with(|_| {})
    }

    pub async fn post(&self, body: &str) -> Response<String> {
        self.post_with(body, form_headers()).await
    }

    pub async fn post_with(&self, body: &str, headers: HeaderMap) -> Response<String> {
        let context = RequestContext {
            source_ip: Some("198.51.100.7".into()),
            user_agent: Some("Microsoft.Identity.Provisioning".into()),
            request_id: Some("req-1".into()),
        };
        self.service
            .token_response(&Method::POST, &headers, body.as_bytes(), &context)
            .await
    }

    pub async fn post_assertion(&self, assertion: &str) -> Response<String> {
        self.post(&assertion_form(Some("c1"), assertion, Some("scim"))).await
    }

    /// A 401 `invalid_client` for `reason_part`: an unauthenticated caller is only ever told
    /// [`CLIENT_AUTHENTICATION_FAILED`] and the audit record gives the reason; after a verified signature the
    /// description names the problem.
    pub fn assert_refused(&self, response: &Response<String>, reason_part: &str) {
        let (status, error, description) = error_of(response);
        assert_eq!((status, error.as_str()), (401, "invalid_client"), "{description}");
        if description == CLIENT_AUTHENTICATION_FAILED {
            let reason = self.audit.last().and_then(|event| event.reason).unwrap_or_default();
            assert!(
                reason.contains(reason_part),
                "audit reason {reason:?} lacks {reason_part:?}"
            );
        } else {
            assert!(
                description.contains(reason_part),
                "description {description:?} is neither generic nor names {reason_part:?}"
            );
        }
    }
}

pub fn form_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers
}

pub fn assertion_form(client_id: Option<&str>, assertion: &str, scope: Option<&str>) -> String {
    let mut body =
        format!("grant_type=client_credentials&client_assertion_type={JWT_BEARER}&client_assertion={assertion}");
    if let Some(id) = client_id {
        body.push_str(&format!("&client_id={id}"));
    }
    if let Some(scope) = scope {
        body.push_str(&format!("&scope={scope}"));
    }
    body
}

/// `(status, error, error_description)` of an OAuth error response.
pub fn error_of(response: &Response<String>) -> (u16, String, String) {
    let json: serde_json::Value = serde_json::from_str(response.body()).expect("error body is JSON");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    (
        response.status().as_u16(),
        json["error"].as_str().unwrap_or_default().to_owned(),
        json["error_description"].as_str().unwrap_or_default().to_owned(),
    )
}

pub fn assert_invalid_client(response: &Response<String>, description_part: &str) {
    let (status, error, description) = error_of(response);
    assert_eq!((status, error.as_str()), (401, "invalid_client"), "{description}");
    assert!(
        description.contains(description_part),
        "description {description:?} lacks {description_part:?}"
    );
}
