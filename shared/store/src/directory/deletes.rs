//! Deletes that converge whatever fails and whenever. A user or group is deleted in up to three steps:
//!
//! 1. **begin**: one UpdateItem sets `deleting` on the item (conditional on its existence and, with If-Match, on
//!    its version; the version itself does not change, so a retried DELETE with the same If-Match still matches).
//!    Every membership write ConditionChecks that flag ([`super::writes`]), so from now on no membership of it
//!    can appear;
//! 2. **clean**: its memberships, read by one strongly consistent Query (so every membership committed before the
//!    flag is seen), are removed pair by pair (membership + group-of-user item in one transaction, 50 pairs per
//!    transaction), at most [`MEMBERSHIPS_PER_DELETE`] per invocation;
//! 3. **finish**: one transaction deletes the item (conditional on the flag and the version read in step 1), the
//!    userName marker of a user, and the last ≤ 49 memberships.
//!
//! If any call fails, the DELETE answers 503 and every read still shows a consistent directory: the resource
//! exists, with the memberships not yet removed (both views of each membership agree). The retried DELETE finds
//! the flag, repeats the (idempotent) steps and answers 204. A PUT or PATCH in between rewrites the item without
//! the flag and with a new version: the finish condition then fails and the delete starts over (or, with If-Match,
//! answers 412). Users of up to 49 groups and groups of up to 49 members are deleted atomically in the finish
//! transaction: 3 calls.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem};
use futures::{StreamExt, TryStreamExt};
use wif_scim::store::{DirectoryError, ResourceId, StoreResult};

use super::codec::{Item, decode_group, decode_user, key, n, s};
use super::keys::{DELETING, GROUP_SK, MARKER_SK, TenantKeys, USER_SK};
use super::*;

/// The most memberships one DELETE removes; a larger user or group answers 503 (with Retry-After) after removing
/// this many, and the retried DELETE continues. 2,000 memberships are 40 transactions of 100 deletes, run
/// [`CLEANUP_CONCURRENCY`] at a time: well within the function's timeout even under throttling.
pub const MEMBERSHIPS_PER_DELETE: usize = 2_000;
const PAIRS_PER_TRANSACTION: usize = TRANSACTION_MAX / 2;
const CLEANUP_CONCURRENCY: usize = 4;

/// How the finish transaction ended.
enum Finish {
    Done,
    /// The item changed since step 1 (a PUT or PATCH dropped the flag): start over.
    Changed,
}

impl DynamoDirectory {
    pub(super) async fn delete_user_converging(
        &self,
        keys: &TenantKeys,
        id: &ResourceId,
        expected_version: Option<u64>,
    ) -> StoreResult<()> {
        let user_key = key(keys.user_pk(id), USER_SK);
        for attempt in 0..=CONFLICT_RETRIES {
            let user = decode_user(&self.begin_delete(user_key.clone(), expected_version).await?)?;
            let groups = self
                .query_page(
                    None,
                    "pk = :p AND begins_with(sk, :g)",
                    &[(":p", s(keys.user_pk(id))), (":g", s(MEMBER_OF_SK_PREFIX))],
                    None,
                    Some(self.memberships_per_delete + 1),
                    true,
                )
                .await?
                .0;
            let pairs = groups
                .iter()
                .map(|item| codec::decode_member_of(item).map(|group| (group, id.clone())))
                .collect::<StoreResult<Vec<_>>>()?;
            let finish = vec![
                self.delete(
                    user_key.clone(),
                    Some("#v = :v AND attribute_exists(#d)"),
                    &[(":v", n(user.version))],
                )?,
                self.delete(
                    key(keys.marker_pk(&user.user_name), MARKER_SK),
                    Some("attribute_not_exists(pk) OR user_id = :id"),
                    &[(":id", s(id))],
                )?,
            ];
            match self.clean_and_finish(keys, pairs, finish).await? {
                Finish::Done => return Ok(()),
                Finish::Changed if expected_version.is_none() => backoff(attempt).await,
                Finish::Changed => return Err(DirectoryError::VersionConflict),
            }
        }
        Err(DirectoryError::VersionConflict)
    }

    pub(super) async fn delete_group_converging(
        &self,
        keys: &TenantKeys,
        id: &ResourceId,
        expected_version: Option<u64>,
    ) -> StoreResult<()> {
        let group_key = key(keys.group_pk(id), GROUP_SK);
        for attempt in 0..=CONFLICT_RETRIES {
            let group = decode_group(&self.begin_delete(group_key.clone(), expected_version).await?)?;
            let members = self.member_ids(keys, id, Some(self.memberships_per_delete + 1)).await?;
            let pairs = members.into_iter().map(|user| (id.clone(), user)).collect();
            let finish = vec![self.delete(
                group_key.clone(),
                Some("#v = :v AND attribute_exists(#d)"),
                &[(":v", n(group.version))],
            )?];
            match self.clean_and_finish(keys, pairs, finish).await? {
                Finish::Done => return Ok(()),
                Finish::Changed if expected_version.is_none() => backoff(attempt).await,
                Finish::Changed => return Err(DirectoryError::VersionConflict),
            }
        }
        Err(DirectoryError::VersionConflict)
    }

    /// Step 1: flags the item (idempotently) and returns it as stored.
    async fn begin_delete(&self, item_key: Item, expected_version: Option<u64>) -> StoreResult<Item> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key.clone()))
            .update_expression("SET #d = :t")
            .expression_attribute_names("#d", DELETING)
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .return_values(ReturnValue::AllNew);
        update = match expected_version {
            Some(version) => update
                .condition_expression("attribute_exists(pk) AND #v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", n(version)),
            None => update.condition_expression("attribute_exists(pk)"),
        };
        match update.send().await {
            Ok(output) => output
                .attributes
                .ok_or_else(|| DirectoryError::Unavailable("UpdateItem returned no attributes".into())),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(match self.get_item(item_key).await? {
                    Some(_) => DirectoryError::VersionConflict,
                    None => DirectoryError::NotFound,
                })
            }
            Err(err) => Err(unavailable(err)),
        }
    }

    /// Steps 2 and 3: removes the (group, user) membership pairs and runs the finish transaction with the last of
    /// them. More than `memberships_per_delete` pairs ([`MEMBERSHIPS_PER_DELETE`] unless configured): removes that many and answers `Unavailable` (503 with
    /// Retry-After), leaving the flag for the retried DELETE.
    async fn clean_and_finish(
        &self,
        keys: &TenantKeys,
        mut pairs: Vec<(ResourceId, ResourceId)>,
        mut finish: Vec<TransactWriteItem>,
    ) -> StoreResult<Finish> {
        if pairs.len() > self.memberships_per_delete {
            pairs.truncate(self.memberships_per_delete);
            self.remove_pairs(keys, &pairs).await?;
            tracing::info!(removed = pairs.len(), "large delete continues on the retried DELETE");
            return Err(DirectoryError::Unavailable(format!(
                "delete in progress: {} memberships removed, more remain; the retried DELETE continues",
                pairs.len()
            )));
        }
        let with_finish = ((TRANSACTION_MAX - finish.len()) / 2).min(pairs.len());
        let last = pairs.split_off(pairs.len() - with_finish);
        self.remove_pairs(keys, &pairs).await?;
        for (group, user) in &last {
            finish.extend(self.membership_deletes(keys, group, user)?);
        }
        match self.transact(finish).await {
            Ok(()) => Ok(Finish::Done),
            // The item's own condition (or a user's marker, renamed meanwhile).
            Err(TxFailure::Condition(_)) => Ok(Finish::Changed),
            Err(TxFailure::Failed(err)) => Err(err),
        }
    }

    /// Removes membership pairs, [`PAIRS_PER_TRANSACTION`] per transaction, a few transactions at a time.
    async fn remove_pairs(&self, keys: &TenantKeys, pairs: &[(ResourceId, ResourceId)]) -> StoreResult<()> {
        let transactions = pairs
            .chunks(PAIRS_PER_TRANSACTION)
            .map(|chunk| {
                let mut items = Vec::with_capacity(chunk.len() * 2);
                for (group, user) in chunk {
                    items.extend(self.membership_deletes(keys, group, user)?);
                }
                Ok::<_, DirectoryError>(items)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        futures::stream::iter(transactions)
            .map(|items| async move {
                self.transact(items).await.map_err(|failure| match failure {
                    TxFailure::Failed(err) => err,
                    TxFailure::Condition(_) => DirectoryError::Unavailable("unconditional delete failed".into()),
                })
            })
            .buffer_unordered(CLEANUP_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }
}
