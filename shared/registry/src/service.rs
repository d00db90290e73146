//! The registry service and what its operations share: the ports it works over, loading a registration,
//! versioned replacement, audit records and the view. Reads (`get`, `list`) are here; creating and changing a
//! registration is in [`crate::settings`], enabling, disabling, deleting and revocation in [`crate::lifecycle`],
//! secrets in [`crate::secrets`].

use std::sync::Arc;

use wif_admin_api::{Client, ClientPage};
use wif_auth::ports::{JwksFetcher, TokenStore};
use wif_auth::registration::{Registration, RegistrationPolicy};
use wif_common::Clock;
use wif_common::audit::{AuditCategory, AuditEvent, AuditSink};

use crate::error::RegistryError;
use crate::ports::{ListError, RegistrationStore, RegistrationWriteError};
use crate::view::client_view;

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

/// Who is calling the admin API (the IAM principal in AWS, `local-developer` in local-development mode), or a
/// person signed in to the customer portal with Entra (`person`; `principal` is then `entra:<tid>/<oid>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    pub principal: String,
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
    pub person: Option<PersonActor>,
}

/// A person acting under their own Entra identity: the audit record names them, never a shared account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonActor {
    pub tid: String,
    pub oid: String,
    pub upn: Option<String>,
}

impl PersonActor {
    /// The audit `details` members that name the person.
    pub fn audit_details(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut details = serde_json::Map::new();
        details.insert("actor_tid".into(), self.tid.clone().into());
        details.insert("actor_oid".into(), self.oid.clone().into());
        if let Some(upn) = &self.upn {
            details.insert("actor_upn".into(), upn.clone().into());
        }
        details
    }
}

/// The storage and services the registry works over.
#[derive(Clone)]
pub struct RegistryPorts {
    pub store: Arc<dyn RegistrationStore>,
    /// Revocation of a client's live access tokens.
    pub tokens: Arc<dyn TokenStore>,
    pub audit: Arc<dyn AuditSink>,
    pub clock: Arc<dyn Clock>,
    /// Discovers a credential's JWKS URL from its Entra issuer's OpenID configuration when it is left out (the
    /// token endpoint's fetcher and URL policy).
    pub fetcher: Arc<dyn JwksFetcher>,
}

pub const MAX_PAGE_SIZE: u32 = 100;
/// Read-modify-write attempts when the caller did not pin a version and someone else changed the registration
/// between our read and our conditional write.
const WRITE_ATTEMPTS: usize = 3;

pub struct RegistryService {
    ports: RegistryPorts,
    policy: RegistrationPolicy,
    urls: PublicUrls,
}

impl RegistryService {
    pub fn new(ports: RegistryPorts, policy: RegistrationPolicy, urls: PublicUrls) -> Self {
        Self { ports, policy, urls }
    }

    pub fn urls(&self) -> &PublicUrls {
        &self.urls
    }

    pub(crate) fn policy(&self) -> &RegistrationPolicy {
        &self.policy
    }

    pub(crate) fn store(&self) -> &dyn RegistrationStore {
        self.ports.store.as_ref()
    }

    pub(crate) fn tokens(&self) -> &dyn TokenStore {
        self.ports.tokens.as_ref()
    }

    pub(crate) fn fetcher(&self) -> &dyn JwksFetcher {
        self.ports.fetcher.as_ref()
    }

    pub(crate) fn view(&self, registration: &Registration) -> Client {
        client_view(registration, &self.urls, self.now())
    }

    pub(crate) fn now(&self) -> i64 {
        self.ports.clock.now_unix()
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
        let mut event = AuditEvent::new(self.now(), AuditCategory::Admin, action, "success");
        event.tenant_id = Some(registration.tenant_id.clone());
        event.client_id = Some(registration.client_id.clone());
        event.resource_id = Some(registration.client_id.clone());
        event.actor = Some(actor.principal.clone());
        event.request_id = actor.request_id.clone();
        event.source_ip = actor.source_ip.clone();
        if let serde_json::Value::Object(map) = details {
            event.details = map;
        }
        if let Some(person) = &actor.person {
            event.details.extend(person.audit_details());
        }
        if let Err(err) = self.ports.audit.record(event).await {
            tracing::error!(error = %err, action, "audit write failed");
        }
    }

    pub(crate) async fn load(&self, client_id: &str) -> Result<Registration, RegistryError> {
        self.store()
            .get(client_id)
            .await?
            .ok_or_else(|| RegistryError::NotFound(client_id.to_owned()))
    }

    /// Writes `updated` over `current` if nobody changed it meanwhile.
    pub(crate) async fn replace(
        &self,
        current: &Registration,
        mut updated: Registration,
    ) -> Result<Registration, RegistryError> {
        updated.version = current.version + 1;
        updated.updated_at = self.now();
        updated.markers_pending = false;
        self.store()
            .replace(current, &updated)
            .await
            .map_err(|err| versioned_write_error(err, current))?;
        Ok(updated)
    }

    /// Reads the registration, lets `change` derive the new one, and writes it conditionally on the version read.
    /// Without a caller-pinned version a lost race is retried from a fresh read (the change re-checks its rules
    /// against that read, e.g. the two-active-secrets limit); with one, the conflict is the caller's to resolve.
    pub(crate) async fn modify<T>(
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

    pub(crate) fn check_version(current: &Registration, expected: Option<u64>) -> Result<(), RegistryError> {
        match expected {
            Some(version) if version != current.version => Err(RegistryError::VersionConflict { expected: version }),
            _ => Ok(()),
        }
    }

    /// `GET /clients/{id}`.
    pub async fn get(&self, client_id: &str) -> Result<Client, RegistryError> {
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
    ) -> Result<ClientPage, RegistryError> {
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
            .store()
            .list(tenant_id, cursor, limit)
            .await
            .map_err(|err| match err {
                ListError::InvalidCursor => RegistryError::Invalid("cursor: is not a cursor this API returned".into()),
                ListError::Unavailable(err) => err.into(),
            })?;
        Ok(ClientPage {
            clients: page.items.iter().map(|r| self.view(r)).collect(),
            next_cursor: page.next_cursor,
        })
    }
}

/// A failed conditional write of `current` (an existing registration, read at its version).
pub(crate) fn versioned_write_error(err: RegistrationWriteError, current: &Registration) -> RegistryError {
    match err {
        RegistrationWriteError::VersionConflict => RegistryError::VersionConflict {
            expected: current.version,
        },
        RegistrationWriteError::AlreadyExists => RegistryError::Conflict("unexpected insert".into()),
        RegistrationWriteError::TrustTaken { trust, holder } => {
            crate::trust::trust_conflict(&trust, holder.as_ref(), &current.tenant_id)
        }
        RegistrationWriteError::Unavailable(err) => err.into(),
    }
}
