//! Reading a Clients item in either shape. Before federated credentials, an item held one trust in four top-level
//! fields (`issuer`, `jwks_uri`, `subject`, `audience`, plus `expected_tid`); such an item reads as a registration
//! with that one credential, marked [`Registration::markers_pending`]. Items are always written in today's shape.

use serde::Deserialize;

use super::{FederatedCredential, Registration, StoredSecret, credential_id};
use crate::scope::Scope;

fn default_true() -> bool {
    true
}

#[derive(Deserialize)]
pub(super) struct StoredRegistration {
    client_id: String,
    tenant_id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    federated_credentials: Option<Vec<FederatedCredential>>,
    allowed_scopes: Vec<Scope>,
    token_lifetime_seconds: u32,
    allowed_algorithms: Vec<String>,
    enabled: bool,
    #[serde(default = "default_true")]
    wif_enabled: bool,
    #[serde(default)]
    secrets_enabled: bool,
    #[serde(default)]
    secrets: Vec<StoredSecret>,
    #[serde(default)]
    events: Option<crate::event_settings::EventSettings>,
    version: u64,
    created_at: i64,
    updated_at: i64,
    // The single trust of an item written before federated credentials.
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    jwks_uri: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    expected_tid: Option<String>,
}

impl StoredRegistration {
    /// The one credential of an item in the shape before federated credentials, if it has one.
    fn legacy_credential(&mut self) -> Option<FederatedCredential> {
        if self.issuer.is_empty() {
            // A secrets-only client: the four values were left out together.
            return None;
        }
        let audience = std::mem::take(&mut self.audience);
        Some(FederatedCredential {
            credential_id: credential_id(&self.issuer, &self.subject),
            issuer: std::mem::take(&mut self.issuer),
            jwks_uri: std::mem::take(&mut self.jwks_uri),
            subject: std::mem::take(&mut self.subject),
            audiences: (!audience.is_empty()).then_some(audience).into_iter().collect(),
            expected_tid: self.expected_tid.take(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl From<StoredRegistration> for Registration {
    fn from(mut stored: StoredRegistration) -> Self {
        let (federated_credentials, markers_pending) = match stored.federated_credentials.take() {
            Some(credentials) => (credentials, false),
            None => {
                let legacy: Vec<FederatedCredential> = stored.legacy_credential().into_iter().collect();
                let pending = !legacy.is_empty();
                (legacy, pending)
            }
        };
        Registration {
            client_id: stored.client_id,
            tenant_id: stored.tenant_id,
            display_name: stored.display_name,
            federated_credentials,
            allowed_scopes: stored.allowed_scopes,
            token_lifetime_seconds: stored.token_lifetime_seconds,
            allowed_algorithms: stored.allowed_algorithms,
            enabled: stored.enabled,
            wif_enabled: stored.wif_enabled,
            secrets_enabled: stored.secrets_enabled,
            secrets: stored.secrets,
            events: stored.events,
            version: stored.version,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
            markers_pending,
        }
    }
}
