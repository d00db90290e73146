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
mod reads;
pub mod stream;
mod writes;

use std::collections::BTreeSet;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use wif_scim::store::{
    DirectoryError, DirectoryStore, GroupRecord, Page, ResourceId, StoreResult, TenantId, UserRecord,
};

use crate::dynamo::backend;
use crate::paging::{encode_cursor, try_decode_cursor};
use codec::{
    Item, decode_group, decode_user, get_s, group_item, key, key_of, marker_item, membership_item, n, s, user_item,
};
use keys::{GROUP_SK, GSI1, GSI2, GSI3, MARKER_SK, MEMBER_SK_PREFIX, TenantKeys, USER_SK};

/// TransactWriteItems takes at most 100 items; a member add costs two (ConditionCheck + Put) plus the group check.
const MEMBERS_PER_ADD_TRANSACTION: usize = 49;
const MEMBERS_PER_REMOVE_TRANSACTION: usize = 99;
const BATCH_WRITE_MAX: usize = 25;
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
    crate::dynamo::jittered_backoff(10, attempt).await;
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
}

fn dedup(ids: &[ResourceId]) -> Vec<ResourceId> {
    ids.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect()
}

#[async_trait::async_trait]
impl DirectoryStore for DynamoDirectory {
    async fn create_user(&self, tenant: &TenantId, user: &UserRecord) -> StoreResult<()> {
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

    async fn get_user(&self, tenant: &TenantId, id: &ResourceId) -> StoreResult<Option<UserRecord>> {
        self.load_user(&TenantKeys::new(tenant), id).await
    }

    async fn replace_user(&self, tenant: &TenantId, previous: &UserRecord, next: &UserRecord) -> StoreResult<()> {
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

    async fn delete_user(&self, tenant: &TenantId, id: &ResourceId, expected_version: Option<u64>) -> StoreResult<()> {
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

    async fn user_by_user_name(&self, tenant: &TenantId, user_name: &str) -> StoreResult<Option<UserRecord>> {
        let keys = TenantKeys::new(tenant);
        let Some(marker) = self.get_item(key(keys.marker_pk(user_name), MARKER_SK)).await? else {
            return Ok(None);
        };
        let Some(user_id) = get_s(&marker, "user_id") else {
            return Ok(None);
        };
        let user = self.load_user(&keys, &ResourceId::new(user_id)).await?;
        // A rename between the two reads: the marker no longer names this user.
        Ok(user.filter(|u| keys.marker_pk(&u.user_name) == keys.marker_pk(user_name)))
    }

    async fn users_by_external_id(&self, tenant: &TenantId, external_id: &str) -> StoreResult<Vec<UserRecord>> {
        let keys = TenantKeys::new(tenant);
        self.gsi_decoded(GSI2, keys.user_external_id(external_id), decode_user)
            .await
    }

    async fn users_by_work_email(&self, tenant: &TenantId, email: &str) -> StoreResult<Vec<UserRecord>> {
        let keys = TenantKeys::new(tenant);
        self.gsi_decoded(GSI3, keys.user_work_email(email), decode_user).await
    }

    async fn scan_users(&self, tenant: &TenantId, cursor: Option<&str>, limit: usize) -> StoreResult<Page<UserRecord>> {
        let keys = TenantKeys::new(tenant);
        self.gsi1_page_decoded(keys.users_partition(), cursor, limit, decode_user)
            .await
    }

    async fn groups_of_user(&self, tenant: &TenantId, user_id: &ResourceId) -> StoreResult<Vec<ResourceId>> {
        let keys = TenantKeys::new(tenant);
        let items = self.gsi_equals(GSI1, keys.groups_of_user(user_id)).await?;
        Ok(items
            .iter()
            .filter_map(|item| get_s(item, "group_id").map(ResourceId::new))
            .collect())
    }

    async fn create_group(&self, tenant: &TenantId, group: &GroupRecord, members: &[ResourceId]) -> StoreResult<()> {
        let keys = TenantKeys::new(tenant);
        let members = dedup(members);
        let (first, rest) = members.split_at(members.len().min(MEMBERS_PER_ADD_TRANSACTION));
        if !rest.is_empty() {
            // Larger initial memberships are written in several transactions; check every member up front so a
            // missing one refuses the whole create rather than leaving half a group.
            let wanted: Vec<Item> = members.iter().map(|id| key(keys.user_pk(id), USER_SK)).collect();
            let found: BTreeSet<ResourceId> = self
                .batch_get(wanted)
                .await?
                .iter()
                .filter_map(|item| get_s(item, "id").map(ResourceId::new))
                .collect();
            if let Some(missing) = members.iter().find(|id| !found.contains(*id)) {
                return Err(DirectoryError::MissingMember(missing.to_string()));
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
                return Err(DirectoryError::MissingMember(first[(index - 1) / 2].to_string()));
            }
            Err(TxFailure::Failed(err)) => return Err(err),
        }
        if rest.is_empty() {
            Ok(())
        } else {
            self.add_members(tenant, &group.id, rest, None).await
        }
    }

    async fn get_group(&self, tenant: &TenantId, id: &ResourceId) -> StoreResult<Option<GroupRecord>> {
        self.load_group(&TenantKeys::new(tenant), id).await
    }

    async fn get_group_with_members(
        &self,
        tenant: &TenantId,
        id: &ResourceId,
        member_limit: usize,
    ) -> StoreResult<Option<(GroupRecord, Page<ResourceId>)>> {
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
        tenant: &TenantId,
        group_id: &ResourceId,
        user_id: &ResourceId,
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

    async fn get_groups(&self, tenant: &TenantId, ids: &[ResourceId]) -> StoreResult<Vec<GroupRecord>> {
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

    async fn replace_group(&self, tenant: &TenantId, previous: &GroupRecord, next: &GroupRecord) -> StoreResult<()> {
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

    async fn delete_group(&self, tenant: &TenantId, id: &ResourceId, expected_version: Option<u64>) -> StoreResult<()> {
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

    async fn groups_by_display_name(&self, tenant: &TenantId, display_name: &str) -> StoreResult<Vec<GroupRecord>> {
        let keys = TenantKeys::new(tenant);
        self.gsi_decoded(GSI3, keys.group_display_name(display_name), decode_group)
            .await
    }

    async fn groups_by_external_id(&self, tenant: &TenantId, external_id: &str) -> StoreResult<Vec<GroupRecord>> {
        let keys = TenantKeys::new(tenant);
        self.gsi_decoded(GSI2, keys.group_external_id(external_id), decode_group)
            .await
    }

    async fn scan_groups(
        &self,
        tenant: &TenantId,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<GroupRecord>> {
        let keys = TenantKeys::new(tenant);
        self.gsi1_page_decoded(keys.groups_partition(), cursor, limit, decode_group)
            .await
    }

    async fn list_members(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<ResourceId>> {
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
        tenant: &TenantId,
        group_id: &ResourceId,
        user_ids: &[ResourceId],
        expected_version: Option<u64>,
    ) -> StoreResult<()> {
        let keys = TenantKeys::new(tenant);
        let user_ids = dedup(user_ids);
        let chunks: Vec<&[ResourceId]> = if user_ids.is_empty() {
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
                    return Err(DirectoryError::MissingMember(chunk[(index - 1) / 2].to_string()));
                }
                Err(TxFailure::Failed(err)) => return Err(err),
            }
        }
        Ok(())
    }

    async fn remove_members(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        user_ids: &[ResourceId],
        expected_version: Option<u64>,
    ) -> StoreResult<()> {
        let keys = TenantKeys::new(tenant);
        let user_ids = dedup(user_ids);
        let chunks: Vec<&[ResourceId]> = if user_ids.is_empty() {
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

    async fn remove_all_members(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        expected_version: Option<u64>,
    ) -> StoreResult<()> {
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
