//! Registration lifecycle: create, read, list, update (optimistic concurrency), enable/disable, delete, and
//! revocation of a client's live access tokens. Disabling or deleting a client revokes its tokens in the same call,
//! so the SCIM API (which reads the token record on every request) refuses them on the next request.

use std::sync::Arc;

use serde::Deserialize;

use wif_auth::ports::TokenStore;
use wif_auth::registration::{Registration, RegistrationPolicy, RegistrationRequest};
use wif_common::Clock;
use wif_common::audit::{AuditCategory, AuditEvent, AuditSink};

use crate::error::RegistryError;
use crate::ports::{ListError, RegistrationStore, RegistrationWriteError};
use crate::view::RegistrationView;

/// The public URLs customers paste into Entra, and those the ISV's application polls for events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublicUrls {
    pub token_url: String,
    pub scim_url: String,
    /// RFC 8936 poll endpoint of the event feed (when the deployment has one).
    pub events_url: Option<String>,
    /// JWKS of the keys that sign the events.
    pub events_jwks_url: Option<String>,
}

/// Who is calling the admin API (the IAM principal in AWS, `local-developer` in local-development mode).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    pub principal: String,
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
}

/// `POST /clients`: the registration fields (wif-auth's [`RegistrationRequest`]) plus which client-authentication
/// methods the registration allows (default: WIF only; secrets are switched on by creating the first secret).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientCreate {
    pub registration: RegistrationRequest,
    pub wif_enabled: Option<bool>,
    pub secrets_enabled: Option<bool>,
}

impl From<RegistrationRequest> for ClientCreate {
    fn from(registration: RegistrationRequest) -> Self {
        Self {
            registration,
            ..Default::default()
        }
    }
}

impl ClientCreate {
    /// Parses the `POST /clients` body. The two method flags are taken out first so that the rest still goes
    /// through `RegistrationRequest`'s `deny_unknown_fields` (serde's `flatten` would silently disable it).
    pub fn from_json(body: serde_json::Value) -> Result<Self, RegistryError> {
        let serde_json::Value::Object(mut fields) = body else {
            return Err(RegistryError::Invalid("body: must be a JSON object".into()));
        };
        let mut flag = |name: &'static str| match fields.remove(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::Bool(value)) => Ok(Some(value)),
            Some(_) => Err(RegistryError::Invalid(format!("{name}: must be true or false"))),
        };
        let wif_enabled = flag("wif_enabled")?;
        let secrets_enabled = flag("secrets_enabled")?;
        let registration = serde_json::from_value(serde_json::Value::Object(fields))
            .map_err(|err| RegistryError::Invalid(format!("body: {err}")))?;
        Ok(Self {
            registration,
            wif_enabled,
            secrets_enabled,
        })
    }
}

/// A stored federation field as request input: empty (a secrets-only client) means absent.
pub(crate) fn stored_text(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

/// Why a registration must keep at least one way to authenticate: with both off it could never get a token, which
/// is what `disable` is for (and disable also revokes live tokens).
fn check_auth_methods(wif_enabled: bool, secrets_enabled: bool, field: &'static str) -> Result<(), RegistryError> {
    if wif_enabled || secrets_enabled {
        Ok(())
    } else {
        Err(RegistryError::Invalid(format!(
            "{field}: at least one client authentication method (wif_enabled or secrets_enabled) must stay on; \
             use POST /clients/{{id}}/disable to stop a client"
        )))
    }
}

/// `PATCH /clients/{id}`: the fields an ISV may change, plus the version it read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationUpdate {
    pub version: Option<u64>,
    /// Only for a secrets-only client that has no issuer yet (the issuer of a federated client never changes).
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub audience: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub token_lifetime_seconds: Option<u32>,
    #[serde(default)]
    pub expected_tid: Option<String>,
    #[serde(default)]
    pub allowed_algorithms: Option<Vec<String>>,
    /// Whether `client_assertion` (Workload Identity Federation) is accepted.
    #[serde(default)]
    pub wif_enabled: Option<bool>,
    /// Whether `client_secret_basic` / `client_secret_post` are accepted.
    #[serde(default)]
    pub secrets_enabled: Option<bool>,
    /// Event data level and push endpoint (merged into the stored settings).
    #[serde(default)]
    pub events: Option<wif_auth::event_settings::EventSettingsRequest>,
}

/// One page of registrations.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegistrationList {
    pub clients: Vec<RegistrationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

pub const MAX_PAGE_SIZE: u32 = 100;

pub struct RegistryService {
    store: Arc<dyn RegistrationStore>,
    tokens: Arc<dyn TokenStore>,
    audit: Arc<dyn AuditSink>,
    clock: Arc<dyn Clock>,
    policy: RegistrationPolicy,
    urls: PublicUrls,
}

impl RegistryService {
    pub fn new(
        store: Arc<dyn RegistrationStore>,
        tokens: Arc<dyn TokenStore>,
        audit: Arc<dyn AuditSink>,
        clock: Arc<dyn Clock>,
        policy: RegistrationPolicy,
        urls: PublicUrls,
    ) -> Self {
        Self {
            store,
            tokens,
            audit,
            clock,
            policy,
            urls,
        }
    }

    pub fn urls(&self) -> &PublicUrls {
        &self.urls
    }

    pub(crate) fn view(&self, registration: &Registration) -> RegistrationView {
        RegistrationView::new(registration, &self.urls, self.clock.now_unix())
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now_unix()
    }

    /// Registration changes are audited; a lost audit write is logged (the event is also a log line) but does not
    /// undo the change.
    pub(crate) async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        registration: &Registration,
        details: serde_json::Value,
    ) {
        let mut event = AuditEvent::new(self.clock.now_unix(), AuditCategory::Admin, action, "success");
        event.tenant_id = Some(registration.tenant_id.clone());
        event.client_id = Some(registration.client_id.clone());
        event.resource_id = Some(registration.client_id.clone());
        event.actor = Some(actor.principal.clone());
        event.request_id = actor.request_id.clone();
        event.source_ip = actor.source_ip.clone();
        if let serde_json::Value::Object(map) = details {
            event.details = map;
        }
        if let Err(err) = self.audit.record(event).await {
            tracing::error!(error = %err, action, "audit write failed");
        }
    }

    pub(crate) async fn load(&self, client_id: &str) -> Result<Registration, RegistryError> {
        self.store
            .get(client_id)
            .await?
            .ok_or_else(|| RegistryError::NotFound(client_id.to_owned()))
    }

    /// `POST /clients`.
    pub async fn create(
        &self,
        request: impl Into<ClientCreate>,
        actor: &Actor,
    ) -> Result<RegistrationView, RegistryError> {
        let request = request.into();
        let validated = request
            .registration
            .validate_with(&self.policy, request.wif_enabled.unwrap_or(true))
            .map_err(|err| RegistryError::Invalid(err.to_string()))?;
        let mut registration = validated.into_registration(
            uuid::Uuid::new_v4().to_string(),
            uuid::Uuid::new_v4().to_string(),
            self.clock.now_unix(),
        );
        if let Some(wif_enabled) = request.wif_enabled {
            registration.wif_enabled = wif_enabled;
        }
        if let Some(secrets_enabled) = request.secrets_enabled {
            registration.secrets_enabled = secrets_enabled;
        }
        let field = if request.wif_enabled == Some(false) {
            "wif_enabled"
        } else {
            "secrets_enabled"
        };
        check_auth_methods(registration.wif_enabled, registration.secrets_enabled, field)?;
        match self.store.insert(&registration).await {
            Ok(()) => {}
            // A v4 collision is astronomically unlikely; report it rather than overwrite.
            Err(RegistrationWriteError::AlreadyExists) => {
                return Err(RegistryError::Conflict("generated client_id collided; retry".into()));
            }
            Err(RegistrationWriteError::VersionConflict) => {
                return Err(RegistryError::Conflict(
                    "registration changed concurrently; retry".into(),
                ));
            }
            Err(RegistrationWriteError::Unavailable(err)) => return Err(err.into()),
        }
        self.audit(
            actor,
            "admin.client.create",
            &registration,
            serde_json::json!({ "issuer": registration.issuer, "subject": registration.subject,
                                "audience": registration.audience, "jwks_uri": registration.jwks_uri,
                                "wif_enabled": registration.wif_enabled,
                                "secrets_enabled": registration.secrets_enabled }),
        )
        .await;
        Ok(self.view(&registration))
    }

    /// `GET /clients/{id}`.
    pub async fn get(&self, client_id: &str) -> Result<RegistrationView, RegistryError> {
        Ok(self.view(&self.load(client_id).await?))
    }

    /// The stored registration itself (for operations such as connection checks that need more than the view).
    pub async fn registration(&self, client_id: &str) -> Result<Registration, RegistryError> {
        self.load(client_id).await
    }

    /// `GET /clients?tenant_id=&cursor=&limit=`.
    pub async fn list(
        &self,
        tenant_id: Option<&str>,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<RegistrationList, RegistryError> {
        let limit = match limit {
            None => 50,
            Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
            Some(_) => {
                return Err(RegistryError::Invalid(format!(
                    "limit: must be between 1 and {MAX_PAGE_SIZE}"
                )));
            }
        };
        let page = self
            .store
            .list(tenant_id, cursor, limit)
            .await
            .map_err(|err| match err {
                ListError::InvalidCursor => RegistryError::Invalid("cursor: is not a cursor this API returned".into()),
                ListError::Unavailable(err) => err.into(),
            })?;
        Ok(RegistrationList {
            clients: page.items.iter().map(|r| self.view(r)).collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// Writes `updated` over `current` if nobody changed it meanwhile.
    pub(crate) async fn replace(
        &self,
        current: &Registration,
        mut updated: Registration,
    ) -> Result<Registration, RegistryError> {
        updated.version = current.version + 1;
        updated.updated_at = self.clock.now_unix();
        match self.store.replace(&updated, current.version).await {
            Ok(()) => Ok(updated),
            Err(RegistrationWriteError::VersionConflict) => Err(RegistryError::VersionConflict {
                expected: current.version,
            }),
            Err(RegistrationWriteError::AlreadyExists) => Err(RegistryError::Conflict("unexpected insert".into())),
            Err(RegistrationWriteError::Unavailable(err)) => Err(err.into()),
        }
    }

    pub(crate) fn check_version(current: &Registration, expected: Option<u64>) -> Result<(), RegistryError> {
        match expected {
            Some(version) if version != current.version => Err(RegistryError::VersionConflict { expected: version }),
            _ => Ok(()),
        }
    }

    /// `PATCH /clients/{id}`: re-validates the merged registration with the same rules as create.
    pub async fn update(
        &self,
        client_id: &str,
        update: RegistrationUpdate,
        actor: &Actor,
    ) -> Result<RegistrationView, RegistryError> {
        let expected = update
            .version
            .ok_or_else(|| RegistryError::Invalid("version: is required (the version you read)".into()))?;
        let current = self.load(client_id).await?;
        Self::check_version(&current, Some(expected))?;
        let mut changed = Vec::new();
        let mut note = |name: &'static str, present: bool| {
            if present {
                changed.push(name);
            }
        };
        note("issuer", update.issuer.is_some());
        note("jwks_uri", update.jwks_uri.is_some());
        note("subject", update.subject.is_some());
        note("audience", update.audience.is_some());
        note("display_name", update.display_name.is_some());
        note("scopes", update.scopes.is_some());
        note("token_lifetime_seconds", update.token_lifetime_seconds.is_some());
        note("expected_tid", update.expected_tid.is_some());
        note("allowed_algorithms", update.allowed_algorithms.is_some());
        note("wif_enabled", update.wif_enabled.is_some());
        note("secrets_enabled", update.secrets_enabled.is_some());
        note("events", update.events.is_some());
        if changed.is_empty() {
            return Err(RegistryError::Invalid("no field to update was given".into()));
        }
        // The issuer identifies the customer's Entra tenant and stays fixed; only a secrets-only client, which has
        // none yet, may set it (together with the other federation fields) to start using WIF.
        if update.issuer.is_some() && !current.issuer.is_empty() {
            return Err(RegistryError::Invalid(
                "issuer: cannot be changed; register the other tenant as a new client".into(),
            ));
        }
        let wif_enabled = update.wif_enabled.unwrap_or(current.wif_enabled);
        let merged = RegistrationRequest {
            issuer: update.issuer.or_else(|| stored_text(&current.issuer)),
            jwks_uri: update.jwks_uri.or_else(|| stored_text(&current.jwks_uri)),
            subject: update.subject.or_else(|| stored_text(&current.subject)),
            audience: update.audience.or_else(|| stored_text(&current.audience)),
            tenant_id: Some(current.tenant_id.clone()),
            display_name: update.display_name.or_else(|| current.display_name.clone()),
            scopes: Some(
                update
                    .scopes
                    .unwrap_or_else(|| current.allowed_scopes.iter().map(|s| s.as_str().to_owned()).collect()),
            ),
            token_lifetime_seconds: Some(update.token_lifetime_seconds.unwrap_or(current.token_lifetime_seconds)),
            expected_tid: update.expected_tid.or_else(|| current.expected_tid.clone()),
            allowed_algorithms: Some(
                update
                    .allowed_algorithms
                    .unwrap_or_else(|| current.allowed_algorithms.clone()),
            ),
            events: None,
        };
        let events = match &update.events {
            None => current.events.clone(),
            Some(request) => Some(
                request
                    .apply(current.events.as_ref(), self.policy.push_url_policy())
                    .map_err(|(field, problem)| RegistryError::Invalid(format!("{field}: {problem}")))?,
            ),
        };
        let validated = merged
            .validate_with(&self.policy, wif_enabled)
            .map_err(|err| RegistryError::Invalid(err.to_string()))?;
        let secrets_enabled = update.secrets_enabled.unwrap_or(current.secrets_enabled);
        let field = if update.wif_enabled == Some(false) {
            "wif_enabled"
        } else {
            "secrets_enabled"
        };
        check_auth_methods(wif_enabled, secrets_enabled, field)?;
        let mut updated = current.clone();
        updated.wif_enabled = wif_enabled;
        updated.secrets_enabled = secrets_enabled;
        updated.issuer = validated.issuer;
        updated.jwks_uri = validated.jwks_uri;
        updated.subject = validated.subject;
        updated.audience = validated.audience;
        updated.display_name = validated.display_name;
        updated.allowed_scopes = validated.allowed_scopes;
        updated.token_lifetime_seconds = validated.token_lifetime_seconds;
        updated.expected_tid = validated.expected_tid;
        updated.allowed_algorithms = validated.allowed_algorithms;
        updated.events = events;
        let updated = self.replace(&current, updated).await?;
        self.audit(
            actor,
            "admin.client.update",
            &updated,
            serde_json::json!({ "changed": changed, "wif_enabled": updated.wif_enabled,
                                "secrets_enabled": updated.secrets_enabled }),
        )
        .await;
        Ok(self.view(&updated))
    }

    /// `POST /clients/{id}/enable` and `/disable`. Disabling revokes every live token of the client.
    pub async fn set_enabled(
        &self,
        client_id: &str,
        enabled: bool,
        expected_version: Option<u64>,
        actor: &Actor,
    ) -> Result<RegistrationView, RegistryError> {
        let current = self.load(client_id).await?;
        Self::check_version(&current, expected_version)?;
        let registration = if current.enabled == enabled {
            current
        } else {
            let mut updated = current.clone();
            updated.enabled = enabled;
            self.replace(&current, updated).await?
        };
        let mut revoked = 0;
        if !enabled {
            // Also when it was already disabled: a token issued in a race with the first disable is caught here.
            revoked = self.tokens.revoke_client_tokens(client_id).await?;
        }
        let action = if enabled {
            "admin.client.enable"
        } else {
            "admin.client.disable"
        };
        self.audit(
            actor,
            action,
            &registration,
            serde_json::json!({ "revoked_tokens": revoked }),
        )
        .await;
        Ok(self.view(&registration))
    }

    /// `DELETE /clients/{id}`: deletes the registration and revokes its live tokens. Returns the revoked count.
    pub async fn delete(
        &self,
        client_id: &str,
        expected_version: Option<u64>,
        actor: &Actor,
    ) -> Result<usize, RegistryError> {
        let current = self.load(client_id).await?;
        Self::check_version(&current, expected_version)?;
        match self.store.delete(client_id, Some(current.version)).await {
            Ok(true) => {}
            Ok(false) => return Err(RegistryError::NotFound(client_id.to_owned())),
            Err(RegistrationWriteError::VersionConflict) => {
                return Err(RegistryError::VersionConflict {
                    expected: current.version,
                });
            }
            Err(RegistrationWriteError::AlreadyExists) => {
                return Err(RegistryError::Conflict("unexpected insert".into()));
            }
            Err(RegistrationWriteError::Unavailable(err)) => return Err(err.into()),
        }
        let revoked = self.tokens.revoke_client_tokens(client_id).await?;
        self.audit(
            actor,
            "admin.client.delete",
            &current,
            serde_json::json!({ "revoked_tokens": revoked }),
        )
        .await;
        Ok(revoked)
    }

    pub(crate) async fn revoke_client_tokens(&self, client_id: &str) -> Result<usize, RegistryError> {
        Ok(self.tokens.revoke_client_tokens(client_id).await?)
    }

    /// `POST /clients/{id}/revoke-tokens`.
    pub async fn revoke_tokens(&self, client_id: &str, actor: &Actor) -> Result<usize, RegistryError> {
        let current = self.load(client_id).await?;
        let revoked = self.tokens.revoke_client_tokens(client_id).await?;
        self.audit(
            actor,
            "admin.client.revoke_tokens",
            &current,
            serde_json::json!({ "revoked_tokens": revoked }),
        )
        .await;
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::InMemoryRegistrations;
    use wif_auth::ports::TokenRecord;
    use wif_auth::scope::Scope;
    use wif_auth::testing::{InMemoryTokenStore, RecordingAudit};
    use wif_common::FixedClock;

    struct Fixture {
        service: RegistryService,
        tokens: Arc<InMemoryTokenStore>,
        audit: Arc<RecordingAudit>,
        clock: Arc<FixedClock>,
    }

    fn fixture() -> Fixture {
        let tokens = Arc::new(InMemoryTokenStore::default());
        let audit = Arc::new(RecordingAudit::default());
        let clock = Arc::new(FixedClock::at(1_800_000_000));
        let service = RegistryService::new(
            Arc::new(InMemoryRegistrations::default()),
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
        Fixture {
            service,
            tokens,
            audit,
            clock,
        }
    }

    const TID: &str = "11111111-2222-3333-4444-555555555555";

    fn request() -> RegistrationRequest {
        RegistrationRequest {
            issuer: Some(format!("https://sts.windows.net/{TID}/")),
            jwks_uri: Some(format!("https://login.microsoftonline.com/{TID}/discovery/keys")),
            subject: Some("9a3b5c2e-0000-4000-8000-000000000001".into()),
            audience: Some("api://contoso-scim".into()),
            display_name: Some("Contoso".into()),
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

    #[tokio::test]
    async fn secrets_only_clients_need_no_federation_fields_until_they_turn_wif_on() {
        let f = fixture();
        let create = ClientCreate {
            registration: RegistrationRequest {
                display_name: Some("Gallery customer".into()),
                ..Default::default()
            },
            wif_enabled: Some(false),
            secrets_enabled: Some(true),
        };
        let view = f.service.create(create, &actor()).await.unwrap();
        assert!(!view.wif_enabled && view.secrets_enabled);
        assert_eq!((view.issuer.as_str(), view.subject.as_str()), ("", ""));
        // Turning WIF on needs the federation values, all of them, checked as usual.
        let enable = |version, issuer: Option<&str>| RegistrationUpdate {
            version: Some(version),
            wif_enabled: Some(true),
            issuer: issuer.map(str::to_owned),
            jwks_uri: request().jwks_uri,
            subject: request().subject,
            audience: request().audience,
            ..Default::default()
        };
        let err = f
            .service
            .update(&view.client_id, enable(1, None), &actor())
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "issuer: is required");
        let federated = f
            .service
            .update(&view.client_id, enable(1, request().issuer.as_deref()), &actor())
            .await
            .unwrap();
        assert!(federated.wif_enabled);
        assert_eq!(Some(federated.issuer.clone()), request().issuer);
        assert_eq!(federated.expected_tid.as_deref(), Some(TID));
        // From now on the issuer is fixed.
        let err = f
            .service
            .update(
                &view.client_id,
                enable(2, Some("https://sts.windows.net/other/")),
                &actor(),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().starts_with("issuer: cannot be changed"), "{err}");
        // A WIF-only create still needs every field.
        let err = f
            .service
            .create(RegistrationRequest::default(), &actor())
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "issuer: is required");
    }

    #[tokio::test]
    async fn create_applies_defaults_and_returns_the_urls() {
        let f = fixture();
        let view = f.service.create(request(), &actor()).await.unwrap();
        assert_eq!(view.expected_tid.as_deref(), Some(TID));
        assert_eq!(view.scopes, vec![Scope::Scim, Scope::ScimRead, Scope::ScimReadWrite]);
        assert_eq!(view.token_lifetime_seconds, 3600);
        assert_eq!(view.allowed_algorithms, vec!["RS256"]);
        assert_eq!(view.token_url, "https://auth.example.com/oauth2/token");
        assert_eq!(view.scim_url, "https://scim.example.com/scim/v2");
        assert!(view.enabled);
        assert_eq!(view.version, 1);
        assert!(uuid::Uuid::try_parse(&view.client_id).is_ok());
        assert_eq!(f.service.get(&view.client_id).await.unwrap(), view);
        let event = f.audit.last().unwrap();
        assert_eq!(event.action, "admin.client.create");
        assert_eq!(event.actor.as_deref(), Some("arn:aws:iam::123456789012:user/ops"));
        assert_eq!(event.client_id.as_deref(), Some(view.client_id.as_str()));
    }

    #[tokio::test]
    async fn create_rejects_invalid_fields_naming_them() {
        let f = fixture();
        let mut bad = request();
        bad.jwks_uri = Some("http://login.microsoftonline.com/x/discovery/keys".into());
        let err = f.service.create(bad, &actor()).await.unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.to_string().starts_with("jwks_uri:"), "{err}");
        let mut bad = request();
        bad.subject = Some(" padded ".into());
        assert!(
            f.service
                .create(bad, &actor())
                .await
                .unwrap_err()
                .to_string()
                .starts_with("subject:")
        );
        assert!(f.audit.events().is_empty());
    }

    #[tokio::test]
    async fn get_of_unknown_client_is_not_found() {
        let f = fixture();
        let err = f.service.get("nope").await.unwrap_err();
        assert_eq!((err.status(), err.code()), (404, "not_found"));
    }

    #[tokio::test]
    async fn update_is_optimistic_and_revalidated() {
        let f = fixture();
        let view = f.service.create(request(), &actor()).await.unwrap();
        f.clock.advance(10);
        let update = RegistrationUpdate {
            version: Some(1),
            audience: Some("api://renamed".into()),
            scopes: Some(vec!["scim.read".into()]),
            ..Default::default()
        };
        let updated = f
            .service
            .update(&view.client_id, update.clone(), &actor())
            .await
            .unwrap();
        assert_eq!(updated.audience, "api://renamed");
        assert_eq!(updated.scopes, vec![Scope::ScimRead]);
        assert_eq!(updated.version, 2);
        assert_eq!(updated.updated_at, view.updated_at + 10);
        assert_eq!(updated.issuer, view.issuer);

        // The same stale version again loses.
        let err = f.service.update(&view.client_id, update, &actor()).await.unwrap_err();
        assert_eq!((err.status(), err.code()), (409, "version_conflict"));

        let err = f
            .service
            .update(
                &view.client_id,
                RegistrationUpdate {
                    version: Some(2),
                    token_lifetime_seconds: Some(60),
                    ..Default::default()
                },
                &actor(),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().starts_with("token_lifetime_seconds:"), "{err}");
        let err = f
            .service
            .update(
                &view.client_id,
                RegistrationUpdate {
                    version: None,
                    ..Default::default()
                },
                &actor(),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().starts_with("version:"));
        let err = f
            .service
            .update(
                &view.client_id,
                RegistrationUpdate {
                    version: Some(2),
                    ..Default::default()
                },
                &actor(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.status(), 400);
    }

    #[tokio::test]
    async fn disable_and_delete_revoke_live_tokens() {
        let f = fixture();
        let a = f.service.create(request(), &actor()).await.unwrap();
        let b = f.service.create(request(), &actor()).await.unwrap();
        f.tokens.put_token(&live_token(&a.client_id, "h1")).await.unwrap();
        f.tokens.put_token(&live_token(&b.client_id, "h2")).await.unwrap();

        let disabled = f
            .service
            .set_enabled(&a.client_id, false, Some(1), &actor())
            .await
            .unwrap();
        assert!(!disabled.enabled);
        assert_eq!(disabled.version, 2);
        let records = f.tokens.records();
        assert!(records.iter().find(|r| r.token_hash == "h1").unwrap().revoked);
        assert!(!records.iter().find(|r| r.token_hash == "h2").unwrap().revoked);
        assert_eq!(f.audit.last().unwrap().details["revoked_tokens"], 1);

        let enabled = f.service.set_enabled(&a.client_id, true, None, &actor()).await.unwrap();
        assert!(enabled.enabled);
        assert_eq!(enabled.version, 3);

        let err = f.service.delete(&b.client_id, Some(7), &actor()).await.unwrap_err();
        assert_eq!(err.status(), 409);
        assert_eq!(f.service.delete(&b.client_id, Some(1), &actor()).await.unwrap(), 1);
        assert_eq!(f.service.get(&b.client_id).await.unwrap_err().status(), 404);
        assert_eq!(
            f.service
                .delete(&b.client_id, None, &actor())
                .await
                .unwrap_err()
                .status(),
            404
        );
    }

    #[tokio::test]
    async fn list_pages_and_filters_by_tenant() {
        let f = fixture();
        for i in 0..5 {
            let mut req = request();
            req.tenant_id = Some(if i % 2 == 0 { "even".into() } else { "odd".into() });
            f.service.create(req, &actor()).await.unwrap();
        }
        let first = f.service.list(Some("even"), None, Some(2)).await.unwrap();
        assert_eq!(first.clients.len(), 2);
        let rest = f
            .service
            .list(Some("even"), first.next_cursor.as_deref(), Some(2))
            .await
            .unwrap();
        assert_eq!(rest.clients.len(), 1);
        assert!(rest.next_cursor.is_none());
        assert_eq!(f.service.list(None, None, None).await.unwrap().clients.len(), 5);
        assert_eq!(f.service.list(None, None, Some(0)).await.unwrap_err().status(), 400);
        assert_eq!(
            f.service.list(None, Some("bogus"), None).await.unwrap_err().status(),
            400
        );
    }

    #[tokio::test]
    async fn revoke_tokens_counts_and_audits() {
        let f = fixture();
        let a = f.service.create(request(), &actor()).await.unwrap();
        f.tokens.put_token(&live_token(&a.client_id, "h1")).await.unwrap();
        f.tokens.put_token(&live_token(&a.client_id, "h2")).await.unwrap();
        assert_eq!(f.service.revoke_tokens(&a.client_id, &actor()).await.unwrap(), 2);
        assert_eq!(f.service.revoke_tokens(&a.client_id, &actor()).await.unwrap(), 0);
        assert_eq!(
            f.service.revoke_tokens("nope", &actor()).await.unwrap_err().status(),
            404
        );
    }
}
