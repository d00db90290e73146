//! What the admin API shows of a registration (the wire types of `wif-admin-api`): everything stored except secret
//! hashes, plus the URLs the customer pastes into Entra.

use wif_admin_api::{Client, ClientEvents, SecretInfo};
use wif_auth::registration::{FederatedCredential, Registration, StoredSecret};
use wif_auth::scope::Scope;

use crate::service::PublicUrls;

/// A client secret as listed: never the value, never the hash (a hash of a 256-bit random value is harmless, but
/// nobody needs it and it would only invite comparisons).
pub fn secret_info(secret: &StoredSecret, now: i64) -> SecretInfo {
    SecretInfo {
        secret_id: secret.secret_id.clone(),
        created_at: secret.created_at,
        expires_at: secret.expires_at,
        // Same rule as wif_auth::credentials::active_secrets: valid while expires_at is in the future.
        status: if secret.expires_at > now { "active" } else { "expired" }.to_owned(),
        description: secret.description.clone(),
    }
}

pub fn credential_view(credential: &FederatedCredential) -> wif_admin_api::FederatedCredential {
    wif_admin_api::FederatedCredential {
        credential_id: credential.credential_id.clone(),
        issuer: credential.issuer.clone(),
        jwks_uri: credential.jwks_uri.clone(),
        subject: credential.subject.clone(),
        audiences: credential.audiences.clone(),
        expected_tid: credential.expected_tid.clone(),
        created_at: credential.created_at,
        updated_at: credential.updated_at,
    }
}

pub fn client_view(registration: &Registration, urls: &PublicUrls, now: i64) -> Client {
    let receives_events = registration.allowed_scopes.contains(&Scope::EventsRead);
    Client {
        client_id: registration.client_id.clone(),
        tenant_id: registration.tenant_id.clone(),
        display_name: registration.display_name.clone(),
        federated_credentials: registration.federated_credentials.iter().map(credential_view).collect(),
        scopes: registration
            .allowed_scopes
            .iter()
            .map(|scope| scope.as_str().to_owned())
            .collect(),
        token_lifetime_seconds: registration.token_lifetime_seconds,
        allowed_algorithms: registration.allowed_algorithms.clone(),
        enabled: registration.enabled,
        wif_enabled: registration.wif_enabled,
        secrets_enabled: registration.secrets_enabled,
        secrets: registration
            .secrets
            .iter()
            .map(|secret| secret_info(secret, now))
            .collect(),
        version: registration.version,
        created_at: registration.created_at,
        updated_at: registration.updated_at,
        token_url: urls.token_url.clone(),
        scim_url: urls.scim_url.clone(),
        events_url: receives_events.then(|| urls.events_url.clone()).flatten(),
        events_jwks_url: receives_events.then(|| urls.events_jwks_url.clone()).flatten(),
        events: receives_events.then(|| {
            let events = registration.events.clone().unwrap_or_default();
            ClientEvents {
                level: Some(events.level.as_str().to_owned()),
                push_url: events.push_url,
            }
        }),
        warnings: Vec::new(),
    }
}
