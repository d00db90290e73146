//! In-memory stores and stub Entra endpoints (feature `test-support`), for unit tests here and in other crates.

use std::collections::HashMap;
use std::sync::Mutex;

use wif_auth::ports::StoreUnavailable;

use crate::model::{Invitation, PendingSignIn, Session, TenantLink};
use crate::ports::{
    AssertionSigner, LinkWriteError, SessionStore, SigningFailed, TenantLinkStore, TokenEndpoint, TokenEndpointAnswer,
    TokenEndpointUnreachable,
};

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Every portal item in maps.
#[derive(Default)]
pub struct InMemoryPortalStore {
    pending: Mutex<HashMap<String, PendingSignIn>>,
    sessions: Mutex<HashMap<String, Session>>,
    links: Mutex<HashMap<String, TenantLink>>,
    invitations: Mutex<HashMap<String, Invitation>>,
}

impl InMemoryPortalStore {
    pub fn session_count(&self) -> usize {
        lock(&self.sessions).len()
    }

    pub fn sessions(&self) -> Vec<Session> {
        lock(&self.sessions).values().cloned().collect()
    }
}

#[async_trait::async_trait]
impl SessionStore for InMemoryPortalStore {
    async fn put_pending(&self, pending: &PendingSignIn) -> Result<(), StoreUnavailable> {
        lock(&self.pending).insert(pending.key_hash.clone(), pending.clone());
        Ok(())
    }

    async fn take_pending(&self, key_hash: &str) -> Result<Option<PendingSignIn>, StoreUnavailable> {
        Ok(lock(&self.pending).remove(key_hash))
    }

    async fn put_session(&self, session: &Session) -> Result<(), StoreUnavailable> {
        lock(&self.sessions).insert(session.id_hash.clone(), session.clone());
        Ok(())
    }

    async fn get_session(&self, id_hash: &str) -> Result<Option<Session>, StoreUnavailable> {
        Ok(lock(&self.sessions).get(id_hash).cloned())
    }

    async fn touch_session(
        &self,
        id_hash: &str,
        last_seen_at: i64,
        idle_expires_at: i64,
    ) -> Result<(), StoreUnavailable> {
        if let Some(session) = lock(&self.sessions).get_mut(id_hash) {
            session.last_seen_at = last_seen_at;
            session.idle_expires_at = idle_expires_at;
        }
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreUnavailable> {
        lock(&self.sessions).remove(id_hash);
        Ok(())
    }
}

#[async_trait::async_trait]
impl TenantLinkStore for InMemoryPortalStore {
    async fn get_link(&self, entra_tenant_id: &str) -> Result<Option<TenantLink>, StoreUnavailable> {
        Ok(lock(&self.links).get(entra_tenant_id).cloned())
    }

    async fn insert_link(&self, link: &TenantLink) -> Result<(), LinkWriteError> {
        let mut links = lock(&self.links);
        if links.contains_key(&link.entra_tenant_id) {
            return Err(LinkWriteError::AlreadyLinked);
        }
        links.insert(link.entra_tenant_id.clone(), link.clone());
        Ok(())
    }

    async fn delete_link(&self, entra_tenant_id: &str) -> Result<bool, StoreUnavailable> {
        Ok(lock(&self.links).remove(entra_tenant_id).is_some())
    }

    async fn list_links(&self) -> Result<Vec<TenantLink>, StoreUnavailable> {
        Ok(lock(&self.links).values().cloned().collect())
    }

    async fn put_invitation(&self, invitation: &Invitation) -> Result<(), StoreUnavailable> {
        lock(&self.invitations).insert(invitation.code_hash.clone(), invitation.clone());
        Ok(())
    }

    async fn get_invitation(&self, code_hash: &str) -> Result<Option<Invitation>, StoreUnavailable> {
        Ok(lock(&self.invitations).get(code_hash).cloned())
    }

    async fn redeem_invitation(&self, code_hash: &str, link: &TenantLink, now: i64) -> Result<(), LinkWriteError> {
        let mut invitations = lock(&self.invitations);
        let valid = invitations.get(code_hash).is_some_and(|inv| inv.expires_at > now);
        if !valid {
            return Err(LinkWriteError::InvitationInvalid);
        }
        let mut links = lock(&self.links);
        if links.contains_key(&link.entra_tenant_id) {
            return Err(LinkWriteError::AlreadyLinked);
        }
        invitations.remove(code_hash);
        links.insert(link.entra_tenant_id.clone(), link.clone());
        Ok(())
    }
}

/// Answers every token request with a preset answer; records the forms it was sent.
#[derive(Default)]
pub struct StubTokenEndpoint {
    answer: Mutex<Option<TokenEndpointAnswer>>,
    forms: Mutex<Vec<Vec<(String, String)>>>,
}

impl StubTokenEndpoint {
    pub fn answer(&self, status: u16, body: &str) {
        *lock(&self.answer) = Some(TokenEndpointAnswer {
            status,
            body: body.as_bytes().to_vec(),
        });
    }

    pub fn forms(&self) -> Vec<Vec<(String, String)>> {
        lock(&self.forms).clone()
    }
}

#[async_trait::async_trait]
impl TokenEndpoint for StubTokenEndpoint {
    async fn post_form(
        &self,
        _url: &str,
        form: &[(&str, &str)],
    ) -> Result<TokenEndpointAnswer, TokenEndpointUnreachable> {
        lock(&self.forms).push(form.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect());
        lock(&self.answer)
            .clone()
            .ok_or_else(|| TokenEndpointUnreachable("no answer configured".into()))
    }
}

/// A fixed client assertion.
pub struct StubSigner;

#[async_trait::async_trait]
impl AssertionSigner for StubSigner {
    async fn client_assertion(&self, token_url: &str, now: i64) -> Result<String, SigningFailed> {
        Ok(format!("stub-assertion-for-{token_url}-at-{now}"))
    }
}
