//! The one-off migration of membership items written before group-of-user items existed (see [`super::keys`]):
//! such a membership carries gsi1 `T#t#UG#<uid>` / gid and has no reverse item, so the user's `groups` and the
//! user's delete do not see it. For each one, one transaction (25 memberships per transaction) drops its gsi1 key
//! (on the condition that it still exists), checks that its user and group exist and are not being deleted, and puts
//! its group-of-user item. A membership whose user or group no longer exists (left behind by a delete that failed
//! half-way before deletes converged) is deleted: that removal is a real `MemberRemoved` change.
//!
//! Idempotent and resumable: migrated items have no gsi1 key any more, so a rerun skips them, and each call scans
//! at most `max_items` items of the table and returns the cursor to continue from. Safe while the SCIM API serves
//! traffic: every step is conditional, and today's membership writes and deletes always handle both items.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use wif_scim::store::{DirectoryError, ResourceId, StoreResult};

use super::codec::{Item, get_s, is_deleting, key, key_of, member_of_item};
use super::keys::{GROUP_SK, TenantKeys, USER_SK};
use super::stream::tenant_of;
use super::*;

/// Four items per membership: the membership's update, the two checks and the group-of-user Put.
const MEMBERSHIPS_PER_TRANSACTION: usize = TRANSACTION_MAX / 4;

/// What one call of the migration did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipMigration {
    /// Table items read by this call.
    pub examined: usize,
    /// Memberships that got their group-of-user item.
    pub migrated: usize,
    /// Memberships of a user or group that no longer exists, deleted.
    pub orphans_removed: usize,
    /// Memberships of a user or group being deleted, left for a later run.
    pub skipped: usize,
    /// Where the next call continues; `None` when the whole table was scanned.
    pub next_cursor: Option<String>,
}

/// One legacy membership found by the scan.
struct Legacy {
    keys: TenantKeys,
    item_key: Item,
    group: ResourceId,
    user: ResourceId,
}

/// What the pre-check of a membership's ends found.
enum Ends {
    Present,
    Orphan,
    Deleting,
}

impl DynamoDirectory {
    /// Migrates the legacy memberships among the next (about) `max_items` table items after `cursor`.
    pub async fn migrate_memberships(
        &self,
        cursor: Option<&str>,
        max_items: usize,
    ) -> StoreResult<MembershipMigration> {
        let start = match cursor {
            None => None,
            Some(cursor) => Some(try_decode_cursor(cursor).map_err(|_| DirectoryError::InvalidCursor)?),
        };
        let output = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .limit(i32::try_from(max_items.max(1)).unwrap_or(i32::MAX))
            .filter_expression("#t = :m AND attribute_exists(gsi1pk)")
            .expression_attribute_names("#t", "type")
            .expression_attribute_values(":m", AttributeValue::S("Membership".into()))
            .send()
            .await
            .map_err(unavailable)?;
        let mut report = MembershipMigration {
            examined: usize::try_from(output.scanned_count()).unwrap_or(0),
            ..MembershipMigration::default()
        };
        let legacy = output.items().iter().map(legacy).collect::<StoreResult<Vec<_>>>()?;
        for chunk in disjoint_chunks(&legacy) {
            self.migrate_chunk(&chunk, &mut report).await?;
        }
        report.next_cursor = output
            .last_evaluated_key
            .filter(|k| !k.is_empty())
            .map(|k| encode_cursor(&k))
            .transpose()
            .map_err(|e| DirectoryError::Unavailable(e.to_string()))?;
        Ok(report)
    }

    /// One transaction for the chunk; a membership whose condition fails is looked at alone, the rest retried.
    async fn migrate_chunk(&self, chunk: &[&Legacy], report: &mut MembershipMigration) -> StoreResult<()> {
        let mut pending: Vec<&Legacy> = chunk.to_vec();
        while !pending.is_empty() {
            let mut items = Vec::with_capacity(pending.len() * 4);
            for membership in &pending {
                items.extend(self.migration_items(membership)?);
            }
            match self.transact(items).await {
                Ok(()) => {
                    report.migrated += pending.len();
                    return Ok(());
                }
                Err(TxFailure::Condition(index)) => {
                    let failed = pending.remove(index / 4);
                    match self.ends_of(failed).await? {
                        // Deleted meanwhile (its condition failed), or its user or group gone: delete it.
                        Ends::Orphan => {
                            self.delete_orphan(failed).await?;
                            report.orphans_removed += 1;
                        }
                        Ends::Deleting => report.skipped += 1,
                        // Removed or migrated by someone else meanwhile.
                        Ends::Present => {}
                    }
                }
                Err(TxFailure::Failed(err)) => return Err(err),
            }
        }
        Ok(())
    }

    fn migration_items(&self, membership: &Legacy) -> StoreResult<[TransactWriteItem; 4]> {
        let Legacy { keys, group, user, .. } = membership;
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(membership.item_key.clone()))
            .update_expression("REMOVE gsi1pk, gsi1sk")
            .condition_expression("attribute_exists(gsi1pk)")
            .build()
            .map_err(build_error)?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(member_of_item(keys, group, user)))
            .build()
            .map_err(build_error)?;
        Ok([
            TransactWriteItem::builder().update(update).build(),
            self.check(key(keys.user_pk(user), USER_SK), None)?,
            self.check(key(keys.group_pk(group), GROUP_SK), None)?,
            TransactWriteItem::builder().put(put).build(),
        ])
    }

    /// Why a membership's transaction failed: its user or group gone or being deleted, or the membership itself
    /// removed or migrated meanwhile.
    async fn ends_of(&self, membership: &Legacy) -> StoreResult<Ends> {
        let Legacy { keys, group, user, .. } = membership;
        let still_legacy = self
            .get_item(membership.item_key.clone())
            .await?
            .is_some_and(|item| item.contains_key("gsi1pk"));
        if !still_legacy {
            return Ok(Ends::Present);
        }
        let (user_item, group_item) = tokio::try_join!(
            self.get_item(key(keys.user_pk(user), USER_SK)),
            self.get_item(key(keys.group_pk(group), GROUP_SK)),
        )?;
        Ok(match (user_item, group_item) {
            (Some(u), Some(g)) if is_deleting(&u) || is_deleting(&g) => Ends::Deleting,
            (Some(_), Some(_)) => Ends::Present,
            _ => Ends::Orphan,
        })
    }

    async fn delete_orphan(&self, membership: &Legacy) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(membership.item_key.clone()))
            .condition_expression("attribute_exists(gsi1pk)")
            .send()
            .await
            .map(|_| ())
            .or_else(|err| match err.as_service_error() {
                Some(e) if e.is_conditional_check_failed_exception() => Ok(()),
                _ => Err(unavailable(err)),
            })
    }
}

/// Transactions of at most [`MEMBERSHIPS_PER_TRANSACTION`] memberships in which no user and no group appears
/// twice (a transaction may touch an item only once, and each membership checks its user and its group).
fn disjoint_chunks(legacy: &[Legacy]) -> Vec<Vec<&Legacy>> {
    let mut chunks: Vec<(BTreeSet<String>, Vec<&Legacy>)> = Vec::new();
    for membership in legacy {
        let ends = [
            membership.keys.user_pk(&membership.user),
            membership.keys.group_pk(&membership.group),
        ];
        let free = chunks.iter_mut().find(|(seen, items)| {
            items.len() < MEMBERSHIPS_PER_TRANSACTION && !ends.iter().any(|end| seen.contains(end))
        });
        match free {
            Some((seen, items)) => {
                seen.extend(ends);
                items.push(membership);
            }
            None => chunks.push((ends.into_iter().collect(), vec![membership])),
        }
    }
    chunks.into_iter().map(|(_, items)| items).collect()
}

fn legacy(item: &Item) -> StoreResult<Legacy> {
    let pk = get_s(item, "pk").ok_or_else(|| codec::malformed("pk"))?;
    let tenant = tenant_of(pk).map_err(|e| DirectoryError::Unavailable(e.to_string()))?;
    Ok(Legacy {
        keys: TenantKeys::new(&tenant.into()),
        item_key: key_of(item, &["pk", "sk"]),
        group: ResourceId::new(get_s(item, "group_id").ok_or_else(|| codec::malformed("group_id"))?),
        user: ResourceId::new(get_s(item, "user_id").ok_or_else(|| codec::malformed("user_id"))?),
    })
}
