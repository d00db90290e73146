//! The conditional writes and the transaction runner of the Directory table (conflicts retried, failed
//! conditions mapped to the index of their item).

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem};
use wif_scim::store::{DirectoryError, StoreResult};

use super::codec::{Item, n};
use super::keys::DELETING;
use super::*;

impl DynamoDirectory {
    pub(super) fn put(
        &self,
        item: Item,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> StoreResult<TransactWriteItem> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if condition.contains("#v") {
            put = put.expression_attribute_names("#v", "version");
        }
        for (name, value) in values {
            put = put.expression_attribute_values(*name, value.clone());
        }
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(build_error)?)
            .build())
    }

    pub(super) fn delete(
        &self,
        key: Item,
        condition: Option<&str>,
        values: &[(&str, AttributeValue)],
    ) -> StoreResult<TransactWriteItem> {
        let mut delete = Delete::builder().table_name(&self.table).set_key(Some(key));
        if let Some(condition) = condition {
            delete = delete.condition_expression(condition);
            if condition.contains("#v") {
                delete = delete.expression_attribute_names("#v", "version");
            }
            if condition.contains("#d") {
                delete = delete.expression_attribute_names("#d", DELETING);
            }
        }
        for (name, value) in values {
            delete = delete.expression_attribute_values(*name, value.clone());
        }
        Ok(TransactWriteItem::builder()
            .delete(delete.build().map_err(build_error)?)
            .build())
    }

    /// The item exists (at `expected_version`) and is not being deleted: what every membership write checks of
    /// its group and its user, so no membership appears once a delete has begun.
    pub(super) fn check(&self, key: Item, expected_version: Option<u64>) -> StoreResult<TransactWriteItem> {
        let mut check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .expression_attribute_names("#d", DELETING);
        check = match expected_version {
            Some(version) => check
                .condition_expression("attribute_exists(pk) AND attribute_not_exists(#d) AND #v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", n(version)),
            None => check.condition_expression("attribute_exists(pk) AND attribute_not_exists(#d)"),
        };
        Ok(TransactWriteItem::builder()
            .condition_check(check.build().map_err(build_error)?)
            .build())
    }

    /// Runs a transaction, retrying transaction conflicts; maps a failed condition to the index of its item.
    pub(super) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TxFailure> {
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            let mut conflict = false;
            if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error() {
                let reasons = cancelled.cancellation_reasons();
                if let Some(index) = reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed")) {
                    return Err(TxFailure::Condition(index));
                }
                conflict = reasons.iter().any(|r| r.code() == Some("TransactionConflict"));
            }
            if !conflict {
                return Err(TxFailure::Failed(unavailable(err)));
            }
            if attempt >= CONFLICT_RETRIES {
                return Err(TxFailure::Failed(DirectoryError::VersionConflict));
            }
            backoff(attempt).await;
            attempt += 1;
        }
    }
}
