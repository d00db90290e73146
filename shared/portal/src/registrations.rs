//! The registry's operations as a signed-in person may use them: only registrations of their own customer
//! account exist for them (another account's id is 404, never 403), a new registration can only trust their own
//! Entra tenant (issuer and JWKS URL are derived from the `tid` of their validated token, never typed), and every
//! change is audited under their Entra identity through the registry itself, so the rules stay in one place.

use std::sync::Arc;

use serde::Deserialize;

use wif_admin_api::{Client, ClientSettings, ConnectionReport, CreatedSecret, NewClient, NewSecret, RevokedSecret};
use wif_registry::{Actor, ConnectionTester, PersonActor, RegistryService};

use crate::access::Principal;
use crate::error::PortalError;
use crate::model::TenantLink;

/// How registrations created in the portal name the customer's tenant (`{tenantid}` is replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustTemplates {
    /// `https://login.microsoftonline.com/{tenantid}/v2.0`
    pub issuer_v2: String,
    /// `https://login.microsoftonline.com/{tenantid}/discovery/v2.0/keys`
    pub jwks_v2: String,
    /// `https://sts.windows.net/{tenantid}/`
    pub issuer_v1: String,
    /// `https://login.microsoftonline.com/{tenantid}/discovery/keys`
    pub jwks_v1: String,
}

impl Default for TrustTemplates {
    fn default() -> Self {
        Self {
            issuer_v2: "https://login.microsoftonline.com/{tenantid}/v2.0".into(),
            jwks_v2: "https://login.microsoftonline.com/{tenantid}/discovery/v2.0/keys".into(),
            issuer_v1: "https://sts.windows.net/{tenantid}/".into(),
            jwks_v1: "https://login.microsoftonline.com/{tenantid}/discovery/keys".into(),
        }
    }
}

impl TrustTemplates {
    /// (issuer, JWKS URL) for tokens of `version` (`v1` or `v2`) from tenant `tid`.
    pub fn trust(&self, tid: &str, version: &str) -> Result<(String, String), PortalError> {
        let (issuer, jwks) = match version {
            "v2" => (&self.issuer_v2, &self.jwks_v2),
            "v1" => (&self.issuer_v1, &self.jwks_v1),
            _ => return Err(PortalError::Invalid("token_version: must be v1 or v2".into())),
        };
        Ok((issuer.replace("{tenantid}", tid), jwks.replace("{tenantid}", tid)))
    }
}

/// What a person types to create a registration (form or JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRegistration {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub audience: Option<String>,
    /// `v2` (default) or `v1`: which token version the customer's workload identity receives.
    #[serde(default)]
    pub token_version: Option<String>,
}

pub struct PortalRegistrations {
    registry: Arc<RegistryService>,
    tester: Arc<ConnectionTester>,
    trust: TrustTemplates,
}

/// The audited actor for a person.
pub fn person_actor(principal: &Principal, request_id: Option<String>, source_ip: Option<String>) -> Actor {
    let person = &principal.person;
    Actor {
        principal: format!("entra:{}/{}", person.tid, person.oid),
        request_id,
        source_ip,
        person: Some(PersonActor {
            tid: person.tid.clone(),
            oid: person.oid.clone(),
            upn: person.upn.clone(),
        }),
    }
}

fn not_found() -> PortalError {
    PortalError::NotFound("no such registration in your account".into())
}

/// Ids we hand out are UUIDs; anything else cannot exist and is not looked up.
fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn blank_to_none(value: Option<String>) -> Option<String> {
    value.map(|text| text.trim().to_owned()).filter(|text| !text.is_empty())
}

impl PortalRegistrations {
    pub fn new(registry: Arc<RegistryService>, tester: Arc<ConnectionTester>, trust: TrustTemplates) -> Self {
        Self {
            registry,
            tester,
            trust,
        }
    }

    pub fn trust(&self) -> &TrustTemplates {
        &self.trust
    }

    pub async fn list(&self, link: &TenantLink) -> Result<Vec<Client>, PortalError> {
        let page = self.registry.list(Some(&link.tenant_id), None, Some(100)).await?;
        Ok(page.clients)
    }

    /// The registration, if it is this account's.
    pub async fn get(&self, link: &TenantLink, id: &str) -> Result<Client, PortalError> {
        if !plausible_id(id) {
            return Err(not_found());
        }
        let view = self.registry.get(id).await.map_err(PortalError::from)?;
        if view.tenant_id != link.tenant_id {
            return Err(not_found());
        }
        Ok(view)
    }

    pub async fn create(
        &self,
        principal: &Principal,
        new: NewRegistration,
        actor: &Actor,
    ) -> Result<Client, PortalError> {
        let link = principal.for_write()?;
        let tid = &principal.person.tid;
        let version = blank_to_none(new.token_version).unwrap_or_else(|| "v2".into());
        let (issuer, jwks_uri) = self.trust.trust(tid, &version)?;
        let request = NewClient {
            tenant_id: Some(link.tenant_id.clone()),
            settings: ClientSettings {
                issuer: Some(issuer),
                jwks_uri: Some(jwks_uri),
                subject: blank_to_none(new.subject),
                audience: blank_to_none(new.audience),
                display_name: blank_to_none(new.display_name),
                expected_tid: Some(tid.clone()),
                ..ClientSettings::default()
            },
        };
        Ok(self.registry.create(request, actor).await?)
    }

    pub async fn set_enabled(
        &self,
        link: &TenantLink,
        id: &str,
        enabled: bool,
        actor: &Actor,
    ) -> Result<Client, PortalError> {
        self.get(link, id).await?;
        Ok(self.registry.set_enabled(id, enabled, None, actor).await?)
    }

    pub async fn revoke_tokens(&self, link: &TenantLink, id: &str, actor: &Actor) -> Result<usize, PortalError> {
        self.get(link, id).await?;
        Ok(self.registry.revoke_tokens(id, actor).await?)
    }

    pub async fn test(&self, link: &TenantLink, id: &str) -> Result<ConnectionReport, PortalError> {
        self.get(link, id).await?;
        let registration = self.registry.registration(id).await?;
        Ok(self.tester.test(&registration).await)
    }

    pub async fn create_secret(
        &self,
        link: &TenantLink,
        id: &str,
        description: Option<String>,
        actor: &Actor,
    ) -> Result<CreatedSecret, PortalError> {
        self.get(link, id).await?;
        let request = NewSecret {
            description: blank_to_none(description),
            ..NewSecret::default()
        };
        Ok(self.registry.create_secret(id, request, actor).await?)
    }

    pub async fn revoke_secret(
        &self,
        link: &TenantLink,
        id: &str,
        secret_id: &str,
        actor: &Actor,
    ) -> Result<RevokedSecret, PortalError> {
        self.get(link, id).await?;
        if !plausible_id(secret_id) {
            return Err(PortalError::NotFound("no such secret".into()));
        }
        Ok(self.registry.revoke_secret(id, secret_id, None, false, actor).await?)
    }
}
