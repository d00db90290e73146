//! Storage the event pipeline needs. `wif-store`'s `EventRepository` implements it over the Events table;
//! [`crate::memory::MemoryEventStore`] in tests.
//!
//! The feed of a tenant is a list of entries ordered by [`FeedKey`]: the ingestion time (milliseconds), the
//! position in the stream batch, then the change id. Each change is stored once ([`StoredEvent`]); its feed entry
//! points to it. A receiver's state is a watermark (every entry at or below it is settled for that receiver) plus
//! the acknowledgements above it.

use std::collections::{BTreeMap, BTreeSet};

use wif_auth::event_settings::EventDataLevel;

use crate::change::ChangeEvent;

/// The storage could not answer (throttling, an outage): retry later, never a verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event storage unavailable: {0}")]
pub struct StoreError(pub String);

/// `<ingest ms, 13 digits>.<batch position, 6 digits>.<change id>`: sorts by ingestion time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeedKey(pub String);

impl FeedKey {
    pub fn new(stamp_ms: i64, position: usize, change_id: &str) -> Self {
        Self(format!(
            "{:013}.{:06}.{change_id}",
            stamp_ms.max(0),
            position % 1_000_000
        ))
    }

    /// The lowest key at `stamp_ms`: every entry stamped at or after it sorts above it.
    pub fn floor(stamp_ms: i64) -> Self {
        Self(format!("{:013}", stamp_ms.max(0)))
    }

    pub fn stamp_ms(&self) -> Option<i64> {
        self.0.get(..13)?.parse().ok()
    }

    pub fn change_id(&self) -> Option<&str> {
        self.0.rsplit_once('.').map(|(_, id)| id).filter(|id| id.len() == 32)
    }
}

/// One change with its current feed position and the SETs already signed for it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub event: ChangeEvent,
    pub feed_key: FeedKey,
    /// Signed SETs by level (signed on first delivery, reused for every later one).
    pub sets: BTreeMap<EventDataLevel, String>,
}

/// An entry of a tenant's feed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FeedEntry {
    pub key: FeedKey,
    pub change_id: String,
}

/// Feed entries above a position, in key order, and whether more exist beyond them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Window {
    pub entries: Vec<FeedEntry>,
    pub truncated: bool,
}

/// What a receiver has settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverState {
    pub tenant: String,
    pub watermark: FeedKey,
    /// Feed keys of acknowledged events above the watermark.
    pub acked: BTreeSet<FeedKey>,
}

/// A change to append: the event and where it goes in the feed. `replaces` is the entry a re-stamped change
/// leaves (deleted in the same write).
#[derive(Debug, Clone, PartialEq)]
pub struct Append {
    pub event: ChangeEvent,
    pub feed_key: FeedKey,
    pub replaces: Option<FeedKey>,
}

#[async_trait::async_trait]
pub trait EventStore: Send + Sync {
    /// Current feed keys of changes already stored (a redelivered stream record), by change id.
    async fn stored_keys(&self, tenant_changes: &[(String, String)]) -> Result<BTreeMap<String, FeedKey>, StoreError>;
    /// Stores the events and their feed entries; returns only once every item is written.
    async fn append(&self, appends: &[Append]) -> Result<(), StoreError>;
    /// Up to `limit` entries of the tenant's feed above `after` (strongly consistent).
    async fn window(&self, tenant: &str, after: &FeedKey, limit: usize) -> Result<Window, StoreError>;
    /// The stored events of these changes in this tenant (strongly consistent); unknown ids are left out.
    async fn events(&self, tenant: &str, change_ids: &[String]) -> Result<Vec<StoredEvent>, StoreError>;
    /// Remembers a signed SET (best effort: a lost write only means signing again).
    async fn cache_sets(&self, events: &[StoredEvent]) -> Result<(), StoreError>;

    async fn receiver(&self, client_id: &str) -> Result<Option<ReceiverState>, StoreError>;
    /// Creates the receiver's state unless it exists; returns what is stored afterwards.
    async fn create_receiver(&self, client_id: &str, state: &ReceiverState) -> Result<ReceiverState, StoreError>;
    async fn add_acks(&self, client_id: &str, acks: &[FeedKey]) -> Result<(), StoreError>;
    /// Moves the watermark up to `to` (never down) and forgets acknowledgements at or below it.
    async fn advance(&self, client_id: &str, to: &FeedKey, forget: &[FeedKey]) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_keys_sort_by_time_then_position() {
        let id = crate::change::change_id("r");
        let a = FeedKey::new(1_767_225_600_000, 2, &id);
        let b = FeedKey::new(1_767_225_600_000, 10, &id);
        let c = FeedKey::new(1_767_225_600_001, 0, &id);
        assert!(a < b && b < c);
        assert!(FeedKey::floor(1_767_225_600_000) < a);
        assert!(FeedKey::floor(1_767_225_600_001) > b);
        assert_eq!(a.stamp_ms(), Some(1_767_225_600_000));
        assert_eq!(a.change_id(), Some(id.as_str()));
        assert_eq!(FeedKey::floor(5).change_id(), None);
    }
}
