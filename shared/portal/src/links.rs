//! Which Entra tenant belongs to which customer account. The operator links a tenant directly (admin API and
//! `wif-admin`), or creates a one-time, expiring invitation whose code a customer's administrator redeems after
//! signing in: the redemption binds *their* Entra tenant (from their validated ID token, never from the request).
//! A tenant can be linked once; changing it means unlinking first.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use wif_common::Clock;
use wif_common::audit::{AuditCategory, AuditEvent, AuditSink};
use wif_registry::Actor;

use crate::crypto::{random_token, sha256_hex};
use crate::error::PortalError;
use crate::model::{Invitation, NonAdminAccess, Person, TenantLink};
use crate::ports::{LinkWriteError, TenantLinkStore};

pub const DEFAULT_INVITATION_HOURS: i64 = 72;
pub const MAX_INVITATION_HOURS: i64 = 30 * 24;
const MAX_TENANT_ID_LEN: usize = 128;
const MAX_DISPLAY_NAME_LEN: usize = 200;

/// `POST /tenant-links` (admin API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    pub entra_tenant_id: Option<String>,
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// `none` (default) or `read`.
    #[serde(default)]
    pub non_admin_access: Option<String>,
}

/// `POST /invitations` (admin API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvitationRequest {
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub non_admin_access: Option<String>,
    #[serde(default)]
    pub expires_in_hours: Option<i64>,
}

/// The answer to `POST /invitations`: the only time the code is shown.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct CreatedInvitation {
    pub invitation_id: String,
    pub code: String,
    pub tenant_id: String,
    pub expires_at: i64,
    /// `<portal URL>/invite?code=...` when the portal's URL is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation_url: Option<String>,
}

impl std::fmt::Debug for CreatedInvitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedInvitation")
            .field("invitation_id", &self.invitation_id)
            .field("tenant_id", &self.tenant_id)
            .finish_non_exhaustive()
    }
}

pub struct TenantLinks {
    store: Arc<dyn TenantLinkStore>,
    audit: Arc<dyn AuditSink>,
    clock: Arc<dyn Clock>,
    /// The portal's public URL, for invitation links.
    portal_url: Option<String>,
}

fn invalid(text: impl Into<String>) -> PortalError {
    PortalError::Invalid(text.into())
}

fn text_field(name: &str, value: Option<String>, max: usize) -> Result<Option<String>, PortalError> {
    match value {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Err(invalid(format!("{name}: must not be empty"))),
        Some(text) if text.len() > max || text.chars().any(char::is_control) => {
            Err(invalid(format!("{name}: at most {max} printable characters")))
        }
        Some(text) => Ok(Some(text)),
    }
}

fn access(value: Option<String>) -> Result<NonAdminAccess, PortalError> {
    match value {
        None => Ok(NonAdminAccess::None),
        Some(text) => NonAdminAccess::parse(&text).ok_or_else(|| invalid("non_admin_access: must be none or read")),
    }
}

/// An Entra tenant id as Entra writes it: a lowercase GUID.
pub fn entra_tenant_id(value: Option<String>) -> Result<String, PortalError> {
    let text = value.ok_or_else(|| invalid("entra_tenant_id: is required"))?;
    match uuid::Uuid::try_parse(&text) {
        Ok(parsed) if parsed.hyphenated().to_string() == text => Ok(text),
        _ => Err(invalid(
            "entra_tenant_id: must be a tenant GUID in lowercase, as Entra shows it",
        )),
    }
}

impl TenantLinks {
    pub fn new(
        store: Arc<dyn TenantLinkStore>,
        audit: Arc<dyn AuditSink>,
        clock: Arc<dyn Clock>,
        portal_url: Option<String>,
    ) -> Self {
        Self {
            store,
            audit,
            clock,
            portal_url,
        }
    }

    pub async fn link(&self, request: LinkRequest, actor: &Actor) -> Result<TenantLink, PortalError> {
        let link = TenantLink {
            entra_tenant_id: entra_tenant_id(request.entra_tenant_id)?,
            tenant_id: text_field("tenant_id", request.tenant_id, MAX_TENANT_ID_LEN)?
                .ok_or_else(|| invalid("tenant_id: is required"))?,
            display_name: text_field("display_name", request.display_name, MAX_DISPLAY_NAME_LEN)?,
            non_admin_access: access(request.non_admin_access)?,
            created_at: self.clock.now_unix(),
            created_by: actor.principal.clone(),
        };
        self.store.insert_link(&link).await.map_err(link_error)?;
        self.record(
            "admin.tenant_link.create",
            &link.tenant_id,
            &link.entra_tenant_id,
            actor,
        )
        .await;
        Ok(link)
    }

    pub async fn list(&self) -> Result<Vec<TenantLink>, PortalError> {
        let mut links = self.store.list_links().await?;
        links.sort_by(|a, b| {
            a.tenant_id
                .cmp(&b.tenant_id)
                .then(a.entra_tenant_id.cmp(&b.entra_tenant_id))
        });
        Ok(links)
    }

    pub async fn get(&self, entra_tenant_id: &str) -> Result<TenantLink, PortalError> {
        self.store
            .get_link(entra_tenant_id)
            .await?
            .ok_or_else(|| PortalError::NotFound(format!("no link for Entra tenant {entra_tenant_id:?}")))
    }

    pub async fn unlink(&self, entra_tenant_id: &str, actor: &Actor) -> Result<(), PortalError> {
        let link = self.get(entra_tenant_id).await?;
        self.store.delete_link(entra_tenant_id).await?;
        self.record("admin.tenant_link.delete", &link.tenant_id, entra_tenant_id, actor)
            .await;
        Ok(())
    }

    pub async fn invite(&self, request: InvitationRequest, actor: &Actor) -> Result<CreatedInvitation, PortalError> {
        let hours = request.expires_in_hours.unwrap_or(DEFAULT_INVITATION_HOURS);
        if !(1..=MAX_INVITATION_HOURS).contains(&hours) {
            return Err(invalid(format!(
                "expires_in_hours: must be between 1 and {MAX_INVITATION_HOURS}"
            )));
        }
        let code = random_token();
        let now = self.clock.now_unix();
        let invitation = Invitation {
            code_hash: sha256_hex(&code),
            tenant_id: text_field("tenant_id", request.tenant_id, MAX_TENANT_ID_LEN)?
                .ok_or_else(|| invalid("tenant_id: is required"))?,
            display_name: text_field("display_name", request.display_name, MAX_DISPLAY_NAME_LEN)?,
            non_admin_access: access(request.non_admin_access)?,
            created_at: now,
            expires_at: now + hours * 3600,
            created_by: actor.principal.clone(),
        };
        self.store.put_invitation(&invitation).await?;
        self.record("admin.invitation.create", &invitation.tenant_id, "", actor)
            .await;
        Ok(CreatedInvitation {
            invitation_id: invitation.code_hash[..16].to_owned(),
            invitation_url: self.portal_url.as_ref().map(|url| format!("{url}/invite?code={code}")),
            code,
            tenant_id: invitation.tenant_id,
            expires_at: invitation.expires_at,
        })
    }

    /// The invitation behind a code, if it is still valid (for the page that asks to accept it).
    pub async fn pending_invitation(&self, code: &str) -> Result<Invitation, PortalError> {
        let gone = || PortalError::NotFound("this invitation does not exist, was already used, or has expired".into());
        if code.len() != 43 {
            return Err(gone());
        }
        let invitation = self.store.get_invitation(&sha256_hex(code)).await?.ok_or_else(gone)?;
        if invitation.expires_at <= self.clock.now_unix() {
            return Err(gone());
        }
        Ok(invitation)
    }

    /// Links the administrator's own Entra tenant to the invitation's customer account, once.
    pub async fn redeem(&self, code: &str, person: &Person, actor: &Actor) -> Result<TenantLink, PortalError> {
        if !person.admin {
            return Err(PortalError::Forbidden(
                "only an Application Administrator, Cloud Application Administrator or Global Administrator of \
                 your tenant can accept this invitation"
                    .into(),
            ));
        }
        let invitation = self.pending_invitation(code).await?;
        let link = TenantLink {
            entra_tenant_id: person.tid.clone(),
            tenant_id: invitation.tenant_id.clone(),
            display_name: invitation.display_name.clone(),
            non_admin_access: invitation.non_admin_access,
            created_at: self.clock.now_unix(),
            created_by: actor.principal.clone(),
        };
        self.store
            .redeem_invitation(&invitation.code_hash, &link, self.clock.now_unix())
            .await
            .map_err(link_error)?;
        self.record(
            "portal.invitation.redeem",
            &link.tenant_id,
            &link.entra_tenant_id,
            actor,
        )
        .await;
        Ok(link)
    }

    async fn record(&self, action: &str, tenant_id: &str, entra_tenant_id: &str, actor: &Actor) {
        let mut event = AuditEvent::new(self.clock.now_unix(), AuditCategory::Admin, action, "success");
        event.tenant_id = Some(tenant_id.to_owned());
        event.actor = Some(actor.principal.clone());
        event.request_id = actor.request_id.clone();
        event.source_ip = actor.source_ip.clone();
        if !entra_tenant_id.is_empty() {
            event = event.detail("entra_tenant_id", entra_tenant_id);
        }
        if let Some(person) = &actor.person {
            event.details.extend(person.audit_details());
        }
        if let Err(err) = self.audit.record(event).await {
            tracing::error!(error = %err, action, "audit write failed");
        }
    }
}

fn link_error(err: LinkWriteError) -> PortalError {
    match err {
        LinkWriteError::AlreadyLinked => PortalError::Conflict(
            "this Entra tenant is already connected to a customer account; the provider must unlink it first".into(),
        ),
        LinkWriteError::InvitationInvalid => {
            PortalError::NotFound("this invitation does not exist, was already used, or has expired".into())
        }
        LinkWriteError::Unavailable(err) => err.into(),
    }
}
