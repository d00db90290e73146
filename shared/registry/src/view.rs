//! What the admin API shows of a registration: everything stored except secret hashes, plus the URLs the customer
//! pastes into Entra.

use serde::Serialize;

use wif_auth::event_settings::EventSettings;
use wif_auth::registration::{Registration, StoredSecret};
use wif_auth::scope::Scope;

/// A client secret as the admin API lists it: never the value, never the hash (a hash of a 256-bit random value
/// is harmless, but nobody needs it and it would only invite comparisons).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretView {
    pub secret_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// `active` (accepted by the token endpoint) or `expired`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl SecretView {
    pub fn at(secret: &StoredSecret, now: i64) -> Self {
        Self {
            secret_id: secret.secret_id.clone(),
            created_at: secret.created_at,
            expires_at: secret.expires_at,
            // Same rule as wif_auth::credentials::active_secrets: valid while expires_at is in the future.
            status: if secret.expires_at > now { "active" } else { "expired" },
            description: secret.description.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistrationView {
    pub client_id: String,
    pub tenant_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub issuer: String,
    pub jwks_uri: String,
    pub subject: String,
    pub audience: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_tid: Option<String>,
    pub scopes: Vec<Scope>,
    pub token_lifetime_seconds: u32,
    pub allowed_algorithms: Vec<String>,
    pub enabled: bool,
    pub wif_enabled: bool,
    pub secrets_enabled: bool,
    pub secrets: Vec<SecretView>,
    pub version: u64,
    pub created_at: i64,
    pub updated_at: i64,
    pub token_url: String,
    pub scim_url: String,
    /// Where this registration polls its tenant's events (with the `events.read` scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events_jwks_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<EventSettings>,
}

impl RegistrationView {
    pub fn new(registration: &Registration, urls: &crate::PublicUrls, now: i64) -> Self {
        let receives_events = registration.allowed_scopes.contains(&Scope::EventsRead);
        Self {
            client_id: registration.client_id.clone(),
            tenant_id: registration.tenant_id.clone(),
            display_name: registration.display_name.clone(),
            issuer: registration.issuer.clone(),
            jwks_uri: registration.jwks_uri.clone(),
            subject: registration.subject.clone(),
            audience: registration.audience.clone(),
            expected_tid: registration.expected_tid.clone(),
            scopes: registration.allowed_scopes.clone(),
            token_lifetime_seconds: registration.token_lifetime_seconds,
            allowed_algorithms: registration.allowed_algorithms.clone(),
            enabled: registration.enabled,
            wif_enabled: registration.wif_enabled,
            secrets_enabled: registration.secrets_enabled,
            secrets: registration
                .secrets
                .iter()
                .map(|secret| SecretView::at(secret, now))
                .collect(),
            version: registration.version,
            created_at: registration.created_at,
            updated_at: registration.updated_at,
            token_url: urls.token_url.clone(),
            scim_url: urls.scim_url.clone(),
            events_url: receives_events.then(|| urls.events_url.clone()).flatten(),
            events_jwks_url: receives_events.then(|| urls.events_jwks_url.clone()).flatten(),
            events: receives_events.then(|| registration.events.clone().unwrap_or_default()),
        }
    }
}
