//! An in-memory [`RegistrationStore`] with the same semantics as the DynamoDB one (conditional insert, versioned
//! replace and delete, key-ordered pages), for unit tests and tools.

use std::collections::BTreeMap;
use std::sync::Mutex;

use wif_auth::ports::StoreUnavailable;
use wif_auth::registration::Registration;

use crate::ports::{ListError, RegistrationPage, RegistrationStore, RegistrationWriteError};

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
