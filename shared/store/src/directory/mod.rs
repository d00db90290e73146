//! The Directory table behind [`wif_scim::store::DirectoryStore`]. Key layout in [`keys`].
//!
//! Costs (DynamoDB requests) per operation, independent of tenant and group size:
//! - create user: 1 TransactWriteItems (user + userName marker, both `attribute_not_exists`);
//! - replace user: 1 PutItem conditional on the version read (1 TransactWriteItems when the userName changes:
//!   user + old marker delete + new marker put);
//! - get user: 1 GetItem; userName lookup: 2 strongly consistent GetItems (marker, user);
//!   externalId / work e-mail / displayName lookups: 1 GSI Query;
//! - add or remove one member: 1 TransactWriteItems (group ConditionCheck, user ConditionCheck, membership Put);
//! - membership check: 1 BatchGetItem; group with its first members: 1 Query of the group's item collection;
//! - scans: 1 Query per page of at most `limit` items.
//!
//! Deleting a user deletes its memberships (found through gsi1) and deleting a group its member items, in
//! BatchWriteItem chunks of 25 after the conditional delete of the resource itself: once the resource is gone, no
//! new membership of it can be written (every membership write ConditionChecks both ends).
//!
//! Transaction cancellations are mapped per item to typed errors: the marker's condition → `UserNameTaken`, a
//! member's ConditionCheck → `MissingMember(id)`, the resource's version condition → `VersionConflict` or
//! `NotFound` (told apart by one extra read on that failure path only). `TransactionConflict` (another
//! transaction on the same item at the same moment) is retried with jittered backoff.

pub mod codec;
pub mod keys;
pub mod stream;

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, DeleteRequest, KeysAndAttributes, Put, TransactWriteItem, WriteRequest,
};

use wif_scim::store::{DirectoryError, DirectoryStore, GroupRecord, Page, StoreResult, UserRecord};

use crate::dynamo::backend;
use crate::paging::{encode_cursor, try_decode_cursor};
use codec::{
    Item, decode_group, decode_member, decode_user, get_s, group_item, key, key_of, marker_item, membership_item, n, s,
    user_item,
};
use keys::{GROUP_SK, GSI1, GSI2, GSI3, MARKER_SK, MEMBER_SK_PREFIX, TenantKeys, USER_SK};

/// TransactWriteItems takes at most 100 items; a member add costs two (ConditionCheck + Put) plus the group check.
const MEMBERS_PER_ADD_TRANSACTION: usize = 49;
const MEMBERS_PER_REMOVE_TRANSACTION: usize = 99;
const BATCH_WRITE_MAX: usize = 25;
const BATCH_GET_MAX: usize = 100;
const CONFLICT_RETRIES: u32 = 6;

fn unavailable<E, R>(err: aws_sdk_dynamodb::error::SdkError<E, R>) -> DirectoryError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    DirectoryError::Unavailable(backend(err).to_string())
}

fn build_error(err: aws_sdk_dynamodb::error::BuildError) -> DirectoryError {
    DirectoryError::Unavailable(format!("request build: {err}"))
}

/// Why a transaction did not commit.
#[derive(Debug)]
enum TxFailure {
    /// The condition of the item at this index failed.
    Condition(usize),
    Failed(DirectoryError),
}

/// Jittered exponential backoff: 10, 20, 40 … ms plus up to 15 ms noise, so racing writers spread out.
async fn backoff(attempt: u32) {
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 16);
    tokio::time::sleep(Duration::from_millis((10u64 << attempt.min(6)) + jitter)).await;
}

/// The DynamoDB directory store.
#[derive(Debug, Clone)]
pub struct DynamoDirectory {
    client: Client,
    table: String,
}

impl DynamoDirectory {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn put(&self, item: Item, condition: &str, values: &[(&str, AttributeValue)]) -> StoreResult<TransactWriteItem> {
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

    fn delete(
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
        }
        for (name, value) in values {
            delete = delete.expression_attribute_values(*name, value.clone());
        }
        Ok(TransactWriteItem::builder()
            .delete(delete.build().map_err(build_error)?)
            .build())
    }

    fn check(&self, key: Item, expected_version: Option<u64>) -> StoreResult<TransactWriteItem> {
        let mut check = ConditionCheck::builder().table_name(&self.table).set_key(Some(key));
        check = match expected_version {
            Some(version) => check
                .condition_expression("attribute_exists(pk) AND #v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", n(version)),
            None => check.condition_expression("attribute_exists(pk)"),
        };
        Ok(TransactWriteItem::builder()
            .condition_check(check.build().map_err(build_error)?)
            .build())
    }

    /// Runs a transaction, retrying transaction conflicts; maps a failed condition to the index of its item.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TxFailure> {
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

    async fn get_item(&self, key: Item) -> StoreResult<Option<Item>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item)
    }

    async fn load_user(&self, keys: &TenantKeys, id: &str) -> StoreResult<Option<UserRecord>> {
        self.get_item(key(keys.user_pk(id), USER_SK))
            .await?
            .map(|item| decode_user(&item))
            .transpose()
    }

    async fn load_group(&self, keys: &TenantKeys, id: &str) -> StoreResult<Option<GroupRecord>> {
        self.get_item(key(keys.group_pk(id), GROUP_SK))
            .await?
            .map(|item| decode_group(&item))
            .transpose()
    }

    /// After a failed version condition: was the resource gone, or changed?
    async fn group_conflict(&self, keys: &TenantKeys, id: &str) -> DirectoryError {
        match self.load_group(keys, id).await {
            Ok(Some(_)) => DirectoryError::VersionConflict,
            Ok(None) => DirectoryError::NotFound,
            Err(err) => err,
        }
    }

    async fn user_conflict(&self, keys: &TenantKeys, id: &str) -> DirectoryError {
        match self.load_user(keys, id).await {
            Ok(Some(_)) => DirectoryError::VersionConflict,
            Ok(None) => DirectoryError::NotFound,
            Err(err) => err,
        }
    }

    /// One page of a query: up to `limit` items (one DynamoDB page without a limit) and the key to continue from.
    /// DynamoDB ends a page at 1 MB whatever the Limit, so a short page that has a LastEvaluatedKey is followed
    /// until `limit` items are read: callers take "fewer than asked" to mean "no more items". `start` must already
    /// be validated against the query's key condition.
    #[allow(clippy::too_many_arguments)]
    async fn query_page(
        &self,
        index: Option<&str>,
        condition: &str,
        values: &[(&str, AttributeValue)],
        start: Option<Item>,
        limit: Option<usize>,
        consistent: bool,
    ) -> StoreResult<(Vec<Item>, Option<Item>)> {
        let mut items = Vec::new();
        let mut start = start;
        loop {
            let remaining = limit.map(|l| l - items.len());
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression(condition)
                .set_exclusive_start_key(start)
                .set_limit(remaining.map(|l| i32::try_from(l).unwrap_or(i32::MAX)));
            if consistent {
                query = query.consistent_read(true);
            }
            for (name, value) in values {
                query = query.expression_attribute_values(*name, value.clone());
            }
            let output = query.send().await.map_err(unavailable)?;
            let next = output.last_evaluated_key.filter(|k| !k.is_empty());
            items.extend(output.items.unwrap_or_default());
            match (next, limit) {
                (Some(next), Some(limit)) if items.len() < limit => start = Some(next),
                (next, _) => return Ok((items, next)),
            }
        }
    }

    /// Every item of a query, all pages.
    async fn query_all(
        &self,
        index: Option<&str>,
        condition: &str,
        values: &[(&str, AttributeValue)],
        consistent: bool,
    ) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let (page, next) = self
                .query_page(index, condition, values, start, None, consistent)
                .await?;
            items.extend(page);
            match next {
                Some(next) => start = Some(next),
                None => return Ok(items),
            }
        }
    }

    async fn gsi_equals(&self, index: &str, partition: String) -> StoreResult<Vec<Item>> {
        let attribute = format!("{index}pk");
        self.query_all(
            Some(index),
            &format!("{attribute} = :p"),
            &[(":p", s(partition))],
            false,
        )
        .await
    }

    /// [`Self::gsi_equals`], each item decoded.
    async fn gsi_decoded<T>(
        &self,
        index: &str,
        partition: String,
        decode: fn(&Item) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        self.gsi_equals(index, partition).await?.iter().map(decode).collect()
    }

    /// [`Self::gsi1_page`], each item decoded.
    async fn gsi1_page_decoded<T>(
        &self,
        partition: String,
        cursor: Option<&str>,
        limit: usize,
        decode: fn(&Item) -> StoreResult<T>,
    ) -> StoreResult<Page<T>> {
        let page = self.gsi1_page(partition, cursor, limit).await?;
        Ok(Page {
            items: page.items.iter().map(decode).collect::<StoreResult<_>>()?,
            next_cursor: page.next_cursor,
        })
    }

    /// A page of one gsi1 partition in sort-key order, `limit` items, with a cursor naming the last returned item
    /// (read one extra item so that a complete scan ends without a trailing empty page).
    async fn gsi1_page(&self, partition: String, cursor: Option<&str>, limit: usize) -> StoreResult<Page<Item>> {
        let limit = limit.max(1);
        let start = match cursor {
            None => None,
            Some(cursor) => {
                Some(self.validated_cursor(cursor, &["pk", "sk", "gsi1pk", "gsi1sk"], "gsi1pk", &partition)?)
            }
        };
        let (mut items, _) = self
            .query_page(
                Some(GSI1),
                "gsi1pk = :p",
                &[(":p", s(partition))],
                start,
                Some(limit + 1),
                false,
            )
            .await?;
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            let last = items.last().map(|item| key_of(item, &["pk", "sk", "gsi1pk", "gsi1sk"]));
            last.map(|k| encode_cursor(&k))
                .transpose()
                .map_err(|e| DirectoryError::Unavailable(e.to_string()))?
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Decodes a cursor and checks it names a position inside the partition being read: a tampered cursor is an
    /// error, never a window into another partition.
    fn validated_cursor(
        &self,
        cursor: &str,
        attributes: &[&str],
        partition_attribute: &str,
        partition: &str,
    ) -> StoreResult<Item> {
        let decoded = try_decode_cursor(cursor).map_err(|_| DirectoryError::InvalidCursor)?;
        let shape_ok = decoded.len() == attributes.len()
            && attributes
                .iter()
                .all(|a| matches!(decoded.get(*a), Some(AttributeValue::S(_))));
        if !shape_ok || get_s(&decoded, partition_attribute) != Some(partition) {
            return Err(DirectoryError::InvalidCursor);
        }
        Ok(decoded)
    }

    async fn batch_get(&self, keys: Vec<Item>) -> StoreResult<Vec<Item>> {
        let mut found = Vec::new();
        for chunk in keys.chunks(BATCH_GET_MAX) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .build()
                    .map_err(build_error)?,
            );
            let mut attempt = 0;
            while let Some(request) = pending.take() {
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(unavailable)?;
                if let Some(mut responses) = output.responses {
                    found.extend(responses.remove(&self.table).unwrap_or_default());
                }
                pending = output
                    .unprocessed_keys
                    .and_then(|mut unprocessed| unprocessed.remove(&self.table))
                    .filter(|k| !k.keys().is_empty());
                if pending.is_some() {
                    attempt += 1;
                    if attempt > CONFLICT_RETRIES {
                        return Err(DirectoryError::Unavailable("BatchGetItem kept throttling".into()));
                    }
                    backoff(attempt).await;
                }
            }
        }
        Ok(found)
    }

    /// Deletes items by key, 25 per BatchWriteItem, retrying unprocessed items.
    async fn batch_delete(&self, keys: Vec<Item>) -> StoreResult<()> {
        for chunk in keys.chunks(BATCH_WRITE_MAX) {
            let mut requests = chunk
                .iter()
                .map(|key| {
                    DeleteRequest::builder()
                        .set_key(Some(key.clone()))
                        .build()
                        .map(|delete| WriteRequest::builder().delete_request(delete).build())
                        .map_err(build_error)
                })
                .collect::<StoreResult<Vec<_>>>()?;
            let mut attempt = 0;
            while !requests.is_empty() {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(unavailable)?;
                requests = output
                    .unprocessed_items
                    .and_then(|mut unprocessed| unprocessed.remove(&self.table))
                    .unwrap_or_default();
                if !requests.is_empty() {
                    attempt += 1;
                    if attempt > CONFLICT_RETRIES {
                        return Err(DirectoryError::Unavailable("BatchWriteItem kept throttling".into()));
                    }
                    backoff(attempt).await;
                }
            }
        }
        Ok(())
    }

    /// Keys of every member item of a group.
    async fn member_keys(&self, keys: &TenantKeys, group_id: &str) -> StoreResult<Vec<Item>> {
        let items = self
            .query_all(
                None,
                "pk = :p AND begins_with(sk, :m)",
                &[(":p", s(keys.group_pk(group_id))), (":m", s(MEMBER_SK_PREFIX))],
                true,
            )
            .await?;
        Ok(items.iter().map(|item| key_of(item, &["pk", "sk"])).collect())
    }

    /// Member ids from a Query of the group's collection, cut at `limit` with a cursor on the last one kept.
    fn member_page(&self, mut members: Vec<Item>, limit: usize) -> StoreResult<Page<String>> {
        let next_cursor = if members.len() > limit {
            members.truncate(limit);
            members
                .last()
                .map(|item| encode_cursor(&key_of(item, &["pk", "sk"])))
                .transpose()
                .map_err(|e| DirectoryError::Unavailable(e.to_string()))?
        } else {
            None
        };
        let items = members.iter().map(decode_member).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page { items, next_cursor })
    }
}

fn dedup(ids: &[String]) -> Vec<String> {
    ids.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect()
}

#[async_trait::async_trait]
impl DirectoryStore for DynamoDirectory {
    async fn create_user(&self, tenant: &str, user: &UserRecord) -> StoreResult<()> {
        let keys = TenantKeys::new(tenant);
        let items = vec![
            self.put(user_item(&keys, user)?, "attribute_not_exists(pk)", &[])?,
            self.put(marker_item(&keys, user), "attribute_not_exists(pk)", &[])?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(TxFailure::Condition(1)) => Err(DirectoryError::UserNameTaken),
            // Only a (practically impossible) id collision fails the user's own condition.
            Err(TxFailure::Condition(_)) => Err(DirectoryError::VersionConflict),
            Err(TxFailure::Failed(err)) => Err(err),
        }
    }

    async fn get_user(&self, tenant: &str, id: &str) -> StoreResult<Option<UserRecord>> {
        self.load_user(&TenantKeys::new(tenant), id).await
    }

    async fn replace_user(&self, tenant: &str, previous: &UserRecord, next: &UserRecord) -> StoreResult<()> {
        let keys = TenantKeys::new(tenant);
        let version = [(":v", n(previous.version))];
        let put = self.put(user_item(&keys, next)?, "#v = :v", &version)?;
        let old_marker = keys.marker_pk(&previous.user_name);
        if old_marker == keys.marker_pk(&next.user_name) {
            // The common case (no rename) is a single conditional PutItem.
            let Some(put) = put.put else {
                return Err(DirectoryError::Unavailable("put request missing".into()));
            };
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(put.item))
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", n(previous.version))
                .send()
                .await;
            return match result {
                Ok(_) => Ok(()),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    Err(self.user_conflict(&keys, &previous.id).await)
                }
                Err(err) => Err(unavailable(err)),
            };
        }
        let items = vec![
            put,
            self.delete(
                key(old_marker, MARKER_SK),
                Some("attribute_not_exists(pk) OR user_id = :id"),
                &[(":id", s(&previous.id))],
            )?,
            self.put(marker_item(&keys, next), "attribute_not_exists(pk)", &[])?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(TxFailure::Condition(0)) => Err(self.user_conflict(&keys, &previous.id).await),
            Err(TxFailure::Condition(2)) => Err(DirectoryError::UserNameTaken),
            Err(TxFailure::Condition(_)) => Err(DirectoryError::VersionConflict),
            Err(TxFailure::Failed(err)) => Err(err),
        }
    }

    async fn delete_user(&self, tenant: &str, id: &str, expected_version: Option<u64>) -> StoreResult<()> {
        let keys = TenantKeys::new(tenant);
        let mut attempt = 0;
        loop {
            let current = self.load_user(&keys, id).await?.ok_or(DirectoryError::NotFound)?;
            if expected_version.is_some_and(|expected| expected != current.version) {
                return Err(DirectoryError::VersionConflict);
            }
            let items = vec![
                self.delete(
                    key(keys.user_pk(id), USER_SK),
                    Some("#v = :v"),
                    &[(":v", n(current.version))],
                )?,
                self.delete(
                    key(keys.marker_pk(&current.user_name), MARKER_SK),
                    Some("attribute_not_exists(pk) OR user_id = :id"),
                    &[(":id", s(id))],
                )?,
            ];
            match self.transact(items).await {
                Ok(()) => break,
                // Changed between our read and the delete: without If-Match the delete still wins, re-read.
                Err(TxFailure::Condition(_)) if expected_version.is_none() && attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                }
                Err(TxFailure::Condition(_)) => return Err(self.user_conflict(&keys, id).await),
                Err(TxFailure::Failed(err)) => return Err(err),
            }
        }
        // The user is gone, so no new membership of it can be written (adds ConditionCheck the user).
        let memberships = self.gsi_equals(GSI1, keys.groups_of_user(id)).await?;
        let member_keys = memberships.iter().map(|item| key_of(item, &["pk", "sk"])).collect();
        self.batch_delete(member_keys).await
    }

    async fn user_by_user_name(&self, tenant: &str, user_name: &str) -> StoreResult<Option<UserRecord>> {
        let keys = TenantKeys::new(tenant);
        let Some(marker) = self.get_item(key(keys.marker_pk(user_name), MARKER_SK)).await? else {
            return Ok(None);
        };
        let Some(user_id) = get_s(&marker, "user_id") else {
            return Ok(None);
        };
        let user = self.load_user(&keys, user_id).await?;
        // A rename between the two reads: the marker no longer names this user.
        Ok(user.filter(|u| keys.marker_pk(&u.user_name) == keys.marker_pk(user_name)))
    }

    async fn users_by_external_id(&self, tenant: &str, external_id: &str) -> StoreResult<Vec<UserRecord>> {
        let keys = TenantKeys::new(tenant);
        self.gsi_decoded(GSI2, keys.user_external_id(external_id), decode_user)
            .await
    }

    async fn users_by_work_email(&self, tenant: &str, email: &str) -> StoreResult<Vec<UserRecord>> {
        let keys = TenantKeys::new(tenant);
        self.gsi_decoded(GSI3, keys.user_work_email(email), decode_user).await
    }

    async fn scan_users(&self, tenant: &str, cursor: Option<&str>, limit: usize) -> StoreResult<Page<UserRecord>> {
        let keys = TenantKeys::new(tenant);
        self.gsi1_page_decoded(keys.users_partition(), cursor, limit, decode_user)
            .await
    }

    async fn groups_of_user(&self, tenant: &str, user_id: &str) -> StoreResult<Vec<String>> {
        let keys = TenantKeys::new(tenant);
        let items = self.gsi_equals(GSI1, keys.groups_of_user(user_id)).await?;
        Ok(items
            .iter()
            .filter_map(|item| get_s(item, "group_id").map(str::to_owned))
            .collect())
    }

    async fn create_group(&self, tenant: &str, group: &GroupRecord, members: &[String]) -> StoreResult<()> {
        let keys = TenantKeys::new(tenant);
        let members = dedup(members);
        let (first, rest) = members.split_at(members.len().min(MEMBERS_PER_ADD_TRANSACTION));
        if !rest.is_empty() {
            // Larger initial memberships are written in several transactions; check every member up front so a
            // missing one refuses the whole create rather than leaving half a group.
            let wanted: Vec<Item> = members.iter().map(|id| key(keys.user_pk(id), USER_SK)).collect();
            let found: BTreeSet<String> = self
                .batch_get(wanted)
                .await?
                .iter()
                .filter_map(|item| get_s(item, "id").map(str::to_owned))
                .collect();
            if let Some(missing) = members.iter().find(|id| !found.contains(*id)) {
                return Err(DirectoryError::MissingMember(missing.clone()));
            }
        }
        let mut items = vec![self.put(group_item(&keys, group)?, "attribute_not_exists(pk)", &[])?];
        for member in first {
            items.push(self.check(key(keys.user_pk(member), USER_SK), None)?);
            items.push(self.put(
                membership_item(&keys, &group.id, member),
                "attribute_not_exists(pk)",
                &[],
            )?);
        }
        match self.transact(items).await {
            Ok(()) => {}
            Err(TxFailure::Condition(0)) => return Err(DirectoryError::VersionConflict),
            Err(TxFailure::Condition(index)) => {
                return Err(DirectoryError::MissingMember(first[(index - 1) / 2].clone()));
            }
            Err(TxFailure::Failed(err)) => return Err(err),
        }
        if rest.is_empty() {
            Ok(())
        } else {
            self.add_members(tenant, &group.id, rest, None).await
        }
    }

    async fn get_group(&self, tenant: &str, id: &str) -> StoreResult<Option<GroupRecord>> {
        self.load_group(&TenantKeys::new(tenant), id).await
    }

    async fn get_group_with_members(
        &self,
        tenant: &str,
        id: &str,
        member_limit: usize,
    ) -> StoreResult<Option<(GroupRecord, Page<String>)>> {
        let keys = TenantKeys::new(tenant);
        let limit = member_limit.max(1);
        // The group item sorts first in its collection; one more member than asked tells whether a page follows.
        let (items, _) = self
            .query_page(
                None,
                "pk = :p",
                &[(":p", s(keys.group_pk(id)))],
                None,
                Some(limit + 2),
                true,
            )
            .await?;
        let mut items = items.into_iter();
        let Some(first) = items.next() else {
            return Ok(None);
        };
        if get_s(&first, "sk") != Some(GROUP_SK) {
            return Ok(None);
        }
        let group = decode_group(&first)?;
        let members: Vec<Item> = items.collect();
        Ok(Some((group, self.member_page(members, limit)?)))
    }

    async fn group_with_membership(
        &self,
        tenant: &str,
        group_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<(GroupRecord, bool)>> {
        let keys = TenantKeys::new(tenant);
        let items = self
            .batch_get(vec![
                key(keys.group_pk(group_id), GROUP_SK),
                key(keys.group_pk(group_id), &TenantKeys::member_sk(user_id)),
            ])
            .await?;
        let mut group = None;
        let mut member = false;
        for item in &items {
            match get_s(item, "sk") {
                Some(GROUP_SK) => group = Some(decode_group(item)?),
                Some(_) => member = true,
                None => {}
            }
        }
        Ok(group.map(|g| (g, member)))
    }

    async fn get_groups(&self, tenant: &str, ids: &[String]) -> StoreResult<Vec<GroupRecord>> {
        let keys = TenantKeys::new(tenant);
        let wanted = dedup(ids).iter().map(|id| key(keys.group_pk(id), GROUP_SK)).collect();
        let mut groups = self
            .batch_get(wanted)
            .await?
            .iter()
            .map(decode_group)
            .collect::<StoreResult<Vec<_>>>()?;
        groups.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(groups)
    }

    async fn replace_group(&self, tenant: &str, previous: &GroupRecord, next: &GroupRecord) -> StoreResult<()> {
        let keys = TenantKeys::new(tenant);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(group_item(&keys, next)?))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":v", n(previous.version))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(self.group_conflict(&keys, &previous.id).await)
            }
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn delete_group(&self, tenant: &str, id: &str, expected_version: Option<u64>) -> StoreResult<()> {
        let keys = TenantKeys::new(tenant);
        let mut attempt = 0;
        loop {
            let current = self.load_group(&keys, id).await?.ok_or(DirectoryError::NotFound)?;
            if expected_version.is_some_and(|expected| expected != current.version) {
                return Err(DirectoryError::VersionConflict);
            }
            let result = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key(keys.group_pk(id), GROUP_SK)))
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", n(current.version))
                .send()
                .await;
            match result {
                Ok(_) => break,
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    if expected_version.is_some() || attempt >= CONFLICT_RETRIES {
                        return Err(self.group_conflict(&keys, id).await);
                    }
                    attempt += 1;
                }
                Err(err) => return Err(unavailable(err)),
            }
        }
        let member_keys = self.member_keys(&keys, id).await?;
        self.batch_delete(member_keys).await
    }

    async fn groups_by_display_name(&self, tenant: &str, display_name: &str) -> StoreResult<Vec<GroupRecord>> {
        let keys = TenantKeys::new(tenant);
        self.gsi_decoded(GSI3, keys.group_display_name(display_name), decode_group)
            .await
    }

    async fn groups_by_external_id(&self, tenant: &str, external_id: &str) -> StoreResult<Vec<GroupRecord>> {
        let keys = TenantKeys::new(tenant);
        self.gsi_decoded(GSI2, keys.group_external_id(external_id), decode_group)
            .await
    }

    async fn scan_groups(&self, tenant: &str, cursor: Option<&str>, limit: usize) -> StoreResult<Page<GroupRecord>> {
        let keys = TenantKeys::new(tenant);
        self.gsi1_page_decoded(keys.groups_partition(), cursor, limit, decode_group)
            .await
    }

    async fn list_members(
        &self,
        tenant: &str,
        group_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<String>> {
        let Some(cursor) = cursor else {
            return self
                .get_group_with_members(tenant, group_id, limit)
                .await?
                .map(|(_, page)| page)
                .ok_or(DirectoryError::NotFound);
        };
        let keys = TenantKeys::new(tenant);
        let limit = limit.max(1);
        let partition = keys.group_pk(group_id);
        let start = self.validated_cursor(cursor, &["pk", "sk"], "pk", &partition)?;
        if !get_s(&start, "sk").is_some_and(|sk| sk.starts_with(MEMBER_SK_PREFIX)) {
            return Err(DirectoryError::InvalidCursor);
        }
        let group_key = key(partition.clone(), GROUP_SK);
        let values = [(":p", s(partition.clone())), (":m", s(MEMBER_SK_PREFIX))];
        let (exists, page) = tokio::join!(
            self.get_item(group_key),
            self.query_page(
                None,
                "pk = :p AND begins_with(sk, :m)",
                &values,
                Some(start),
                Some(limit + 1),
                true
            )
        );
        if exists?.is_none() {
            return Err(DirectoryError::NotFound);
        }
        let (members, _) = page?;
        self.member_page(members, limit)
    }

    async fn add_members(
        &self,
        tenant: &str,
        group_id: &str,
        user_ids: &[String],
        expected_version: Option<u64>,
    ) -> StoreResult<()> {
        let keys = TenantKeys::new(tenant);
        let user_ids = dedup(user_ids);
        let chunks: Vec<&[String]> = if user_ids.is_empty() {
            vec![&[]]
        } else {
            user_ids.chunks(MEMBERS_PER_ADD_TRANSACTION).collect()
        };
        for chunk in chunks {
            let mut items = vec![self.check(key(keys.group_pk(group_id), GROUP_SK), expected_version)?];
            for user_id in chunk {
                items.push(self.check(key(keys.user_pk(user_id), USER_SK), None)?);
                // Unconditional: re-adding an existing member rewrites the same item, which is the idempotency
                // Entra relies on.
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(membership_item(&keys, group_id, user_id)))
                    .build()
                    .map_err(build_error)?;
                items.push(TransactWriteItem::builder().put(put).build());
            }
            match self.transact(items).await {
                Ok(()) => {}
                Err(TxFailure::Condition(0)) => return Err(self.group_conflict(&keys, group_id).await),
                Err(TxFailure::Condition(index)) => {
                    return Err(DirectoryError::MissingMember(chunk[(index - 1) / 2].clone()));
                }
                Err(TxFailure::Failed(err)) => return Err(err),
            }
        }
        Ok(())
    }

    async fn remove_members(
        &self,
        tenant: &str,
        group_id: &str,
        user_ids: &[String],
        expected_version: Option<u64>,
    ) -> StoreResult<()> {
        let keys = TenantKeys::new(tenant);
        let user_ids = dedup(user_ids);
        let chunks: Vec<&[String]> = if user_ids.is_empty() {
            vec![&[]]
        } else {
            user_ids.chunks(MEMBERS_PER_REMOVE_TRANSACTION).collect()
        };
        for chunk in chunks {
            let mut items = vec![self.check(key(keys.group_pk(group_id), GROUP_SK), expected_version)?];
            for user_id in chunk {
                items.push(self.delete(key(keys.group_pk(group_id), &TenantKeys::member_sk(user_id)), None, &[])?);
            }
            match self.transact(items).await {
                Ok(()) => {}
                Err(TxFailure::Condition(_)) => return Err(self.group_conflict(&keys, group_id).await),
                Err(TxFailure::Failed(err)) => return Err(err),
            }
        }
        Ok(())
    }

    async fn remove_all_members(&self, tenant: &str, group_id: &str, expected_version: Option<u64>) -> StoreResult<()> {
        let keys = TenantKeys::new(tenant);
        let group = self
            .load_group(&keys, group_id)
            .await?
            .ok_or(DirectoryError::NotFound)?;
        if expected_version.is_some_and(|expected| expected != group.version) {
            return Err(DirectoryError::VersionConflict);
        }
        let member_keys = self.member_keys(&keys, group_id).await?;
        self.batch_delete(member_keys).await
    }
}
