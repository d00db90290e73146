//! One stream batch through the pipeline: decoded records → events appended to the feed → EventBridge entries,
//! with the Lambda stream semantics of a partial failure: the batch is reported failed from its first failed
//! record on (`ReportBatchItemFailures`), so the stream redelivers exactly that record and everything after it,
//! in order. Nothing after a failed record is published before it, so per-item order holds; what was already
//! appended is found again on redelivery (same change ids, same feed keys), so a retry adds no duplicate.

use std::sync::Arc;

use wif_auth::event_settings::EventDataLevel;

use crate::bus::{BusEntry, entry};
use crate::change::{ChangeEvent, DirectoryChange, RecordOrigin};
use crate::ingest::Ingest;
use crate::set::Issuer;

/// A stream record after decoding: a change, nothing (not an event), or why it could not be decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedRecord {
    pub origin: RecordOrigin,
    pub change: Result<Option<DirectoryChange>, String>,
}

/// Most entries in one PutEvents call.
pub const BUS_BATCH: usize = 10;

/// Publishes entries to the event bus.
#[async_trait::async_trait]
pub trait EventBus: Send + Sync {
    /// `Err((i, reason))`: entries before `i` were accepted, `i` was not (throttled, failed).
    async fn publish(&self, entries: &[BusEntry]) -> Result<(), (usize, String)>;
}

/// What happened to a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// The record the stream must redeliver from (`None`: all done).
    pub retry_from: Option<String>,
    pub events: usize,
    pub skipped: usize,
    pub published: usize,
}

pub struct Pipeline {
    pub ingest: Ingest,
    /// The bus and the data level of its entries; `None` publishes nothing.
    pub bus: Option<(Arc<dyn EventBus>, EventDataLevel)>,
    pub issuer: Issuer,
}

impl Pipeline {
    pub async fn process(&self, records: &[DecodedRecord], clock_ms: &(dyn Fn() -> i64 + Send + Sync)) -> BatchOutcome {
        let mut outcome = BatchOutcome::default();
        let mut events: Vec<(usize, ChangeEvent)> = Vec::new();
        for (index, record) in records.iter().enumerate() {
            match &record.change {
                Ok(Some(change)) => events.push((index, ChangeEvent::of(&record.origin, change))),
                Ok(None) => outcome.skipped += 1,
                Err(reason) => {
                    tracing::error!(record_id = %record.origin.record_id, %reason, "stream record cannot be decoded");
                    outcome.retry_from = Some(record.origin.record_id.clone());
                    break;
                }
            }
        }
        let decoded: Vec<ChangeEvent> = events.iter().map(|(_, e)| e.clone()).collect();
        if let Err(err) = self.ingest.append(&decoded, clock_ms).await {
            tracing::warn!(error = %err, "feed append failed; the stream redelivers the batch");
            return BatchOutcome {
                retry_from: records.first().map(|r| r.origin.record_id.clone()),
                ..Default::default()
            };
        }
        outcome.events = decoded.len();
        if let Some((bus, level)) = &self.bus
            && let Err((failed, reason)) = self.publish(bus.as_ref(), *level, &decoded, clock_ms() / 1000).await
        {
            tracing::warn!(%reason, "EventBridge refused an entry; the stream redelivers from its record");
            outcome.published = failed;
            outcome.retry_from = Some(records[events[failed].0].origin.record_id.clone());
            return outcome;
        }
        outcome.published = if self.bus.is_some() { decoded.len() } else { 0 };
        outcome
    }

    async fn publish(
        &self,
        bus: &dyn EventBus,
        level: EventDataLevel,
        events: &[ChangeEvent],
        now: i64,
    ) -> Result<(), (usize, String)> {
        let entries: Vec<BusEntry> = events.iter().map(|e| entry(e, level, &self.issuer, now)).collect();
        for (chunk_index, chunk) in entries.chunks(BUS_BATCH).enumerate() {
            bus.publish(chunk)
                .await
                .map_err(|(i, reason)| (chunk_index * BUS_BATCH + i, reason))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{Change, ResourceType};
    use crate::memory::MemoryEventStore;
    use crate::testing::user_state;
    use serde_json::json;
    use std::sync::Mutex;
    use std::time::Duration;

    #[derive(Default)]
    struct Bus {
        accepted: Mutex<Vec<BusEntry>>,
        refuse_from: Mutex<Option<usize>>,
    }

    #[async_trait::async_trait]
    impl EventBus for Bus {
        async fn publish(&self, entries: &[BusEntry]) -> Result<(), (usize, String)> {
            let mut accepted = self.accepted.lock().unwrap();
            for (i, entry) in entries.iter().enumerate() {
                if self
                    .refuse_from
                    .lock()
                    .unwrap()
                    .is_some_and(|limit| accepted.len() >= limit)
                {
                    return Err((i, "ThrottlingException".into()));
                }
                accepted.push(entry.clone());
            }
            Ok(())
        }
    }

    fn record(id: &str, change: Result<Option<DirectoryChange>, String>) -> DecodedRecord {
        DecodedRecord {
            origin: RecordOrigin {
                record_id: id.into(),
                committed_at_ms: 5,
                sequence: "100".into(),
            },
            change,
        }
    }

    fn created(user: &str) -> Result<Option<DirectoryChange>, String> {
        Ok(Some(DirectoryChange {
            tenant: "t".into(),
            change: Change::Created(ResourceType::User, user_state(user, 1, json!({"userName": user}))),
        }))
    }

    fn pipeline(store: &Arc<MemoryEventStore>, bus: &Arc<Bus>) -> Pipeline {
        Pipeline {
            ingest: Ingest {
                store: store.clone(),
                settle: Duration::from_secs(15),
            },
            bus: Some((bus.clone(), EventDataLevel::Notice)),
            issuer: Issuer("https://e.example".into()),
        }
    }

    #[tokio::test]
    async fn a_clean_batch_appends_and_publishes_every_event_once() {
        let (store, bus) = (Arc::new(MemoryEventStore::default()), Arc::new(Bus::default()));
        let records: Vec<DecodedRecord> = (0..12)
            .map(|i| {
                record(
                    &format!("r{i}"),
                    if i == 3 { Ok(None) } else { created(&format!("u{i}")) },
                )
            })
            .collect();
        let outcome = pipeline(&store, &bus).process(&records, &|| 1_000).await;
        assert_eq!(
            outcome,
            BatchOutcome {
                retry_from: None,
                events: 11,
                skipped: 1,
                published: 11
            }
        );
        assert_eq!(store.feed_of("t").len(), 11);
        assert_eq!(bus.accepted.lock().unwrap().len(), 11);
    }

    #[tokio::test]
    async fn a_bad_record_stops_the_batch_there_and_a_refused_entry_retries_from_its_record() {
        let (store, bus) = (Arc::new(MemoryEventStore::default()), Arc::new(Bus::default()));
        let records = vec![
            record("r0", created("a")),
            record("r1", Err("garbled".into())),
            record("r2", created("b")),
        ];
        let outcome = pipeline(&store, &bus).process(&records, &|| 1_000).await;
        assert_eq!((outcome.retry_from.as_deref(), outcome.events), (Some("r1"), 1));
        assert_eq!(store.feed_of("t").len(), 1, "nothing after the bad record is appended");

        let (store, bus) = (Arc::new(MemoryEventStore::default()), Arc::new(Bus::default()));
        *bus.refuse_from.lock().unwrap() = Some(1);
        let records = vec![
            record("r0", created("a")),
            record("r1", Ok(None)),
            record("r2", created("b")),
        ];
        let outcome = pipeline(&store, &bus).process(&records, &|| 1_000).await;
        assert_eq!(outcome.retry_from.as_deref(), Some("r2"));
        *bus.refuse_from.lock().unwrap() = None;
        let redelivered = pipeline(&store, &bus).process(&records[2..], &|| 2_000).await;
        assert_eq!(redelivered.retry_from, None);
        assert_eq!(
            store.feed_of("t").len(),
            2,
            "the redelivery found its event appended already"
        );
        assert_eq!(bus.accepted.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_feed_outage_redelivers_the_whole_batch() {
        let (store, bus) = (Arc::new(MemoryEventStore::default()), Arc::new(Bus::default()));
        store.fail(true);
        let outcome = pipeline(&store, &bus)
            .process(&[record("r0", created("a"))], &|| 0)
            .await;
        assert_eq!(outcome.retry_from.as_deref(), Some("r0"));
        assert!(
            bus.accepted.lock().unwrap().is_empty(),
            "nothing is published that is not in the feed"
        );
    }
}
