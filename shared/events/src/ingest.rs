//! Appending a stream batch's events to the feed so that no poller can miss one.
//!
//! Each event gets a feed key stamped with the ingestion time and its position in the batch, so a batch keeps the
//! stream's order (DynamoDB Streams orders the records of one item). The append is only complete when every entry
//! became visible within a third of the settle window after its stamp: receivers' watermarks pass an entry only
//! once it is older than the whole window ([`crate::feed`]). A slower append (throttling, retries) is stamped again
//! and written again, the old entries removed, so a late write can never hide below a watermark.
//!
//! A redelivered record (the batch failed after a partial write) finds its event stored: the event keeps its change
//! id (so its `jti`) and, when every event of the batch is already stored with a fresh stamp, its feed key, so no
//! duplicate entry appears.

use std::sync::Arc;
use std::time::Duration;

use crate::change::ChangeEvent;
use crate::ports::{Append, EventStore, FeedKey, StoreError};

/// Attempts at appending one batch before giving up (the stream then redelivers it).
const ATTEMPTS: usize = 3;

pub struct Ingest {
    pub store: Arc<dyn EventStore>,
    pub settle: Duration,
}

impl Ingest {
    /// The longest an append may take, stamp to acknowledgement, for its entries to count as visible in time.
    pub fn visibility_budget_ms(&self) -> i64 {
        i64::try_from(self.settle.as_millis() / 3).unwrap_or(i64::MAX)
    }

    /// Appends `events` (in stream order); `Ok` once all are durably in the feed.
    pub async fn append(
        &self,
        events: &[ChangeEvent],
        clock_ms: &(dyn Fn() -> i64 + Send + Sync),
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let pairs: Vec<(String, String)> = events.iter().map(|e| (e.tenant.clone(), e.change_id.clone())).collect();
        let mut stored = self.store.stored_keys(&pairs).await?;
        for _ in 0..ATTEMPTS {
            let stamp = clock_ms();
            let budget = self.visibility_budget_ms();
            let reusable = events.iter().all(|e| {
                stored
                    .get(&e.change_id)
                    .and_then(FeedKey::stamp_ms)
                    .is_some_and(|at| stamp - at < budget)
            });
            let appends: Vec<Append> = events
                .iter()
                .enumerate()
                .map(|(position, event)| {
                    let previous = stored.get(&event.change_id).cloned();
                    let (feed_key, replaces) = match previous {
                        Some(key) if reusable => (key, None),
                        previous => (FeedKey::new(stamp, position, &event.change_id), previous),
                    };
                    Append {
                        event: event.clone(),
                        feed_key,
                        replaces,
                    }
                })
                .collect();
            self.store.append(&appends).await?;
            let done = clock_ms();
            let oldest = appends
                .iter()
                .filter_map(|a| a.feed_key.stamp_ms())
                .min()
                .unwrap_or(done);
            if done - oldest <= budget {
                return Ok(());
            }
            tracing::warn!(
                elapsed_ms = done - oldest,
                budget_ms = budget,
                "the feed append was slow; stamping the batch again so no watermark can pass it"
            );
            stored = appends.into_iter().map(|a| (a.event.change_id, a.feed_key)).collect();
        }
        Err(StoreError(format!(
            "the feed append took longer than {} ms {ATTEMPTS} times",
            self.visibility_budget_ms()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{Change, DirectoryChange, RecordOrigin, ResourceType};
    use crate::memory::MemoryEventStore;
    use crate::testing::user_state;
    use serde_json::json;
    use std::sync::atomic::{AtomicI64, Ordering};

    fn created(record: &str, user: &str) -> ChangeEvent {
        ChangeEvent::of(
            &RecordOrigin {
                record_id: record.into(),
                committed_at_ms: 0,
                sequence: "100".into(),
            },
            &DirectoryChange {
                tenant: "t".into(),
                change: Change::Created(ResourceType::User, user_state(user, 1, json!({"userName": user}))),
            },
        )
    }

    fn ingest(store: &Arc<MemoryEventStore>) -> Ingest {
        Ingest {
            store: store.clone(),
            settle: Duration::from_secs(15),
        }
    }

    #[tokio::test]
    async fn a_batch_keeps_stream_order_and_a_redelivery_adds_nothing() {
        let store = Arc::new(MemoryEventStore::default());
        let events = vec![created("r1", "a"), created("r2", "b"), created("r3", "a")];
        let now = AtomicI64::new(1_000_000);
        let clock = || now.load(Ordering::SeqCst);
        ingest(&store).append(&events, &clock).await.unwrap();
        let feed = store.feed_of("t");
        let order: Vec<&str> = feed.iter().map(|e| e.change_id.as_str()).collect();
        let expected: Vec<&str> = events.iter().map(|e| e.change_id.as_str()).collect();
        assert_eq!(order, expected);
        now.fetch_add(1_000, Ordering::SeqCst);
        ingest(&store).append(&events, &clock).await.unwrap();
        assert_eq!(store.feed_of("t"), feed, "a fresh redelivery reuses its keys");
        now.fetch_add(60_000, Ordering::SeqCst);
        ingest(&store).append(&events[1..], &clock).await.unwrap();
        let restamped = store.feed_of("t");
        assert_eq!(
            restamped.len(),
            3,
            "a stale redelivery moves its entries, it does not copy them"
        );
        assert_eq!(restamped[2].change_id, events[2].change_id);
        assert!(restamped[1].key.stamp_ms() > feed[1].key.stamp_ms());
    }

    #[tokio::test]
    async fn a_slow_append_is_stamped_again() {
        let store = Arc::new(MemoryEventStore::default());
        let events = vec![created("r1", "a")];
        // Every clock reading moves 6 s: the first append completes after its 5 s budget, the second is checked
        // against its own stamp.
        let now = AtomicI64::new(0);
        let clock = || now.fetch_add(6_000, Ordering::SeqCst) + 6_000;
        let result = ingest(&store).append(&events, &clock).await;
        assert!(result.is_err(), "every attempt is slow");
        assert_eq!(store.feed_of("t").len(), 1, "each attempt replaced the previous entry");
        let steady = AtomicI64::new(100_000);
        let fast = || steady.load(Ordering::SeqCst);
        ingest(&store).append(&events, &fast).await.unwrap();
        assert_eq!(store.feed_of("t")[0].key.stamp_ms(), Some(100_000));
    }

    #[tokio::test]
    async fn an_outage_is_an_error_for_the_stream_to_retry() {
        let store = Arc::new(MemoryEventStore::default());
        store.fail(true);
        let clock = || 0;
        assert!(ingest(&store).append(&[created("r", "a")], &clock).await.is_err());
    }
}
