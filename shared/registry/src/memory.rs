//! An in-memory [`RegistrationStore`] and audit trail with the same semantics as the DynamoDB one (conditional insert,
//! versioned replace and delete, trust markers moved with each write, key-ordered pages), for unit tests (feature
//! `test-support`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use wif_auth::ports::StoreUnavailable;
use wif_auth::registration::{Registration, Trust};
use wif_common::audit::{AuditError, AuditEvent, AuditSink};

use crate::ports::{
    AuditLog, AuditPage, AuditQuery, AuditQueryError, ListError, RegistrationPage, RegistrationStore,
    RegistrationWriteError, TrustHolder,
};

/// A registration as the store holds it: written in today's shape, so its markers are no longer pending.
fn stored(registration: &Registration) -> Registration {
    Registration {
        markers_pending: false,
        ..registration.clone()
    }
}

#[derive(Debug, Default)]
pub struct InMemoryRegistrations {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    items: BTreeMap<String, Registration>,
    /// Trust → the registration holding it.
    markers: BTreeMap<Trust, TrustHolder>,
}

impl State {
    /// Claims `trusts` for `registration`, or names the first one another registration holds (claiming nothing).
    fn claim(&mut self, registration: &Registration, trusts: &[Trust]) -> Result<(), RegistrationWriteError> {
        for trust in trusts {
            if let Some(holder) = self.markers.get(trust)
                && holder.client_id != registration.client_id
            {
                return Err(RegistrationWriteError::TrustTaken {
                    trust: trust.clone(),
                    holder: Some(holder.clone()),
                });
            }
        }
        for trust in trusts {
            self.markers.insert(trust.clone(), holder_of(registration));
        }
        Ok(())
    }

    fn release(&mut self, client_id: &str, trusts: &[Trust]) {
        for trust in trusts {
            if self
                .markers
                .get(trust)
                .is_some_and(|holder| holder.client_id == client_id)
            {
                self.markers.remove(trust);
            }
        }
    }
}

fn holder_of(registration: &Registration) -> TrustHolder {
    TrustHolder {
        client_id: registration.client_id.clone(),
        tenant_id: registration.tenant_id.clone(),
    }
}

impl InMemoryRegistrations {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores `registration` as it is, without markers, the way an item written before trust markers existed was
    /// stored (its next read says `markers_pending`).
    pub fn insert_unmarked(&self, registration: &Registration) {
        let mut stored = registration.clone();
        stored.markers_pending = !stored.federated_credentials.is_empty();
        self.state().items.insert(stored.client_id.clone(), stored);
    }

    /// Who holds `trust`, if anyone.
    pub fn holder(&self, trust: &Trust) -> Option<String> {
        self.state().markers.get(trust).map(|holder| holder.client_id.clone())
    }
}

#[async_trait::async_trait]
impl RegistrationStore for InMemoryRegistrations {
    async fn insert(&self, registration: &Registration) -> Result<(), RegistrationWriteError> {
        let mut state = self.state();
        if state.items.contains_key(&registration.client_id) {
            return Err(RegistrationWriteError::AlreadyExists);
        }
        state.claim(registration, &registration.trusts())?;
        state.items.insert(registration.client_id.clone(), stored(registration));
        Ok(())
    }

    async fn get(&self, client_id: &str) -> Result<Option<Registration>, StoreUnavailable> {
        Ok(self.state().items.get(client_id).cloned())
    }

    async fn replace(&self, current: &Registration, updated: &Registration) -> Result<(), RegistrationWriteError> {
        let mut state = self.state();
        match state.items.get(&current.client_id) {
            Some(stored) if stored.version == current.version => {}
            _ => return Err(RegistrationWriteError::VersionConflict),
        }
        let before = if current.markers_pending {
            Vec::new()
        } else {
            current.trusts()
        };
        let after = updated.trusts();
        let gained: Vec<Trust> = after.iter().filter(|t| !before.contains(t)).cloned().collect();
        let lost: Vec<Trust> = current.trusts().into_iter().filter(|t| !after.contains(t)).collect();
        state.claim(updated, &gained)?;
        state.release(&current.client_id, &lost);
        state.items.insert(updated.client_id.clone(), stored(updated));
        Ok(())
    }

    async fn delete(&self, current: &Registration) -> Result<bool, RegistrationWriteError> {
        let mut state = self.state();
        match state.items.get(&current.client_id) {
            None => return Ok(false),
            Some(stored) if stored.version != current.version => return Err(RegistrationWriteError::VersionConflict),
            Some(_) => {}
        }
        state.items.remove(&current.client_id);
        state.release(&current.client_id, &current.trusts());
        Ok(true)
    }

    async fn list(
        &self,
        tenant_id: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<RegistrationPage, ListError> {
        let state = self.state();
        let items = &state.items;
        let start = match cursor {
            None => None,
            Some(cursor) if items.contains_key(cursor) => Some(cursor.to_owned()),
            Some(_) => return Err(ListError::InvalidCursor),
        };
        let matching: Vec<&Registration> = items
            .values()
            .filter(|r| tenant_id.is_none_or(|t| r.tenant_id == t))
            .filter(|r| start.as_deref().is_none_or(|s| r.client_id.as_str() > s))
            .collect();
        let page: Vec<Registration> = matching.iter().take(limit as usize).map(|r| (*r).clone()).collect();
        let next_cursor = (matching.len() > page.len())
            .then(|| page.last().map(|r| r.client_id.clone()))
            .flatten();
        Ok(RegistrationPage {
            items: page,
            next_cursor,
        })
    }
}

/// An in-memory audit trail: both the sink every writer uses and the [`AuditLog`] the admin API reads, with the
/// Audit table's query semantics (tenant or client, inclusive time range, either order, cursors bound to their
/// query).
#[derive(Debug, Default)]
pub struct InMemoryAudit {
    events: Mutex<Vec<AuditEvent>>,
}

impl InMemoryAudit {
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn scope_key(query: &AuditQuery) -> String {
        format!(
            "{}|{}",
            query.tenant_id.as_deref().unwrap_or(""),
            query.client_id.as_deref().unwrap_or("")
        )
    }
}

#[async_trait::async_trait]
impl AuditSink for InMemoryAudit {
    async fn record(&self, event: AuditEvent) -> Result<(), AuditError> {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).push(event);
        Ok(())
    }
}

#[async_trait::async_trait]
impl AuditLog for InMemoryAudit {
    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, AuditQueryError> {
        let scope = Self::scope_key(query);
        let offset = match &query.cursor {
            None => 0,
            Some(cursor) => cursor
                .strip_prefix(&format!("{scope}#"))
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or(AuditQueryError::InvalidCursor)?,
        };
        let mut matching: Vec<AuditEvent> = self
            .events()
            .into_iter()
            .filter(|e| query.tenant_id.as_ref().is_none_or(|t| e.tenant_id.as_ref() == Some(t)))
            .filter(|e| query.client_id.as_ref().is_none_or(|c| e.client_id.as_ref() == Some(c)))
            .filter(|e| query.from.is_none_or(|from| e.at >= from) && query.to.is_none_or(|to| e.at <= to))
            .collect();
        // Stable sort keeps insertion order within a second, like the table's time-then-random sort key roughly does.
        matching.sort_by_key(|e| e.at);
        if query.descending {
            matching.reverse();
        }
        let limit = query.limit.max(1) as usize;
        let events: Vec<AuditEvent> = matching.iter().skip(offset).take(limit).cloned().collect();
        let next = offset + events.len();
        Ok(AuditPage {
            next_cursor: (next < matching.len()).then(|| format!("{scope}#{next}")),
            events,
        })
    }
}
