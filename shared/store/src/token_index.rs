//! Each client's token index: one item in the Tokens table, keyed `token_hash = "client#<client_id>"` (a key no
//! SHA-256 hex string can take), with one attribute `t_<token hash>` = expiry per token issued. It is written in the
//! same transaction as the token and a condition check on the client's registration (`version`, `enabled`), and
//! the revocation sweep reads it with a strongly consistent read of the base table. So the sweep sees every token
//! committed before the registration changed, without depending on when the ClientIndex GSI catches up, and no
//! token can be committed after the change (see `wif_auth::revocation`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
use wif_auth::ports::{StoreUnavailable, TokenRecord};
use wif_auth::revocation::{IssueError, MAX_LIVE_TOKENS_PER_CLIENT};

use crate::dynamo::{StoreError, backend, malformed};
use crate::tokens::TokenRepository;

const TOKEN_ATTRIBUTE_PREFIX: &str = "t_";

/// The key of `client_id`'s index item.
pub fn index_key(client_id: &str) -> String {
    format!("client#{client_id}")
}

/// (token hash, expiry) of every token in an index item.
fn entries(item: &HashMap<String, AttributeValue>) -> Vec<(String, i64)> {
    item.iter()
        .filter_map(|(name, value)| {
            let hash = name.strip_prefix(TOKEN_ATTRIBUTE_PREFIX)?;
            let expires = value.as_n().ok()?.parse().ok()?;
            Some((hash.to_owned(), expires))
        })
        .collect()
}

impl TokenRepository {
    /// The client's index item (`consistent` for the revocation sweep).
    async fn index_entries(&self, client_id: &str, consistent: bool) -> Result<Vec<(String, i64)>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("token_hash", AttributeValue::S(index_key(client_id)))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(backend)?;
        Ok(output.item.as_ref().map(entries).unwrap_or_default())
    }

    /// The unexpired tokens of the client's index, read strongly consistently.
    pub async fn indexed_live_tokens(&self, client_id: &str) -> Result<Vec<String>, StoreError> {
        let now = self.clock.now_unix();
        let entries = self.index_entries(client_id, true).await?;
        Ok(entries
            .into_iter()
            .filter(|(_, expires)| *expires > now)
            .map(|(hash, _)| hash)
            .collect())
    }

    /// Writes the token, its index entry and a check that the registration is still enabled at
    /// `registration_version`, in one transaction. Expired index entries are dropped in the same write.
    pub async fn issue(&self, record: &TokenRecord, registration_version: u64) -> Result<(), IssueError> {
        let clients_table = self
            .clients_table
            .as_deref()
            .ok_or_else(|| StoreUnavailable("the token store was built without the Clients table".into()))?;
        let now = self.clock.now_unix();
        let existing = self
            .index_entries(&record.client_id, false)
            .await
            .map_err(StoreUnavailable::from)?;
        let (live, expired): (Vec<_>, Vec<_>) = existing.into_iter().partition(|(_, expires)| *expires > now);
        if live.len() >= MAX_LIVE_TOKENS_PER_CLIENT {
            return Err(IssueError::TooManyLiveTokens);
        }
        let items = vec![
            registration_check(clients_table, &record.client_id, registration_version)?,
            self.token_put(record)?,
            self.index_update(record, &expired)?,
        ];
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if lost_to_a_change(&err) => Err(IssueError::RegistrationChanged),
            Err(err) => Err(StoreUnavailable::from(backend(err)).into()),
        }
    }

    fn token_put(&self, record: &TokenRecord) -> Result<TransactWriteItem, StoreUnavailable> {
        let item = serde_dynamo::to_item(record).map_err(malformed)?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(token_hash)")
            .build()
            .map_err(|err| StoreUnavailable(err.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn index_update(
        &self,
        record: &TokenRecord,
        expired: &[(String, i64)],
    ) -> Result<TransactWriteItem, StoreUnavailable> {
        let mut expression = "SET #new = :expires".to_owned();
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("token_hash", AttributeValue::S(index_key(&record.client_id)))
            .expression_attribute_names("#new", format!("{TOKEN_ATTRIBUTE_PREFIX}{}", record.token_hash))
            .expression_attribute_values(":expires", AttributeValue::N(record.expires_at.to_string()));
        for (n, (hash, _)) in expired.iter().enumerate() {
            expression.push_str(if n == 0 { " REMOVE " } else { ", " });
            expression.push_str(&format!("#old{n}"));
            update = update.expression_attribute_names(format!("#old{n}"), format!("{TOKEN_ATTRIBUTE_PREFIX}{hash}"));
        }
        let update = update
            .update_expression(expression)
            .build()
            .map_err(|err| StoreUnavailable(err.to_string()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

/// The condition that the registration still exists, is enabled, and is at the version that was authenticated.
fn registration_check(table: &str, client_id: &str, version: u64) -> Result<TransactWriteItem, StoreUnavailable> {
    let check = ConditionCheck::builder()
        .table_name(table)
        .key("client_id", AttributeValue::S(client_id.to_owned()))
        .condition_expression("version = :version AND enabled = :enabled")
        .expression_attribute_values(":version", AttributeValue::N(version.to_string()))
        .expression_attribute_values(":enabled", AttributeValue::Bool(true))
        .build()
        .map_err(|err| StoreUnavailable(err.to_string()))?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

/// Whether a cancelled transaction lost to a change of the registration: its condition failed, or a concurrent
/// write of the same item won (`TransactionConflict`).
fn lost_to_a_change<R>(
    err: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
) -> bool {
    let Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(
        cancelled,
    )) = err.as_service_error()
    else {
        return false;
    };
    cancelled
        .cancellation_reasons()
        .iter()
        .any(|reason| matches!(reason.code(), Some("ConditionalCheckFailed" | "TransactionConflict")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_entries_are_the_token_attributes() {
        let item = HashMap::from([
            ("token_hash".to_owned(), AttributeValue::S(index_key("c1"))),
            ("t_abc".to_owned(), AttributeValue::N("1800000000".into())),
            ("t_def".to_owned(), AttributeValue::N("17".into())),
            ("other".to_owned(), AttributeValue::N("5".into())),
        ]);
        let mut found = entries(&item);
        found.sort();
        assert_eq!(found, vec![("abc".to_owned(), 1_800_000_000), ("def".to_owned(), 17)]);
        assert_eq!(index_key("c1"), "client#c1");
    }
}
