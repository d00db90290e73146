//! An in-memory [`RegistrationStore`] and audit trail with the same semantics as the DynamoDB one (conditional insert, versioned
//! replace and delete, key-ordered pages), for unit tests (feature `test-support`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use wif_auth::ports::StoreUnavailable;
use wif_auth::registration::Registration;
use wif_common::audit::{AuditError, AuditEvent, AuditSink};

use crate::ports::{
    AuditLog, AuditPage, AuditQuery, AuditQueryError, ListError, RegistrationPage, RegistrationStore,
    RegistrationWriteError,
};

#[derive(Debug, Default)]
pub struct InMemoryRegistrations {
    items: Mutex<BTreeMap<String, Registration>>,
}

impl InMemoryRegistrations {
    fn items(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Registration>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait::async_trait]
impl RegistrationStore for InMemoryRegistrations {
    async fn insert(&self, registration: &Registration) -> Result<(), RegistrationWriteError> {
        let mut items = self.items();
        if items.contains_key(&registration.client_id) {
            return Err(RegistrationWriteError::AlreadyExists);
        }
        items.insert(registration.client_id.clone(), registration.clone());
        Ok(())
    }

    async fn get(&self, client_id: &str) -> Result<Option<Registration>, StoreUnavailable> {
        Ok(self.items().get(client_id).cloned())
    }

    async fn replace(&self, registration: &Registration, expected_version: u64) -> Result<(), RegistrationWriteError> {
        let mut items = self.items();
        match items.get(&registration.client_id) {
            Some(current) if current.version == expected_version => {
                items.insert(registration.client_id.clone(), registration.clone());
                Ok(())
            }
            _ => Err(RegistrationWriteError::VersionConflict),
        }
    }

    async fn delete(&self, client_id: &str, expected_version: Option<u64>) -> Result<bool, RegistrationWriteError> {
        let mut items = self.items();
        match (items.get(client_id), expected_version) {
            (None, _) => Ok(false),
            (Some(current), Some(version)) if current.version != version => {
                Err(RegistrationWriteError::VersionConflict)
            }
            _ => Ok(items.remove(client_id).is_some()),
        }
    }

    async fn list(
        &self,
        tenant_id: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<RegistrationPage, ListError> {
        let items = self.items();
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
