//! Push delivery state: one item per registration with a push endpoint (`R#<client id>` / `PUSH`), next to its
//! receiver state. Written by the events-push function after each round that changes it, and by the admin API when
//! an operator asks for redelivery from the dead letter.

use wif_events::delivery::{PushState, PushStateStore};
use wif_events::ports::StoreError as EventStoreError;

use super::EventRepository;
use super::items::{Item, get_s, key, receiver_pk, s};
use crate::dynamo::{backend, malformed};

pub const PUSH_SK: &str = "PUSH";

fn push_item(client_id: &str, tenant: &str, state: &PushState) -> Result<Item, EventStoreError> {
    let mut item = key(receiver_pk(client_id), PUSH_SK);
    item.insert("tenant".into(), s(tenant));
    let json = serde_json::to_string(state).map_err(|err| EventStoreError::from(malformed(err)))?;
    item.insert("push".into(), s(json));
    Ok(item)
}

fn decode_push(item: &Item) -> Result<PushState, EventStoreError> {
    let text = get_s(item, "push").ok_or_else(|| malformed("push"))?;
    serde_json::from_str(text).map_err(|_| malformed("push").into())
}

impl EventRepository {
    /// A registration's push state (strongly consistent); `None` before its first round.
    pub async fn load_push_state(&self, client_id: &str) -> Result<Option<PushState>, EventStoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(receiver_pk(client_id), PUSH_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        output.item.as_ref().map(decode_push).transpose()
    }

    pub async fn store_push_state(
        &self,
        client_id: &str,
        tenant: &str,
        state: &PushState,
    ) -> Result<(), EventStoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(push_item(client_id, tenant, state)?))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl PushStateStore for EventRepository {
    async fn push_state(&self, client_id: &str) -> Result<Option<PushState>, EventStoreError> {
        self.load_push_state(client_id).await
    }

    async fn save_push_state(&self, client_id: &str, tenant: &str, state: &PushState) -> Result<(), EventStoreError> {
        self.store_push_state(client_id, tenant, state).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_items_round_trip() {
        let state = PushState {
            failures: 2,
            next_attempt_ms: 5,
            last_error: Some("status 503".into()),
            ..Default::default()
        };
        let item = push_item("c", "t", &state).unwrap();
        assert_eq!(decode_push(&item).unwrap(), state);
        assert_eq!(get_s(&item, "tenant"), Some("t"));
        assert_eq!(get_s(&item, "pk"), Some("R#c"));
    }
}
