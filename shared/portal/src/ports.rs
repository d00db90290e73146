//! Storage and network the portal needs, as narrow traits. `wif-store` implements the storage over the Portal
//! table; the portal function implements [`TokenEndpoint`] with an HTTPS client and [`AssertionSigner`] with KMS.

use wif_auth::ports::StoreUnavailable;

use crate::model::{Invitation, PendingSignIn, Session, TenantLink};

/// Pending sign-ins and sessions.
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync {
    async fn put_pending(&self, pending: &PendingSignIn) -> Result<(), StoreUnavailable>;
    /// Removes and returns the pending sign-in (exactly once: a replayed answer finds nothing).
    async fn take_pending(&self, key_hash: &str) -> Result<Option<PendingSignIn>, StoreUnavailable>;
    async fn put_session(&self, session: &Session) -> Result<(), StoreUnavailable>;
    async fn get_session(&self, id_hash: &str) -> Result<Option<Session>, StoreUnavailable>;
    /// Records activity: a new `last_seen_at` and idle expiry.
    async fn touch_session(
        &self,
        id_hash: &str,
        last_seen_at: i64,
        idle_expires_at: i64,
    ) -> Result<(), StoreUnavailable>;
    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreUnavailable>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkWriteError {
    /// The Entra tenant is already linked (to this or another customer).
    #[error("the Entra tenant is already linked")]
    AlreadyLinked,
    /// The invitation does not exist, was used, or has expired.
    #[error("the invitation is not valid")]
    InvitationInvalid,
    #[error(transparent)]
    Unavailable(#[from] StoreUnavailable),
}

/// Tenant links and invitations.
#[async_trait::async_trait]
pub trait TenantLinkStore: Send + Sync {
    async fn get_link(&self, entra_tenant_id: &str) -> Result<Option<TenantLink>, StoreUnavailable>;
    /// Creates the link only if the Entra tenant has none.
    async fn insert_link(&self, link: &TenantLink) -> Result<(), LinkWriteError>;
    async fn delete_link(&self, entra_tenant_id: &str) -> Result<bool, StoreUnavailable>;
    async fn list_links(&self) -> Result<Vec<TenantLink>, StoreUnavailable>;
    async fn put_invitation(&self, invitation: &Invitation) -> Result<(), StoreUnavailable>;
    async fn get_invitation(&self, code_hash: &str) -> Result<Option<Invitation>, StoreUnavailable>;
    /// In one transaction: the invitation still exists and is unexpired at `now` (then it is deleted), and the link
    /// is created only if the Entra tenant has none.
    async fn redeem_invitation(&self, code_hash: &str, link: &TenantLink, now: i64) -> Result<(), LinkWriteError>;
}

/// Entra's token endpoint answered with this status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEndpointAnswer {
    pub status: u16,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token endpoint unreachable: {0}")]
pub struct TokenEndpointUnreachable(pub String);

/// POSTs a form to Entra's token endpoint (HTTPS, no redirects, bounded time and size).
#[async_trait::async_trait]
pub trait TokenEndpoint: Send + Sync {
    async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
    ) -> Result<TokenEndpointAnswer, TokenEndpointUnreachable>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("client assertion could not be signed: {0}")]
pub struct SigningFailed(pub String);

/// Signs the portal's client assertion (`private_key_jwt`) for Entra's token endpoint.
#[async_trait::async_trait]
pub trait AssertionSigner: Send + Sync {
    async fn client_assertion(&self, token_url: &str, now: i64) -> Result<String, SigningFailed>;
}
