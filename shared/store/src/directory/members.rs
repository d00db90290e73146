//! Membership writes: a membership is two items (the membership in the group's collection, its group-of-user
//! reverse in the user's partition), always put and deleted together in one transaction with the ConditionChecks
//! of both ends, so both views of a membership agree at every moment.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use wif_scim::store::{DirectoryError, ResourceId, StoreResult};

use super::codec::{key, member_of_item, membership_item};
use super::keys::{GROUP_SK, TenantKeys, USER_SK};
use super::*;

impl DynamoDirectory {
    /// The two unconditional Puts of one membership: re-adding an existing member rewrites the same items, which is
    /// the idempotency Entra relies on.
    pub(super) fn membership_puts(
        &self,
        keys: &TenantKeys,
        group_id: &ResourceId,
        user_id: &ResourceId,
    ) -> StoreResult<[TransactWriteItem; 2]> {
        let put = |item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .build()
                .map(|put| TransactWriteItem::builder().put(put).build())
                .map_err(build_error)
        };
        Ok([
            put(membership_item(keys, group_id, user_id))?,
            put(member_of_item(keys, group_id, user_id))?,
        ])
    }

    /// The two unconditional Deletes of one membership (absent items are no error).
    pub(super) fn membership_deletes(
        &self,
        keys: &TenantKeys,
        group_id: &ResourceId,
        user_id: &ResourceId,
    ) -> StoreResult<[TransactWriteItem; 2]> {
        Ok([
            self.delete(key(keys.group_pk(group_id), &TenantKeys::member_sk(user_id)), None, &[])?,
            self.delete(
                key(keys.user_pk(user_id), &TenantKeys::member_of_sk(group_id)),
                None,
                &[],
            )?,
        ])
    }

    /// Adds members, [`MEMBERS_PER_ADD_TRANSACTION`] per transaction, each checking the group (at
    /// `expected_version`) and the user exist and are not being deleted.
    pub(super) async fn write_members(
        &self,
        keys: &TenantKeys,
        group_id: &ResourceId,
        user_ids: &[ResourceId],
        expected_version: Option<u64>,
    ) -> StoreResult<()> {
        for chunk in transaction_chunks(user_ids, MEMBERS_PER_ADD_TRANSACTION) {
            let mut items = vec![self.check(key(keys.group_pk(group_id), GROUP_SK), expected_version)?];
            for user_id in &chunk {
                items.push(self.check(key(keys.user_pk(user_id), USER_SK), None)?);
                items.extend(self.membership_puts(keys, group_id, user_id)?);
            }
            match self.transact(items).await {
                Ok(()) => {}
                Err(TxFailure::Condition(0)) => return Err(self.group_conflict(keys, group_id).await),
                Err(TxFailure::Condition(index)) => {
                    return Err(DirectoryError::MissingMember(chunk[(index - 1) / 3].to_string()));
                }
                Err(TxFailure::Failed(err)) => return Err(err),
            }
        }
        Ok(())
    }

    /// Removes the listed members (absent ones are ignored), [`MEMBERS_PER_REMOVE_TRANSACTION`] per transaction,
    /// each checking the group (at `expected_version`).
    pub(super) async fn delete_members(
        &self,
        keys: &TenantKeys,
        group_id: &ResourceId,
        user_ids: &[ResourceId],
        expected_version: Option<u64>,
    ) -> StoreResult<()> {
        for chunk in transaction_chunks(user_ids, MEMBERS_PER_REMOVE_TRANSACTION) {
            let mut items = vec![self.check(key(keys.group_pk(group_id), GROUP_SK), expected_version)?];
            for user_id in &chunk {
                items.extend(self.membership_deletes(keys, group_id, user_id)?);
            }
            match self.transact(items).await {
                Ok(()) => {}
                Err(TxFailure::Condition(_)) => return Err(self.group_conflict(keys, group_id).await),
                Err(TxFailure::Failed(err)) => return Err(err),
            }
        }
        Ok(())
    }
}

/// The distinct ids in transaction-sized chunks. No ids is one empty chunk: its transaction still checks the group,
/// so an empty write answers for a missing group or a stale version like any other.
fn transaction_chunks(ids: &[ResourceId], size: usize) -> Vec<Vec<ResourceId>> {
    let ids = dedup(ids);
    if ids.is_empty() {
        return vec![Vec::new()];
    }
    ids.chunks(size).map(<[ResourceId]>::to_vec).collect()
}
