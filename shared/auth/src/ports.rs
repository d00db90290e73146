//! Storage the token endpoint needs, as narrow traits. `wif-store` implements them over DynamoDB; unit tests use
//! small in-memory versions.

use serde::{Deserialize, Serialize};

use crate::registration::{Registration, Trust};
use crate::scope::Scope;

/// The backing store could not answer (network, throttling, a malformed item). Callers map it to a 503/500-class
/// protocol error; it never means "not found".
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("storage unavailable: {0}")]
pub struct StoreUnavailable(pub String);

/// Read access to registrations, as the token endpoint needs it.
#[async_trait::async_trait]
pub trait ClientLookup: Send + Sync {
    /// Strongly consistent: a disabled or changed registration takes effect on the very next request.
    async fn get_client(&self, client_id: &str) -> Result<Option<Registration>, StoreUnavailable>;
    /// The one registration that holds this (issuer, subject, audience), read through the trust's uniqueness marker
    /// and then the registration itself, both strongly consistent; used when a token request carries an assertion
    /// but no `client_id`.
    async fn find_by_trust(&self, trust: &Trust) -> Result<Option<Registration>, StoreUnavailable>;
}

/// An issued access token as stored (Tokens table). Only the SHA-256 of the token is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Hex SHA-256 of the access token string (the table key).
    pub token_hash: String,
    pub client_id: String,
    pub tenant_id: String,
    pub scopes: Vec<Scope>,
    pub issued_at: i64,
    /// Unix seconds; also the table's TTL attribute. Readers still compare it: TTL deletes late.
    pub expires_at: i64,
    #[serde(default)]
    pub revoked: bool,
}

#[async_trait::async_trait]
pub trait TokenStore: Send + Sync {
    async fn put_token(&self, record: &TokenRecord) -> Result<(), StoreUnavailable>;
    /// Writes `record` only if its client's registration is still enabled at `registration_version`, and records it
    /// in the client's token index, atomically (see [`crate::revocation`]).
    async fn put_token_if_current(
        &self,
        record: &TokenRecord,
        registration_version: u64,
    ) -> Result<(), crate::revocation::IssueError>;
    async fn get_token(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreUnavailable>;
    /// Marks every live token of the client revoked; returns how many were revoked.
    async fn revoke_client_tokens(&self, client_id: &str) -> Result<usize, StoreUnavailable>;
}

/// The shared (second-level) JWKS cache entry of one JWKS URL (Keys table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredJwks {
    pub jwks_uri: String,
    /// The last good JWKS document, as fetched. `None` if no fetch has ever succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// When `document` was fetched (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetched_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The last fetch attempt, success or failure; drives the cross-environment refetch cooldown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure_at: Option<i64>,
}

#[async_trait::async_trait]
pub trait KeyStore: Send + Sync {
    async fn get_jwks(&self, jwks_uri: &str) -> Result<Option<StoredJwks>, StoreUnavailable>;
    /// Records a successful fetch (replaces document, etag, fetched_at, last_attempt_at; clears last_failure).
    async fn put_jwks(&self, entry: &StoredJwks) -> Result<(), StoreUnavailable>;
    /// Records a failed fetch, keeping the last good document.
    async fn record_fetch_failure(&self, jwks_uri: &str, at: i64, reason: &str) -> Result<(), StoreUnavailable>;
}

/// Fixed-window counters shared by every Lambda environment.
#[async_trait::async_trait]
pub trait RateCounter: Send + Sync {
    /// Adds `hits` to the counter `key` for the window starting at `window_start` and returns the new count.
    /// The counter expires (TTL) at `expires_at`.
    async fn add(&self, key: &str, hits: u64, window_start: i64, expires_at: i64) -> Result<u64, StoreUnavailable>;

    /// Adds one hit.
    async fn hit(&self, key: &str, window_start: i64, expires_at: i64) -> Result<u64, StoreUnavailable> {
        self.add(key, 1, window_start, expires_at).await
    }
}

/// The answer of one JWKS fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksFetchOutcome {
    /// A new document (status 200). `max_age` is the server's Cache-Control max-age, if any.
    Fresh {
        body: String,
        etag: Option<String>,
        max_age: Option<u64>,
    },
    /// The server confirmed our `etag` is current (status 304).
    NotModified { max_age: Option<u64> },
}

/// Why a JWKS fetch failed. The cache records the `Display` text as the Keys table's `last_failure`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksFetchError {
    #[error("JWKS URL refused by policy: {0}")]
    Disallowed(String),
    #[error("JWKS fetch timed out")]
    Timeout,
    #[error("JWKS fetch failed to connect: {0}")]
    Connect(String),
    #[error("JWKS server answered with status {0}")]
    Status(u16),
    #[error("JWKS server redirected to {0}; redirects are not followed")]
    Redirect(String),
    #[error("JWKS document exceeds {limit} bytes")]
    TooLarge { limit: usize },
    #[error("JWKS document is not UTF-8")]
    NotUtf8,
    #[error("JWKS fetch failed: {0}")]
    Transport(String),
}

/// Fetches a JWKS document over the network. `wif-jwks-http` implements it; the URL policy is applied by the
/// implementation on every call.
#[async_trait::async_trait]
pub trait JwksFetcher: Send + Sync {
    /// Fetches `jwks_uri`, sending `If-None-Match: etag` when given.
    async fn fetch(&self, jwks_uri: &str, etag: Option<&str>) -> Result<JwksFetchOutcome, JwksFetchError>;
    /// Fetches an OpenID configuration document (to discover a JWKS URL at registration), under the same policy
    /// and limits as a JWKS.
    async fn fetch_openid_configuration(&self, url: &str) -> Result<String, JwksFetchError>;
}
