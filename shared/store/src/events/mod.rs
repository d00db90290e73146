//! The Events table behind [`wif_events::ports::EventStore`]: each tenant's feed of change events (kept for the
//! retention period, then expired by TTL) and each receiver's acknowledgement state. Layout in [`items`].
//!
//! Costs: appending a stream batch of n events is one BatchGetItem (redelivered records) and ⌈2n/25⌉
//! BatchWriteItems; a poll is one GetItem (receiver state), one Query (the unsettled window) and one BatchGetItem
//! (the offered events), plus one UpdateItem when acknowledgements or the watermark change and one per newly signed
//! SET.

pub mod items;
pub mod push;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use wif_events::ports::{Append, EventStore, FeedEntry, FeedKey, ReceiverState, StoreError as EventStoreError};
use wif_events::ports::{StoredEvent, Window};

use crate::dynamo::{StoreError, backend};
use items::{
    EVENT_SK, Item, STATE_SK, decode_event, event_item, event_pk, feed_item, feed_pk, get_s, key, receiver_pk,
    set_attribute,
};

const BATCH_WRITE_MAX: usize = 25;
const UNPROCESSED_RETRIES: u32 = 8;
const CACHE_WRITES_IN_FLIGHT: usize = 16;

impl From<StoreError> for EventStoreError {
    fn from(err: StoreError) -> Self {
        EventStoreError(err.to_string())
    }
}

fn build(err: impl std::fmt::Display) -> EventStoreError {
    EventStoreError(format!("request build: {err}"))
}

/// 25, 50, 100 … ms with jitter: throttled batches spread out.
async fn pause(attempt: u32) {
    crate::dynamo::jittered_backoff(25, attempt).await;
}

#[derive(Debug, Clone)]
pub struct EventRepository {
    client: Client,
    table: String,
    retention: Duration,
    now: fn() -> i64,
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl EventRepository {
    pub fn new(client: Client, table: impl Into<String>, retention: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            retention,
            now: unix_now,
        }
    }

    fn expires_at(&self) -> i64 {
        (self.now)() + i64::try_from(self.retention.as_secs()).unwrap_or(i64::MAX / 2)
    }

    /// Every item of `keys`, strongly consistent, retrying unprocessed keys.
    async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, EventStoreError> {
        crate::dynamo::batch_get_consistent(&self.client, &self.table, keys, UNPROCESSED_RETRIES)
            .await
            .map_err(|err| EventStoreError(err.to_string()))
    }

    /// Writes every request, 25 per call, retrying unprocessed ones; returns once all are applied.
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), EventStoreError> {
        for chunk in requests.chunks(BATCH_WRITE_MAX) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(backend)?;
                pending = output
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                attempt += 1;
                if !pending.is_empty() {
                    if attempt > UNPROCESSED_RETRIES {
                        return Err(EventStoreError("BatchWriteItem kept throttling".into()));
                    }
                    pause(attempt).await;
                }
            }
        }
        Ok(())
    }

    fn put(item: Item) -> Result<WriteRequest, EventStoreError> {
        let put = PutRequest::builder().set_item(Some(item)).build().map_err(build)?;
        Ok(WriteRequest::builder().put_request(put).build())
    }

    fn delete(key: Item) -> Result<WriteRequest, EventStoreError> {
        let delete = DeleteRequest::builder().set_key(Some(key)).build().map_err(build)?;
        Ok(WriteRequest::builder().delete_request(delete).build())
    }

    /// Stores one signed SET of an event (the event must exist).
    async fn cache_one(&self, stored: &StoredEvent) -> Result<(), EventStoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                event_pk(&stored.event.tenant, &stored.event.change_id),
                EVENT_SK,
            )))
            .condition_expression("attribute_exists(pk)");
        let mut assignments = Vec::new();
        for (i, (level, set)) in stored.sets.iter().enumerate() {
            assignments.push(format!("#s{i} = :s{i}"));
            update = update
                .expression_attribute_names(format!("#s{i}"), set_attribute(*level))
                .expression_attribute_values(format!(":s{i}"), AttributeValue::S(set.clone()));
        }
        if assignments.is_empty() {
            return Ok(());
        }
        match update
            .update_expression(format!("SET {}", assignments.join(", ")))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Expired meanwhile: nothing to cache.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(backend(err).into()),
        }
    }
}

mod receivers;

#[async_trait::async_trait]
impl EventStore for EventRepository {
    async fn stored_keys(
        &self,
        tenant_changes: &[(String, String)],
    ) -> Result<BTreeMap<String, FeedKey>, EventStoreError> {
        let keys = tenant_changes
            .iter()
            .map(|(tenant, change_id)| key(event_pk(tenant, change_id), EVENT_SK))
            .collect();
        let mut stored = BTreeMap::new();
        for item in self.batch_get(keys).await? {
            let event = decode_event(&item)?;
            stored.insert(event.event.change_id, event.feed_key);
        }
        Ok(stored)
    }

    async fn append(&self, appends: &[Append]) -> Result<(), EventStoreError> {
        let expires_at = self.expires_at();
        let mut requests = Vec::with_capacity(appends.len() * 2);
        for append in appends {
            let event = &append.event;
            requests.push(Self::put(event_item(event, &append.feed_key, expires_at)?)?);
            requests.push(Self::put(feed_item(
                &event.tenant,
                &append.feed_key,
                &event.change_id,
                expires_at,
            ))?);
            if let Some(old) = &append.replaces {
                requests.push(Self::delete(key(feed_pk(&event.tenant), &old.0))?);
            }
        }
        self.batch_write(requests).await
    }

    async fn window(&self, tenant: &str, after: &FeedKey, limit: usize) -> Result<Window, EventStoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p AND sk > :after")
            .expression_attribute_values(":p", AttributeValue::S(feed_pk(tenant)))
            .expression_attribute_values(":after", AttributeValue::S(after.0.clone()))
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(backend)?;
        let entries = output
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| {
                Some(FeedEntry {
                    key: FeedKey(get_s(item, "sk")?.to_owned()),
                    change_id: get_s(item, "change_id")?.to_owned(),
                })
            })
            .collect();
        Ok(Window {
            entries,
            truncated: output.last_evaluated_key.is_some_and(|k| !k.is_empty()),
        })
    }

    async fn events(&self, tenant: &str, change_ids: &[String]) -> Result<Vec<StoredEvent>, EventStoreError> {
        let keys = change_ids
            .iter()
            .map(|id| key(event_pk(tenant, id), EVENT_SK))
            .collect();
        let items = self.batch_get(keys).await?;
        // The key names the tenant, but the stored tenant is checked too: defence in depth.
        Ok(items
            .iter()
            .filter(|item| get_s(item, "tenant") == Some(tenant))
            .map(decode_event)
            .collect::<Result<_, _>>()?)
    }

    async fn cache_sets(&self, events: &[StoredEvent]) -> Result<(), EventStoreError> {
        for chunk in events.chunks(CACHE_WRITES_IN_FLIGHT) {
            let results = futures::future::join_all(chunk.iter().map(|stored| self.cache_one(stored))).await;
            results.into_iter().collect::<Result<(), _>>()?;
        }
        Ok(())
    }

    async fn receiver(&self, client_id: &str) -> Result<Option<ReceiverState>, EventStoreError> {
        self.load_receiver(client_id).await
    }

    async fn create_receiver(&self, client_id: &str, state: &ReceiverState) -> Result<ReceiverState, EventStoreError> {
        self.insert_receiver(client_id, state).await
    }

    async fn add_acks(&self, client_id: &str, acks: &[FeedKey]) -> Result<(), EventStoreError> {
        self.add_receiver_acks(client_id, acks).await
    }

    async fn advance(&self, client_id: &str, to: &FeedKey, forget: &[FeedKey]) -> Result<(), EventStoreError> {
        self.advance_receiver(client_id, to, forget).await
    }
}

/// Receiver state key (for tools and tests).
pub fn receiver_key(client_id: &str) -> Item {
    key(receiver_pk(client_id), STATE_SK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_sets_the_expiry() {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .build();
        let mut repo = EventRepository::new(Client::from_conf(config), "t", Duration::from_secs(7 * 86_400));
        repo.now = || 1_000;
        assert_eq!(repo.expires_at(), 1_000 + 604_800);
    }
}
