//! Unit tests of the registry service over the in-memory stores, and the fixture they share.

mod credentials;
mod registrations;
mod secrets;

use std::sync::Arc;

use wif_admin_api::{ClientSettings, NewClient};
use wif_auth::ports::{TokenRecord, TokenStore};
use wif_auth::registration::RegistrationPolicy;
use wif_auth::scope::Scope;
use wif_auth::testing::{InMemoryTokenStore, RecordingAudit, StaticJwksFetcher};
use wif_common::FixedClock;

use crate::memory::InMemoryRegistrations;
use crate::ports::RegistrationStore;
use crate::service::{Actor, PublicUrls, RegistryPorts, RegistryService};

const TID: &str = "11111111-2222-3333-4444-555555555555";

struct Fixture {
    service: RegistryService,
    store: Arc<InMemoryRegistrations>,
    tokens: Arc<InMemoryTokenStore>,
    audit: Arc<RecordingAudit>,
    clock: Arc<FixedClock>,
    /// Serves OpenID configurations for JWKS URL discovery.
    fetcher: Arc<StaticJwksFetcher>,
}

/// The service with the default policy and example public URLs.
fn service_over(
    store: Arc<dyn RegistrationStore>,
    tokens: Arc<dyn TokenStore>,
    audit: Arc<RecordingAudit>,
    clock: Arc<FixedClock>,
    fetcher: Arc<StaticJwksFetcher>,
) -> RegistryService {
    RegistryService::new(
        RegistryPorts {
            store,
            tokens,
            audit,
            clock,
            fetcher,
        },
        RegistrationPolicy::default(),
        PublicUrls {
            token_url: "https://auth.example.com/oauth2/token".into(),
            scim_url: "https://scim.example.com/scim/v2".into(),
            ..Default::default()
        },
    )
}

fn fixture() -> Fixture {
    let store = Arc::new(InMemoryRegistrations::default());
    let tokens = Arc::new(InMemoryTokenStore::default());
    let audit = Arc::new(RecordingAudit::default());
    let clock = Arc::new(FixedClock::at(1_800_000_000));
    let fetcher = Arc::new(StaticJwksFetcher::default());
    Fixture {
        service: service_over(
            store.clone(),
            tokens.clone(),
            audit.clone(),
            clock.clone(),
            fetcher.clone(),
        ),
        store,
        tokens,
        audit,
        clock,
        fetcher,
    }
}

/// A v1 Entra registration of the fictional Contoso, with a workload identity of its own (a trust is unique across
/// registrations, so every call names a new subject).
fn new_client() -> NewClient {
    NewClient {
        settings: ClientSettings {
            issuer: Some(format!("https://sts.windows.net/{TID}/")),
            jwks_uri: Some(format!("https://login.microsoftonline.com/{TID}/discovery/keys")),
            subject: Some(uuid::Uuid::new_v4().to_string()),
            audience: Some("api://contoso-scim".into()),
            display_name: Some("Contoso".into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn actor() -> Actor {
    Actor {
        principal: "arn:aws:iam::123456789012:user/ops".into(),
        ..Default::default()
    }
}

fn live_token(client_id: &str, hash: &str) -> TokenRecord {
    TokenRecord {
        token_hash: hash.into(),
        client_id: client_id.into(),
        tenant_id: "t".into(),
        scopes: vec![Scope::Scim],
        issued_at: 1_800_000_000,
        expires_at: 1_800_003_600,
        revoked: false,
    }
}
