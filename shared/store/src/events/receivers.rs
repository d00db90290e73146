//! Receiver state: one item per receiving registration, updated atomically (string-set ADD / DELETE, conditional
//! watermark), so concurrent polls of one receiver never lose an acknowledgement or move the watermark back.

use aws_sdk_dynamodb::types::AttributeValue;
use wif_events::ports::{FeedKey, ReceiverState, StoreError as EventStoreError};

use super::EventRepository;
use super::items::{STATE_SK, decode_state, key, receiver_pk, state_item};
use crate::dynamo::backend;

fn string_set(keys: &[FeedKey]) -> AttributeValue {
    AttributeValue::Ss(keys.iter().map(|k| k.0.clone()).collect())
}

impl EventRepository {
    pub(super) async fn load_receiver(&self, client_id: &str) -> Result<Option<ReceiverState>, EventStoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(receiver_pk(client_id), STATE_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        Ok(output.item.as_ref().map(decode_state).transpose()?)
    }

    pub(super) async fn insert_receiver(
        &self,
        client_id: &str,
        state: &ReceiverState,
    ) -> Result<ReceiverState, EventStoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(state_item(client_id, state)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(state.clone()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                self.load_receiver(client_id)
                    .await?
                    .ok_or_else(|| EventStoreError("receiver state vanished while it was created".into()))
            }
            Err(err) => Err(backend(err).into()),
        }
    }

    pub(super) async fn add_receiver_acks(&self, client_id: &str, acks: &[FeedKey]) -> Result<(), EventStoreError> {
        if acks.is_empty() {
            return Ok(());
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(receiver_pk(client_id), STATE_SK)))
            .update_expression("ADD acked :a")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":a", string_set(acks))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn advance_receiver(
        &self,
        client_id: &str,
        to: &FeedKey,
        forget: &[FeedKey],
    ) -> Result<(), EventStoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(receiver_pk(client_id), STATE_SK)))
            .condition_expression("watermark < :to")
            .expression_attribute_values(":to", AttributeValue::S(to.0.clone()));
        update = if forget.is_empty() {
            update.update_expression("SET watermark = :to")
        } else {
            update
                .update_expression("SET watermark = :to DELETE acked :f")
                .expression_attribute_values(":f", string_set(forget))
        };
        match update.send().await {
            Ok(_) => Ok(()),
            // Another poll of this receiver moved it at least as far (and forgot at least as much).
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
