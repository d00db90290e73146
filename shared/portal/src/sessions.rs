//! Browser sessions: a random 256-bit id in an `HttpOnly; Secure; SameSite=Lax` cookie, stored only as its
//! SHA-256 with the person, a CSRF token, an idle expiry (renewed at most once a minute, so a page view costs no
//! write) and an absolute expiry (also the item's TTL; expiry is still compared on every read because DynamoDB
//! deletes expired items late).

use std::sync::Arc;

use wif_common::Clock;

use crate::access::Principal;
use crate::crypto::{random_token, same_secret, sha256_hex};
use crate::error::PortalError;
use crate::model::{Person, Session};
use crate::ports::{SessionStore, TenantLinkStore};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// `WIF_PORTAL_SESSION_IDLE_SECONDS`.
    pub idle_seconds: i64,
    /// `WIF_PORTAL_SESSION_MAX_SECONDS`.
    pub absolute_seconds: i64,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            idle_seconds: 30 * 60,
            absolute_seconds: 8 * 3600,
        }
    }
}

/// Activity renews the idle expiry at most this often.
const TOUCH_INTERVAL_SECONDS: i64 = 60;

pub struct Sessions {
    store: Arc<dyn SessionStore>,
    links: Arc<dyn TenantLinkStore>,
    clock: Arc<dyn Clock>,
    settings: SessionSettings,
}

impl Sessions {
    pub fn new(
        store: Arc<dyn SessionStore>,
        links: Arc<dyn TenantLinkStore>,
        clock: Arc<dyn Clock>,
        settings: SessionSettings,
    ) -> Self {
        Self {
            store,
            links,
            clock,
            settings,
        }
    }

    pub fn settings(&self) -> SessionSettings {
        self.settings
    }

    /// Starts a session for `person`; returns the cookie value (shown to the browser only) and the session.
    pub async fn create(&self, person: Person) -> Result<(String, Session), PortalError> {
        let now = self.clock.now_unix();
        let id = random_token();
        let session = Session {
            id_hash: sha256_hex(&id),
            person,
            csrf_token: random_token(),
            created_at: now,
            last_seen_at: now,
            idle_expires_at: now + self.settings.idle_seconds,
            expires_at: now + self.settings.absolute_seconds,
        };
        self.store.put_session(&session).await?;
        Ok((id, session))
    }

    /// The live session behind a cookie value, or `None` (unknown, signed out, idle or past its lifetime).
    pub async fn resume(&self, cookie_value: &str) -> Result<Option<Session>, PortalError> {
        if cookie_value.len() != 43 {
            return Ok(None);
        }
        let id_hash = sha256_hex(cookie_value);
        let Some(mut session) = self.store.get_session(&id_hash).await? else {
            return Ok(None);
        };
        let now = self.clock.now_unix();
        if now >= session.expires_at || now >= session.idle_expires_at {
            self.store.delete_session(&id_hash).await?;
            return Ok(None);
        }
        if now - session.last_seen_at >= TOUCH_INTERVAL_SECONDS {
            session.last_seen_at = now;
            session.idle_expires_at = (now + self.settings.idle_seconds).min(session.expires_at);
            self.store
                .touch_session(&id_hash, session.last_seen_at, session.idle_expires_at)
                .await?;
        }
        Ok(Some(session))
    }

    /// The person with their tenant's current link (read on every request, so unlinking takes effect at once).
    pub async fn principal(&self, person: Person, scopes: Option<Vec<String>>) -> Result<Principal, PortalError> {
        let link = self.links.get_link(&person.tid).await?;
        Ok(Principal::new(person, link, scopes))
    }

    pub async fn end(&self, session: &Session) -> Result<(), PortalError> {
        Ok(self.store.delete_session(&session.id_hash).await?)
    }

    /// A state-changing request must send the session's CSRF token back.
    pub fn check_csrf(expected: &str, sent: Option<&str>) -> Result<(), PortalError> {
        match sent {
            Some(token) if same_secret(token, expected) => Ok(()),
            _ => Err(PortalError::Csrf),
        }
    }
}
