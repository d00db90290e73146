//! An in-memory [`EventStore`] with the same semantics as the Events table, for tests (feature `test-support`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::delivery::{PushState, PushStateStore};
use crate::ports::{Append, EventStore, FeedEntry, FeedKey, ReceiverState, StoreError, StoredEvent, Window};

#[derive(Default)]
pub struct MemoryEventStore {
    /// (tenant, change id) → event
    events: Mutex<BTreeMap<(String, String), StoredEvent>>,
    /// (tenant, key) → change id
    feed: Mutex<BTreeMap<(String, FeedKey), String>>,
    receivers: Mutex<BTreeMap<String, ReceiverState>>,
    push_states: Mutex<BTreeMap<String, PushState>>,
    failing: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MemoryEventStore {
    /// Every call fails while set (an outage).
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            Err(StoreError("simulated outage".into()))
        } else {
            Ok(())
        }
    }

    /// Every feed entry of a tenant, in order.
    pub fn feed_of(&self, tenant: &str) -> Vec<FeedEntry> {
        lock(&self.feed)
            .iter()
            .filter(|((t, _), _)| t == tenant)
            .map(|((_, key), id)| FeedEntry {
                key: key.clone(),
                change_id: id.clone(),
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl EventStore for MemoryEventStore {
    async fn stored_keys(&self, tenant_changes: &[(String, String)]) -> Result<BTreeMap<String, FeedKey>, StoreError> {
        self.check()?;
        let events = lock(&self.events);
        Ok(tenant_changes
            .iter()
            .filter_map(|key| events.get(key).map(|e| (key.1.clone(), e.feed_key.clone())))
            .collect())
    }

    async fn append(&self, appends: &[Append]) -> Result<(), StoreError> {
        self.check()?;
        let (mut events, mut feed) = (lock(&self.events), lock(&self.feed));
        for append in appends {
            let tenant = append.event.tenant.clone();
            if let Some(old) = &append.replaces {
                feed.remove(&(tenant.clone(), old.clone()));
            }
            feed.insert(
                (tenant.clone(), append.feed_key.clone()),
                append.event.change_id.clone(),
            );
            events.insert(
                (tenant, append.event.change_id.clone()),
                StoredEvent {
                    event: append.event.clone(),
                    feed_key: append.feed_key.clone(),
                    sets: BTreeMap::new(),
                },
            );
        }
        Ok(())
    }

    async fn window(&self, tenant: &str, after: &FeedKey, limit: usize) -> Result<Window, StoreError> {
        self.check()?;
        let above: Vec<FeedEntry> = self
            .feed_of(tenant)
            .into_iter()
            .filter(|entry| entry.key > *after)
            .collect();
        Ok(Window {
            truncated: above.len() > limit,
            entries: above.into_iter().take(limit).collect(),
        })
    }

    async fn events(&self, tenant: &str, change_ids: &[String]) -> Result<Vec<StoredEvent>, StoreError> {
        self.check()?;
        let events = lock(&self.events);
        Ok(change_ids
            .iter()
            .filter_map(|id| events.get(&(tenant.to_owned(), id.clone())).cloned())
            .collect())
    }

    async fn cache_sets(&self, stored: &[StoredEvent]) -> Result<(), StoreError> {
        self.check()?;
        let mut events = lock(&self.events);
        for event in stored {
            if let Some(existing) = events.get_mut(&(event.event.tenant.clone(), event.event.change_id.clone())) {
                existing.sets.extend(event.sets.clone());
            }
        }
        Ok(())
    }

    async fn receiver(&self, client_id: &str) -> Result<Option<ReceiverState>, StoreError> {
        self.check()?;
        Ok(lock(&self.receivers).get(client_id).cloned())
    }

    async fn create_receiver(&self, client_id: &str, state: &ReceiverState) -> Result<ReceiverState, StoreError> {
        self.check()?;
        Ok(lock(&self.receivers)
            .entry(client_id.to_owned())
            .or_insert_with(|| state.clone())
            .clone())
    }

    async fn add_acks(&self, client_id: &str, acks: &[FeedKey]) -> Result<(), StoreError> {
        self.check()?;
        if let Some(state) = lock(&self.receivers).get_mut(client_id) {
            state.acked.extend(acks.iter().cloned());
        }
        Ok(())
    }

    async fn advance(&self, client_id: &str, to: &FeedKey, forget: &[FeedKey]) -> Result<(), StoreError> {
        self.check()?;
        if let Some(state) = lock(&self.receivers).get_mut(client_id) {
            if *to > state.watermark {
                state.watermark = to.clone();
            }
            let forget: BTreeSet<&FeedKey> = forget.iter().collect();
            state.acked.retain(|key| !forget.contains(key));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl PushStateStore for MemoryEventStore {
    async fn push_state(&self, client_id: &str) -> Result<Option<PushState>, StoreError> {
        self.check()?;
        Ok(lock(&self.push_states).get(client_id).cloned())
    }

    async fn save_push_state(&self, client_id: &str, _tenant: &str, state: &PushState) -> Result<(), StoreError> {
        self.check()?;
        lock(&self.push_states).insert(client_id.to_owned(), state.clone());
        Ok(())
    }
}
