//! Events table items. Keys (the tenant escaped like the Directory's, so no tenant can forge another's prefix):
//!
//! | item           | pk                          | sk          | attributes                                          |
//! |----------------|-----------------------------|-------------|-----------------------------------------------------|
//! | event          | `T#<tenant>#J#<change id>`  | `E`         | `event` (JSON), `feed_key`, `set_<level>` (signed)  |
//! | feed entry     | `T#<tenant>#F`              | feed key    | `change_id`                                         |
//! | receiver state | `R#<client id>`             | `STATE`     | `tenant`, `watermark`, `acked` (string set)         |
//!
//! Every event and feed entry expires (`expires_at`, TTL) after the retention period.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use wif_events::EventDataLevel;
use wif_events::change::ChangeEvent;
use wif_events::ports::{FeedKey, ReceiverState, StoredEvent};

use crate::dynamo::{StoreError, malformed};

pub type Item = HashMap<String, AttributeValue>;

pub const EVENT_SK: &str = "E";
pub const STATE_SK: &str = "STATE";

fn tenant_part(tenant: &str) -> String {
    tenant.replace('%', "%25").replace('#', "%23")
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.as_str()),
        _ => None,
    }
}

pub fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

pub fn event_pk(tenant: &str, change_id: &str) -> String {
    format!("T#{}#J#{change_id}", tenant_part(tenant))
}

pub fn feed_pk(tenant: &str) -> String {
    format!("T#{}#F", tenant_part(tenant))
}

pub fn receiver_pk(client_id: &str) -> String {
    format!("R#{client_id}")
}

pub fn set_attribute(level: EventDataLevel) -> String {
    format!("set_{}", level.as_str())
}

pub fn event_item(event: &ChangeEvent, feed_key: &FeedKey, expires_at: i64) -> Result<Item, StoreError> {
    let mut item = key(event_pk(&event.tenant, &event.change_id), EVENT_SK);
    item.insert("tenant".into(), s(&event.tenant));
    item.insert("feed_key".into(), s(&feed_key.0));
    item.insert("event".into(), s(serde_json::to_string(event).map_err(malformed)?));
    item.insert("expires_at".into(), AttributeValue::N(expires_at.to_string()));
    Ok(item)
}

pub fn feed_item(tenant: &str, feed_key: &FeedKey, change_id: &str, expires_at: i64) -> Item {
    let mut item = key(feed_pk(tenant), &feed_key.0);
    item.insert("change_id".into(), s(change_id));
    item.insert("expires_at".into(), AttributeValue::N(expires_at.to_string()));
    item
}

pub fn decode_event(item: &Item) -> Result<StoredEvent, StoreError> {
    let event: ChangeEvent = serde_json::from_str(get_s(item, "event").ok_or_else(|| malformed("event"))?)
        .map_err(|_| malformed("event"))?;
    let feed_key = FeedKey(get_s(item, "feed_key").ok_or_else(|| malformed("feed_key"))?.to_owned());
    let sets: BTreeMap<EventDataLevel, String> = EventDataLevel::ALL
        .into_iter()
        .filter_map(|level| get_s(item, &set_attribute(level)).map(|set| (level, set.to_owned())))
        .collect();
    Ok(StoredEvent { event, feed_key, sets })
}

pub fn state_item(client_id: &str, state: &ReceiverState) -> Item {
    let mut item = key(receiver_pk(client_id), STATE_SK);
    item.insert("tenant".into(), s(&state.tenant));
    item.insert("watermark".into(), s(&state.watermark.0));
    if !state.acked.is_empty() {
        item.insert(
            "acked".into(),
            AttributeValue::Ss(state.acked.iter().map(|k| k.0.clone()).collect()),
        );
    }
    item
}

pub fn decode_state(item: &Item) -> Result<ReceiverState, StoreError> {
    let acked: BTreeSet<FeedKey> = match item.get("acked") {
        Some(AttributeValue::Ss(keys)) => keys.iter().cloned().map(FeedKey).collect(),
        _ => BTreeSet::new(),
    };
    Ok(ReceiverState {
        tenant: get_s(item, "tenant").ok_or_else(|| malformed("tenant"))?.to_owned(),
        watermark: FeedKey(
            get_s(item, "watermark")
                .ok_or_else(|| malformed("watermark"))?
                .to_owned(),
        ),
        acked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_cannot_reach_each_others_partitions() {
        assert_ne!(feed_pk("a#J#x"), event_pk("a", "x"));
        assert_eq!(feed_pk("100%"), "T#100%25#F");
        let state = ReceiverState {
            tenant: "t".into(),
            watermark: FeedKey::floor(5),
            acked: [FeedKey("k1".into())].into_iter().collect(),
        };
        assert_eq!(decode_state(&state_item("c", &state)).unwrap(), state);
        let empty = ReceiverState {
            acked: BTreeSet::new(),
            ..state
        };
        assert_eq!(decode_state(&state_item("c", &empty)).unwrap(), empty);
    }
}
