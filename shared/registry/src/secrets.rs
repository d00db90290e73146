//! Client secrets for the non-WIF mode Microsoft's app gallery requires (`client_secret_basic` /
//! `client_secret_post`): generated here, shown once, stored only as a SHA-256 (wif-auth's credentials module),
//! at most [`MAX_ACTIVE_SECRETS`] unexpired at a time so a rotation can overlap, each expiring after 1–3 years.
//!
//! Every change is a read-modify-write of the registration item guarded by its version, so two admins creating
//! secrets at once can never push a client past the limit or lose each other's secret.

use serde::{Deserialize, Serialize};

use wif_auth::credentials::{MAX_ACTIVE_SECRETS, SecretError, active_secrets, generate_client_secret};
use wif_auth::registration::Registration;

use crate::error::RegistryError;
use crate::service::{Actor, RegistryService};
use crate::view::SecretView;

/// One year: Microsoft's gallery guidance and most customers' policies expect yearly rotation at the most.
pub const MIN_SECRET_LIFETIME_DAYS: i64 = 365;
/// Three years: longer-lived shared secrets are what WIF exists to replace.
pub const MAX_SECRET_LIFETIME_DAYS: i64 = 1095;
/// The shortest allowed lifetime is the default: rotation is cheap with two overlapping secrets, a leaked secret
/// that lives for years is not.
pub const DEFAULT_SECRET_LIFETIME_DAYS: i64 = MIN_SECRET_LIFETIME_DAYS;
const MAX_DESCRIPTION_LEN: usize = 200;
/// Read-modify-write attempts when the caller did not pin a version and someone else changed the registration
/// between our read and our conditional write.
const WRITE_ATTEMPTS: usize = 3;

/// `POST /clients/{id}/secrets` body (every member optional; an empty body is fine).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRequest {
    #[serde(default)]
    pub description: Option<String>,
    /// Whole days, 365–1095; default 365. Signed so that a negative number gets our message, not serde's.
    #[serde(default)]
    pub expires_in_days: Option<i64>,
    /// The registration version the caller read; when given, the secret is only created at that version.
    #[serde(default)]
    pub version: Option<u64>,
}

/// The answer to `POST /clients/{id}/secrets`: the only time the value is ever shown. `Debug` redacts it.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct CreatedSecret {
    pub client_id: String,
    pub secret_id: String,
    pub client_secret: String,
    pub created_at: i64,
    pub expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The registration's version after the change (for the next optimistic write).
    pub version: u64,
    pub secrets_enabled: bool,
    pub token_endpoint_auth_methods: Vec<&'static str>,
}

impl std::fmt::Debug for CreatedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedSecret")
            .field("client_id", &self.client_id)
            .field("secret_id", &self.secret_id)
            .field("client_secret", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// `GET /clients/{id}/secrets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretList {
    pub client_id: String,
    pub secrets_enabled: bool,
    pub active: usize,
    pub max_active: usize,
    pub secrets: Vec<SecretView>,
    pub version: u64,
}

/// `DELETE /clients/{id}/secrets/{secret_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevokedSecret {
    pub client_id: String,
    pub secret_id: String,
    pub revoked: bool,
    pub version: u64,
    /// Present when the caller asked for the client's live tokens to be revoked too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_tokens: Option<usize>,
}

/// The token-endpoint authentication methods a registration accepts, in RFC 8414 names.
pub fn auth_methods(registration: &Registration) -> Vec<&'static str> {
    let mut methods = Vec::new();
    if registration.wif_enabled {
        methods.push("private_key_jwt");
    }
    if registration.secrets_enabled {
        methods.push("client_secret_basic");
        methods.push("client_secret_post");
    }
    methods
}

fn lifetime_days(requested: Option<i64>) -> Result<i64, RegistryError> {
    match requested {
        None => Ok(DEFAULT_SECRET_LIFETIME_DAYS),
        Some(days) if (MIN_SECRET_LIFETIME_DAYS..=MAX_SECRET_LIFETIME_DAYS).contains(&days) => Ok(days),
        Some(_) => Err(RegistryError::Invalid(format!(
            "expires_in_days: must be between {MIN_SECRET_LIFETIME_DAYS} and {MAX_SECRET_LIFETIME_DAYS} (1 to 3 years)"
        ))),
    }
}

fn description(text: Option<String>) -> Result<Option<String>, RegistryError> {
    let Some(text) = text else { return Ok(None) };
    if text.trim().is_empty() {
        return Err(RegistryError::Invalid("description: must not be empty".into()));
    }
    if text.chars().any(char::is_control) {
        return Err(RegistryError::Invalid(
            "description: must not contain control characters".into(),
        ));
    }
    if text.len() > MAX_DESCRIPTION_LEN {
        return Err(RegistryError::Invalid(format!(
            "description: must be at most {MAX_DESCRIPTION_LEN} bytes"
        )));
    }
    Ok(Some(text))
}

impl RegistryService {
    /// Reads the registration, lets `change` derive the new one, and writes it conditionally on the version read.
    /// Without a caller-pinned version a lost race is retried from a fresh read (the change re-checks its rules
    /// against that read, e.g. the two-active-secrets limit); with one, the conflict is the caller's to resolve.
    async fn modify<T>(
        &self,
        client_id: &str,
        expected_version: Option<u64>,
        mut change: impl FnMut(&Registration, i64) -> Result<(Registration, T), RegistryError>,
    ) -> Result<(Registration, Registration, T), RegistryError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let current = self.load(client_id).await?;
            Self::check_version(&current, expected_version)?;
            let (updated, outcome) = change(&current, self.now())?;
            match self.replace(&current, updated).await {
                Ok(stored) => return Ok((current, stored, outcome)),
                Err(RegistryError::VersionConflict { .. })
                    if expected_version.is_none() && attempt < WRITE_ATTEMPTS =>
                {
                    tracing::info!(client_id, attempt, "registration changed concurrently; retrying");
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// `POST /clients/{id}/secrets`. Also switches `secrets_enabled` on: creating a secret is an unambiguous request
    /// to use one, and a secret that silently cannot authenticate would only surface in a failed Entra test.
    /// Expired secrets are dropped from the registration at this point (they can never authenticate again).
    pub async fn create_secret(
        &self,
        client_id: &str,
        request: SecretRequest,
        actor: &Actor,
    ) -> Result<CreatedSecret, RegistryError> {
        let days = lifetime_days(request.expires_in_days)?;
        let description = description(request.description)?;
        let (before, stored, (value, secret_id, pruned)) = self
            .modify(client_id, request.version, |current, now| {
                let generated = generate_client_secret(current, now, days * 86_400, description.clone()).map_err(
                    |err| match err {
                        SecretError::TooManyActive => {
                            let active: Vec<&str> =
                                active_secrets(current, now).map(|s| s.secret_id.as_str()).collect();
                            RegistryError::Conflict(format!(
                                "client {client_id} already has {MAX_ACTIVE_SECRETS} active secrets ({}); revoke one \
                                 (DELETE /clients/{client_id}/secrets/<secret_id>) before creating another",
                                active.join(", ")
                            ))
                        }
                        SecretError::BadLifetime => RegistryError::Invalid("expires_in_days: must be positive".into()),
                        SecretError::Random(err) => RegistryError::Unavailable(err.to_string()),
                    },
                )?;
                let mut updated = current.clone();
                let pruned: Vec<String> = updated
                    .secrets
                    .iter()
                    .filter(|secret| secret.expires_at <= now)
                    .map(|secret| secret.secret_id.clone())
                    .collect();
                updated.secrets.retain(|secret| secret.expires_at > now);
                let secret_id = generated.stored.secret_id.clone();
                updated.secrets.push(generated.stored);
                updated.secrets_enabled = true;
                Ok((updated, (generated.value, secret_id, pruned)))
            })
            .await?;
        let Some(secret) = stored.secrets.iter().find(|s| s.secret_id == secret_id) else {
            return Err(RegistryError::Unavailable("the new secret was not stored".into()));
        };
        let mut details = serde_json::json!({
            "secret_id": secret.secret_id,
            "expires_at": secret.expires_at,
            "secrets_enabled": true,
            "secrets_enabled_by_this_change": !before.secrets_enabled,
        });
        if !pruned.is_empty() {
            details["pruned_expired_secrets"] = pruned.into();
        }
        self.audit(actor, "admin.secret.create", &stored, details).await;
        Ok(CreatedSecret {
            client_id: stored.client_id.clone(),
            secret_id: secret.secret_id.clone(),
            client_secret: value,
            created_at: secret.created_at,
            expires_at: secret.expires_at,
            description: secret.description.clone(),
            version: stored.version,
            secrets_enabled: stored.secrets_enabled,
            token_endpoint_auth_methods: auth_methods(&stored),
        })
    }

    /// `GET /clients/{id}/secrets`: ids, dates and status, never a value.
    pub async fn list_secrets(&self, client_id: &str) -> Result<SecretList, RegistryError> {
        let registration = self.load(client_id).await?;
        let now = self.now();
        Ok(SecretList {
            client_id: registration.client_id.clone(),
            secrets_enabled: registration.secrets_enabled,
            active: active_secrets(&registration, now).count(),
            max_active: MAX_ACTIVE_SECRETS,
            secrets: registration.secrets.iter().map(|s| SecretView::at(s, now)).collect(),
            version: registration.version,
        })
    }

    /// `DELETE /clients/{id}/secrets/{secret_id}`: the secret stops working on the next token request (the token
    /// endpoint reads the registration strongly consistently). Access tokens already issued stay valid until they
    /// expire unless `revoke_tokens` is set — what an admin wants after a leak, not after a planned rotation.
    pub async fn revoke_secret(
        &self,
        client_id: &str,
        secret_id: &str,
        expected_version: Option<u64>,
        revoke_tokens: bool,
        actor: &Actor,
    ) -> Result<RevokedSecret, RegistryError> {
        let (_, stored, ()) = self
            .modify(client_id, expected_version, |current, _| {
                if !current.secrets.iter().any(|s| s.secret_id == secret_id) {
                    return Err(RegistryError::SecretNotFound {
                        client_id: client_id.to_owned(),
                        secret_id: secret_id.to_owned(),
                    });
                }
                let mut updated = current.clone();
                updated.secrets.retain(|s| s.secret_id != secret_id);
                Ok((updated, ()))
            })
            .await?;
        let revoked_tokens = if revoke_tokens {
            Some(self.revoke_client_tokens(client_id).await?)
        } else {
            None
        };
        let mut details = serde_json::json!({ "secret_id": secret_id });
        if let Some(count) = revoked_tokens {
            details["revoked_tokens"] = count.into();
        }
        self.audit(actor, "admin.secret.revoke", &stored, details).await;
        Ok(RevokedSecret {
            client_id: stored.client_id.clone(),
            secret_id: secret_id.to_owned(),
            revoked: true,
            version: stored.version,
            revoked_tokens,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use wif_auth::credentials::verify_client_secret;
    use wif_auth::ports::{TokenRecord, TokenStore};
    use wif_auth::registration::{RegistrationPolicy, RegistrationRequest};
    use wif_auth::scope::Scope;
    use wif_auth::testing::{InMemoryTokenStore, RecordingAudit};
    use wif_common::{Clock, FixedClock};

    use super::*;
    use crate::memory::InMemoryRegistrations;
    use crate::ports::RegistrationStore;
    use crate::service::{PublicUrls, RegistrationUpdate};

    const DAY: i64 = 86_400;

    struct Fixture {
        service: RegistryService,
        store: Arc<InMemoryRegistrations>,
        tokens: Arc<InMemoryTokenStore>,
        audit: Arc<RecordingAudit>,
        clock: Arc<FixedClock>,
        client_id: String,
    }

    async fn fixture() -> Fixture {
        let store = Arc::new(InMemoryRegistrations::default());
        let tokens = Arc::new(InMemoryTokenStore::default());
        let audit = Arc::new(RecordingAudit::default());
        let clock = Arc::new(FixedClock::at(1_800_000_000));
        let service = RegistryService::new(
            store.clone(),
            tokens.clone(),
            audit.clone(),
            clock.clone(),
            RegistrationPolicy::default(),
            PublicUrls {
                token_url: "https://auth.example.com/oauth2/token".into(),
                scim_url: "https://scim.example.com/scim/v2".into(),
                ..Default::default()
            },
        );
        let tid = "11111111-2222-3333-4444-555555555555";
        let view = service
            .create(
                RegistrationRequest {
                    issuer: Some(format!("https://sts.windows.net/{tid}/")),
                    jwks_uri: Some(format!("https://login.microsoftonline.com/{tid}/discovery/keys")),
                    subject: Some("9a3b5c2e-0000-4000-8000-000000000001".into()),
                    audience: Some("api://contoso-scim".into()),
                    ..Default::default()
                },
                &actor(),
            )
            .await
            .unwrap();
        Fixture {
            service,
            store,
            tokens,
            audit,
            clock,
            client_id: view.client_id,
        }
    }

    fn actor() -> Actor {
        Actor {
            principal: "arn:aws:iam::123456789012:role/portal".into(),
            ..Default::default()
        }
    }

    async fn stored(f: &Fixture) -> Registration {
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
                SecretRequest {
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
            .create_secret(&f.client_id, SecretRequest::default(), &actor())
            .await
            .unwrap();
        f.clock.advance(100 * DAY);
        let second = f
            .service
            .create_secret(
                &f.client_id,
                SecretRequest {
                    expires_in_days: Some(1095),
                    ..Default::default()
                },
                &actor(),
            )
            .await
            .unwrap();
        let err = f
            .service
            .create_secret(&f.client_id, SecretRequest::default(), &actor())
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
            .map(|s| (s.secret_id.as_str(), s.status))
            .collect();
        assert!(statuses.contains(&(first.secret_id.as_str(), "expired")));
        assert!(statuses.contains(&(second.secret_id.as_str(), "active")));
        let third = f
            .service
            .create_secret(&f.client_id, SecretRequest::default(), &actor())
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
            .create_secret(&f.client_id, SecretRequest::default(), &actor())
            .await
            .unwrap();
        let new = f
            .service
            .create_secret(&f.client_id, SecretRequest::default(), &actor())
            .await
            .unwrap();
        f.tokens
            .put_token(&TokenRecord {
                token_hash: "h1".into(),
                client_id: f.client_id.clone(),
                tenant_id: "t".into(),
                scopes: vec![Scope::Scim],
                issued_at: 1_800_000_000,
                expires_at: 1_800_003_600,
                revoked: false,
            })
            .await
            .unwrap();

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
                SecretRequest {
                    expires_in_days: Some(364),
                    ..Default::default()
                },
                "expires_in_days:",
            ),
            (
                SecretRequest {
                    expires_in_days: Some(1096),
                    ..Default::default()
                },
                "expires_in_days:",
            ),
            (
                SecretRequest {
                    expires_in_days: Some(-5),
                    ..Default::default()
                },
                "expires_in_days:",
            ),
            (
                SecretRequest {
                    description: Some("  ".into()),
                    ..Default::default()
                },
                "description:",
            ),
            (
                SecretRequest {
                    description: Some("a\nb".into()),
                    ..Default::default()
                },
                "description:",
            ),
            (
                SecretRequest {
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
                SecretRequest {
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
            .create_secret("nope", SecretRequest::default(), &actor())
            .await
            .unwrap_err();
        assert_eq!(err.status(), 404);
        assert!(stored(&f).await.secrets.is_empty());
    }

    #[tokio::test]
    async fn auth_methods_can_be_switched_but_not_both_off() {
        let f = fixture().await;
        let update = |version, wif: Option<bool>, secrets: Option<bool>| RegistrationUpdate {
            version: Some(version),
            wif_enabled: wif,
            secrets_enabled: secrets,
            ..Default::default()
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
        async fn insert(&self, registration: &Registration) -> Result<(), crate::ports::RegistrationWriteError> {
            self.0.insert(registration).await
        }
        async fn get(&self, client_id: &str) -> Result<Option<Registration>, wif_auth::ports::StoreUnavailable> {
            let found = self.0.get(client_id).await;
            tokio::task::yield_now().await;
            found
        }
        async fn replace(
            &self,
            registration: &Registration,
            expected_version: u64,
        ) -> Result<(), crate::ports::RegistrationWriteError> {
            self.0.replace(registration, expected_version).await
        }
        async fn delete(
            &self,
            client_id: &str,
            expected_version: Option<u64>,
        ) -> Result<bool, crate::ports::RegistrationWriteError> {
            self.0.delete(client_id, expected_version).await
        }
        async fn list(
            &self,
            tenant_id: Option<&str>,
            cursor: Option<&str>,
            limit: u32,
        ) -> Result<crate::ports::RegistrationPage, crate::ports::ListError> {
            self.0.list(tenant_id, cursor, limit).await
        }
    }

    #[tokio::test]
    async fn concurrent_creations_never_exceed_the_limit() {
        let store = Arc::new(YieldingStore(InMemoryRegistrations::default()));
        let service = Arc::new(RegistryService::new(
            store.clone(),
            Arc::new(InMemoryTokenStore::default()),
            Arc::new(RecordingAudit::default()),
            Arc::new(FixedClock::at(1_800_000_000)),
            RegistrationPolicy::default(),
            PublicUrls {
                token_url: "https://auth.example.com/oauth2/token".into(),
                scim_url: "https://scim.example.com/scim/v2".into(),
                ..Default::default()
            },
        ));
        let mut registration = wif_auth::testing::sample_registration("c-race");
        registration.version = 1;
        store.insert(&registration).await.unwrap();
        let mut handles = Vec::new();
        for _ in 0..6 {
            let service = service.clone();
            handles.push(tokio::spawn(async move {
                service
                    .create_secret("c-race", SecretRequest::default(), &actor())
                    .await
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
}
