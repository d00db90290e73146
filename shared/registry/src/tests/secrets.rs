//! Client secrets: shown once, stored hashed, at most two active, revocation, and concurrent creation.

use std::sync::Arc;

use wif_admin_api::{ClientSettings, ClientUpdate, NewSecret};
use wif_auth::credentials::verify_client_secret;
use wif_auth::ports::{StoreUnavailable, TokenStore};
use wif_auth::registration::Registration;
use wif_auth::testing::{InMemoryTokenStore, RecordingAudit};
use wif_common::{Clock, FixedClock};

use super::{actor, live_token, new_client, service_over};
use crate::error::RegistryError;
use crate::memory::InMemoryRegistrations;
use crate::ports::{ListError, RegistrationPage, RegistrationStore, RegistrationWriteError};
use crate::service::RegistryService;

const DAY: i64 = 86_400;

/// A registered client to create secrets for.
struct SecretsFixture {
    service: RegistryService,
    store: Arc<InMemoryRegistrations>,
    tokens: Arc<InMemoryTokenStore>,
    audit: Arc<RecordingAudit>,
    clock: Arc<FixedClock>,
    client_id: String,
}

async fn fixture() -> SecretsFixture {
    let f = super::fixture();
    let view = f.service.create(new_client(), &actor()).await.unwrap();
    SecretsFixture {
        service: f.service,
        store: f.store,
        tokens: f.tokens,
        audit: f.audit,
        clock: f.clock,
        client_id: view.client_id,
    }
}

async fn stored(f: &SecretsFixture) -> Registration {
    f.store.get(&f.client_id).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_secret_is_shown_once_stored_hashed_and_switches_secrets_on() {
    let f = fixture().await;
    assert!(!stored(&f).await.secrets_enabled);
    let created = f
        .service
        .create_secret(
            &f.client_id,
            NewSecret {
                description: Some("Entra gallery app".into()),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .unwrap();
    assert!(created.client_secret.starts_with("wif_cs_"));
    assert_eq!(created.expires_at - created.created_at, 365 * DAY);
    assert_eq!(created.created_at, 1_800_000_000);
    assert!(created.secrets_enabled);
    assert_eq!(
        created.token_endpoint_auth_methods,
        vec!["private_key_jwt", "client_secret_basic", "client_secret_post"]
    );
    assert_eq!(created.version, 2);
    assert!(!format!("{created:?}").contains(&created.client_secret));

    let registration = stored(&f).await;
    assert!(registration.secrets_enabled);
    assert_eq!(registration.secrets.len(), 1);
    let serialized = serde_json::to_string(&registration).unwrap();
    assert!(
        !serialized.contains(&created.client_secret),
        "the value must never be stored"
    );
    assert_eq!(
        verify_client_secret(&registration, &created.client_secret, f.clock.now_unix()),
        Some(created.secret_id.clone())
    );

    let listed = f.service.list_secrets(&f.client_id).await.unwrap();
    assert_eq!((listed.active, listed.max_active), (1, 2));
    assert_eq!(listed.secrets[0].status, "active");
    assert_eq!(listed.secrets[0].description.as_deref(), Some("Entra gallery app"));
    assert!(
        !serde_json::to_string(&listed)
            .unwrap()
            .contains(&registration.secrets[0].hash)
    );

    let event = f.audit.last().unwrap();
    assert_eq!(event.action, "admin.secret.create");
    assert_eq!(event.details["secret_id"], created.secret_id.as_str());
    assert_eq!(event.details["secrets_enabled_by_this_change"], true);
    assert!(!serde_json::to_string(&event).unwrap().contains(&created.client_secret));
}

#[tokio::test]
async fn at_most_two_active_secrets_and_expiry_frees_a_slot() {
    let f = fixture().await;
    let first = f
        .service
        .create_secret(&f.client_id, NewSecret::default(), &actor())
        .await
        .unwrap();
    f.clock.advance(100 * DAY);
    let second = f
        .service
        .create_secret(
            &f.client_id,
            NewSecret {
                expires_in_days: Some(1095),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .unwrap();
    let err = f
        .service
        .create_secret(&f.client_id, NewSecret::default(), &actor())
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (409, "conflict"));
    assert!(err.to_string().contains("already has 2 active secrets"), "{err}");
    assert!(err.to_string().contains(&first.secret_id), "{err}");

    // Both work during the overlap.
    let now = f.clock.now_unix();
    let registration = stored(&f).await;
    assert!(verify_client_secret(&registration, &first.client_secret, now).is_some());
    assert!(verify_client_secret(&registration, &second.client_secret, now).is_some());

    // The first expires exactly 365 days after it was created: no longer accepted, listed as expired, and
    // its slot is free again; creating the next secret prunes it.
    f.clock.set(first.expires_at);
    let registration = stored(&f).await;
    assert_eq!(
        verify_client_secret(&registration, &first.client_secret, first.expires_at),
        None
    );
    assert!(verify_client_secret(&registration, &second.client_secret, first.expires_at).is_some());
    let listed = f.service.list_secrets(&f.client_id).await.unwrap();
    assert_eq!(listed.active, 1);
    let statuses: Vec<(&str, &str)> = listed
        .secrets
        .iter()
        .map(|s| (s.secret_id.as_str(), s.status.as_str()))
        .collect();
    assert!(statuses.contains(&(first.secret_id.as_str(), "expired")));
    assert!(statuses.contains(&(second.secret_id.as_str(), "active")));
    let third = f
        .service
        .create_secret(&f.client_id, NewSecret::default(), &actor())
        .await
        .unwrap();
    let ids: Vec<String> = stored(&f).await.secrets.into_iter().map(|s| s.secret_id).collect();
    assert_eq!(ids, vec![second.secret_id.clone(), third.secret_id.clone()]);
    assert_eq!(
        f.audit.last().unwrap().details["pruned_expired_secrets"],
        serde_json::json!([first.secret_id])
    );
}

#[tokio::test]
async fn revoke_removes_one_secret_and_optionally_the_live_tokens() {
    let f = fixture().await;
    let old = f
        .service
        .create_secret(&f.client_id, NewSecret::default(), &actor())
        .await
        .unwrap();
    let new = f
        .service
        .create_secret(&f.client_id, NewSecret::default(), &actor())
        .await
        .unwrap();
    f.tokens.put_token(&live_token(&f.client_id, "h1")).await.unwrap();

    let revoked = f
        .service
        .revoke_secret(&f.client_id, &old.secret_id, None, false, &actor())
        .await
        .unwrap();
    assert_eq!((revoked.revoked, revoked.revoked_tokens), (true, None));
    let registration = stored(&f).await;
    let now = f.clock.now_unix();
    assert_eq!(verify_client_secret(&registration, &old.client_secret, now), None);
    assert!(verify_client_secret(&registration, &new.client_secret, now).is_some());
    assert!(!f.tokens.records()[0].revoked, "a planned rotation keeps live tokens");
    assert_eq!(f.audit.last().unwrap().action, "admin.secret.revoke");

    let err = f
        .service
        .revoke_secret(&f.client_id, &old.secret_id, None, false, &actor())
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (404, "not_found"));
    assert!(err.to_string().contains(&old.secret_id));

    let err = f
        .service
        .revoke_secret(&f.client_id, &new.secret_id, Some(1), true, &actor())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "version_conflict");
    let revoked = f
        .service
        .revoke_secret(&f.client_id, &new.secret_id, Some(revoked.version), true, &actor())
        .await
        .unwrap();
    assert_eq!(revoked.revoked_tokens, Some(1));
    assert!(f.tokens.records()[0].revoked);
    assert!(stored(&f).await.secrets.is_empty());
    // Secrets stay enabled: the registration's methods are the admin's decision, not a side effect.
    assert!(stored(&f).await.secrets_enabled);
}

#[tokio::test]
async fn bad_secret_requests_name_the_field() {
    let f = fixture().await;
    for (request, prefix) in [
        (
            NewSecret {
                expires_in_days: Some(364),
                ..Default::default()
            },
            "expires_in_days:",
        ),
        (
            NewSecret {
                expires_in_days: Some(1096),
                ..Default::default()
            },
            "expires_in_days:",
        ),
        (
            NewSecret {
                expires_in_days: Some(-5),
                ..Default::default()
            },
            "expires_in_days:",
        ),
        (
            NewSecret {
                description: Some("  ".into()),
                ..Default::default()
            },
            "description:",
        ),
        (
            NewSecret {
                description: Some("a\nb".into()),
                ..Default::default()
            },
            "description:",
        ),
        (
            NewSecret {
                description: Some("x".repeat(201)),
                ..Default::default()
            },
            "description:",
        ),
    ] {
        let err = f
            .service
            .create_secret(&f.client_id, request, &actor())
            .await
            .unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.to_string().starts_with(prefix), "{err}");
    }
    let err = f
        .service
        .create_secret(
            &f.client_id,
            NewSecret {
                version: Some(9),
                ..Default::default()
            },
            &actor(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "version_conflict");
    let err = f
        .service
        .create_secret("nope", NewSecret::default(), &actor())
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
    assert!(stored(&f).await.secrets.is_empty());
}

#[tokio::test]
async fn auth_methods_can_be_switched_but_not_both_off() {
    let f = fixture().await;
    let update = |version, wif: Option<bool>, secrets: Option<bool>| ClientUpdate {
        version: Some(version),
        settings: ClientSettings {
            wif_enabled: wif,
            secrets_enabled: secrets,
            ..Default::default()
        },
    };
    let err = f
        .service
        .update(&f.client_id, update(1, Some(false), None), &actor())
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("wif_enabled: at least one"), "{err}");
    let view = f
        .service
        .update(&f.client_id, update(1, Some(false), Some(true)), &actor())
        .await
        .unwrap();
    assert!(!view.wif_enabled && view.secrets_enabled);
    let err = f
        .service
        .update(&f.client_id, update(2, None, Some(false)), &actor())
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("secrets_enabled: at least one"), "{err}");
    let view = f
        .service
        .update(&f.client_id, update(2, Some(true), None), &actor())
        .await
        .unwrap();
    assert!(view.wif_enabled && view.secrets_enabled);
    assert_eq!(
        f.audit.last().unwrap().details["changed"],
        serde_json::json!(["wif_enabled"])
    );
}

/// Yields between every read and the following write, so concurrent tasks on the test runtime really do read
/// the same version and race for the conditional write.
struct YieldingStore(InMemoryRegistrations);

#[async_trait::async_trait]
impl RegistrationStore for YieldingStore {
    async fn insert(&self, registration: &Registration) -> Result<(), RegistrationWriteError> {
        self.0.insert(registration).await
    }
    async fn get(&self, client_id: &str) -> Result<Option<Registration>, StoreUnavailable> {
        let found = self.0.get(client_id).await;
        tokio::task::yield_now().await;
        found
    }
    async fn replace(&self, current: &Registration, updated: &Registration) -> Result<(), RegistrationWriteError> {
        self.0.replace(current, updated).await
    }
    async fn delete(&self, current: &Registration) -> Result<bool, RegistrationWriteError> {
        self.0.delete(current).await
    }
    async fn list(
        &self,
        tenant_id: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<RegistrationPage, ListError> {
        self.0.list(tenant_id, cursor, limit).await
    }
}

#[tokio::test]
async fn concurrent_creations_never_exceed_the_limit() {
    let store = Arc::new(YieldingStore(InMemoryRegistrations::default()));
    let service = Arc::new(service_over(
        store.clone(),
        Arc::new(InMemoryTokenStore::default()),
        Arc::new(RecordingAudit::default()),
        Arc::new(FixedClock::at(1_800_000_000)),
        Arc::new(wif_auth::testing::StaticJwksFetcher::default()),
    ));
    let mut registration = wif_auth::testing::sample_registration("c-race");
    registration.version = 1;
    store.insert(&registration).await.unwrap();
    let mut handles = Vec::new();
    for _ in 0..6 {
        let service = service.clone();
        handles.push(tokio::spawn(async move {
            service.create_secret("c-race", NewSecret::default(), &actor()).await
        }));
    }
    let (mut created, mut limited, mut lost_races) = (0, 0, 0);
    for handle in handles {
        match handle.await.unwrap() {
            Ok(_) => created += 1,
            Err(RegistryError::Conflict(_)) => limited += 1,
            Err(RegistryError::VersionConflict { .. }) => lost_races += 1,
            Err(err) => panic!("unexpected {err}"),
        }
    }
    assert_eq!(created, 2, "limited {limited}, lost races {lost_races}");
    assert_eq!(created + limited + lost_races, 6);
    let stored = store.get("c-race").await.unwrap().unwrap();
    assert_eq!(stored.secrets.len(), 2, "no secret was lost or added past the limit");
    assert_eq!(stored.version, 3, "exactly two successful writes");
}
