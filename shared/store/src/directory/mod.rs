//! The Directory table behind [`wif_scim::store::DirectoryStore`]. Key layout in [`keys`].
//!
//! Costs (DynamoDB requests) per operation, independent of tenant and group size (`scim_directory` bench):
//! - create user: 1 TransactWriteItems (user + userName marker, both `attribute_not_exists`);
//! - replace user: 1 PutItem conditional on the version read (1 TransactWriteItems when the userName changes:
//!   user + old marker delete + new marker put);
//! - get user: 1 GetItem; user with its groups: 1 strongly consistent Query of the user's partition;
//!   userName lookup: 1 strongly consistent GetItem of the marker + that GetItem or Query (2 in all);
//!   externalId / work e-mail / displayName lookups: 1 GSI Query;
//! - groups of the users of a list page: 1 gsi1 range Query per 1 MB of their memberships (≈ 5,000), whatever the
//!   page size (one strongly consistent Query of the user's partition for a single user);
//! - add or remove one member: 1 TransactWriteItems (group ConditionCheck, user ConditionCheck, membership and
//!   group-of-user items); 33 members per add transaction, 49 per remove transaction;
//! - membership check: 1 BatchGetItem; group with up to N members: ⌈N / members per 1 MB⌉ Queries of the group's
//!   item collection (≈ 8,000 members per page), the first one carrying the group item;
//! - scans: 1 Query per page of at most `limit` items.
//!
//! Deletes converge whatever fails and whenever ([`deletes`]): the first step flags the user or group `deleting`
//! (every membership write ConditionChecks that flag, so no membership can appear any more), then the memberships
//! found by a strongly consistent Query are removed pair by pair (membership + group-of-user in one transaction),
//! and the last transaction deletes the resource (and the userName marker) with the last memberships. A failure
//! anywhere answers 503 and leaves a state every read shows consistently (the resource still exists, with the
//! memberships not yet removed); the retried DELETE resumes from the flag and answers 204. A user or group with
//! more than [`deletes::MEMBERSHIPS_PER_DELETE`] memberships is deleted over several DELETEs (503 + Retry-After
//! until done).
//!
//! Transaction cancellations are mapped per item to typed errors: the marker's condition → `UserNameTaken`, a
//! member's ConditionCheck → `MissingMember(id)`, the resource's version condition → `VersionConflict` or
//! `NotFound` (told apart by one extra read on that failure path only; a resource being deleted is `NotFound` to
//! membership writes). `TransactionConflict` (another transaction on the same item at the same moment) is retried
//! with jittered backoff.

pub mod codec;
pub mod deletes;
pub mod keys;
mod members;
pub mod migration;
mod reads;
pub mod stream;
mod writes;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::Put;

use wif_scim::store::{
    DirectoryError, DirectoryStore, GroupRecord, Page, ResourceId, StoreResult, TenantId, UserRecord,
};

use crate::dynamo::backend;
use crate::paging::{encode_cursor, try_decode_cursor};
use codec::{Item, decode_group, decode_member_of, decode_user, get_s, group_item, key, marker_item, n, s, user_item};
use keys::{GROUP_SK, GSI2, GSI3, MARKER_SK, MEMBER_OF_SK_PREFIX, MEMBER_SK_PREFIX, TenantKeys, USER_SK};

/// TransactWriteItems takes at most 100 items; a member add costs three (user ConditionCheck, membership and
/// group-of-user Puts) plus the group's check, a removal two (both Deletes) plus the group's check.
const MEMBERS_PER_ADD_TRANSACTION: usize = 33;
const MEMBERS_PER_REMOVE_TRANSACTION: usize = 49;
const TRANSACTION_MAX: usize = 100;
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
    memberships_per_delete: usize,
}

impl DynamoDirectory {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            memberships_per_delete: deletes::MEMBERSHIPS_PER_DELETE,
        }
    }

    /// The most memberships one delete removes before answering 503 (tests make it small).
    pub fn with_memberships_per_delete(mut self, memberships: usize) -> Self {
        self.memberships_per_delete = memberships.max(1);
        self
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
        self.delete_user_converging(&TenantKeys::new(tenant), id, expected_version)
            .await
    }

    async fn user_by_user_name(&self, tenant: &TenantId, user_name: &str) -> StoreResult<Option<UserRecord>> {
        let keys = TenantKeys::new(tenant);
        let Some(user_id) = self.marker_owner(&keys, user_name).await? else {
            return Ok(None);
        };
        let user = self.load_user(&keys, &user_id).await?;
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
        let items = self
            .query_all(
                None,
                "pk = :p AND begins_with(sk, :g)",
                &[(":p", s(keys.user_pk(user_id))), (":g", s(MEMBER_OF_SK_PREFIX))],
                true,
            )
            .await?;
        items.iter().map(decode_member_of).collect()
    }

    async fn user_with_groups(
        &self,
        tenant: &TenantId,
        id: &ResourceId,
    ) -> StoreResult<Option<(UserRecord, Vec<ResourceId>)>> {
        self.load_user_with_groups(&TenantKeys::new(tenant), id).await
    }

    async fn user_by_user_name_with_groups(
        &self,
        tenant: &TenantId,
        user_name: &str,
    ) -> StoreResult<Option<(UserRecord, Vec<ResourceId>)>> {
        let keys = TenantKeys::new(tenant);
        let Some(user_id) = self.marker_owner(&keys, user_name).await? else {
            return Ok(None);
        };
        let found = self.load_user_with_groups(&keys, &user_id).await?;
        // A rename between the two reads: the marker no longer names this user.
        Ok(found.filter(|(u, _)| keys.marker_pk(&u.user_name) == keys.marker_pk(user_name)))
    }

    async fn groups_of_users(
        &self,
        tenant: &TenantId,
        user_ids: &[ResourceId],
    ) -> StoreResult<BTreeMap<ResourceId, Vec<ResourceId>>> {
        let keys = TenantKeys::new(tenant);
        match user_ids {
            [] => Ok(BTreeMap::new()),
            [one] => Ok(BTreeMap::from([(one.clone(), self.groups_of_user(tenant, one).await?)])),
            many => self.page_memberships(&keys, many).await,
        }
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
            items.extend(self.membership_puts(&keys, &group.id, member)?);
        }
        match self.transact(items).await {
            Ok(()) => {}
            Err(TxFailure::Condition(0)) => return Err(DirectoryError::VersionConflict),
            Err(TxFailure::Condition(index)) => {
                return Err(DirectoryError::MissingMember(first[(index - 1) / 3].to_string()));
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
        self.delete_group_converging(&TenantKeys::new(tenant), id, expected_version)
            .await
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
        self.write_members(&TenantKeys::new(tenant), group_id, user_ids, expected_version)
            .await
    }

    async fn remove_members(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        user_ids: &[ResourceId],
        expected_version: Option<u64>,
    ) -> StoreResult<()> {
        self.delete_members(&TenantKeys::new(tenant), group_id, user_ids, expected_version)
            .await
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
        let members = self.member_ids(&keys, group_id, None).await?;
        self.delete_members(&keys, group_id, &members, expected_version).await
    }
}
