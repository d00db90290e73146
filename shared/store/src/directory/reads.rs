//! The Directory table's reads: single items, item collections, GSI lookups, paged queries and batches.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::AttributeValue;
use wif_scim::store::{DirectoryError, GroupRecord, Page, ResourceId, StoreResult, UserRecord};

use super::codec::{
    Item, decode_group, decode_member, decode_member_of, decode_user, get_s, is_deleting, key, key_of, s,
};
use super::keys::{GROUP_SK, GSI1, MARKER_SK, MEMBER_OF_SK_PREFIX, MEMBER_SK_PREFIX, TenantKeys, USER_SK};
use super::*;

impl DynamoDirectory {
    pub(super) async fn get_item(&self, key: Item) -> StoreResult<Option<Item>> {
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

    pub(super) async fn load_user(&self, keys: &TenantKeys, id: &ResourceId) -> StoreResult<Option<UserRecord>> {
        self.get_item(key(keys.user_pk(id), USER_SK))
            .await?
            .map(|item| decode_user(&item))
            .transpose()
    }

    pub(super) async fn load_group(&self, keys: &TenantKeys, id: &ResourceId) -> StoreResult<Option<GroupRecord>> {
        self.get_item(key(keys.group_pk(id), GROUP_SK))
            .await?
            .map(|item| decode_group(&item))
            .transpose()
    }

    /// After a failed condition on a user or group item: was it gone (or being deleted), or changed?
    async fn conflict(&self, key: Item) -> DirectoryError {
        match self.get_item(key).await {
            Ok(Some(item)) if !is_deleting(&item) => DirectoryError::VersionConflict,
            Ok(_) => DirectoryError::NotFound,
            Err(err) => err,
        }
    }

    pub(super) async fn group_conflict(&self, keys: &TenantKeys, id: &ResourceId) -> DirectoryError {
        self.conflict(key(keys.group_pk(id), GROUP_SK)).await
    }

    pub(super) async fn user_conflict(&self, keys: &TenantKeys, id: &ResourceId) -> DirectoryError {
        self.conflict(key(keys.user_pk(id), USER_SK)).await
    }

    /// One page of a query: up to `limit` items (one DynamoDB page without a limit) and the key to continue from.
    /// DynamoDB ends a page at 1 MB whatever the Limit, so a short page that has a LastEvaluatedKey is followed
    /// until `limit` items are read: callers take "fewer than asked" to mean "no more items". `start` must already
    /// be validated against the query's key condition.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn query_page(
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
    pub(super) async fn query_all(
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

    pub(super) async fn gsi_equals(&self, index: &str, partition: String) -> StoreResult<Vec<Item>> {
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
    pub(super) async fn gsi_decoded<T>(
        &self,
        index: &str,
        partition: String,
        decode: fn(&Item) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        self.gsi_equals(index, partition).await?.iter().map(decode).collect()
    }

    /// [`Self::gsi1_page`], each item decoded.
    pub(super) async fn gsi1_page_decoded<T>(
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
    pub(super) async fn gsi1_page(
        &self,
        partition: String,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<Item>> {
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
    pub(super) fn validated_cursor(
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

    pub(super) async fn batch_get(&self, keys: Vec<Item>) -> StoreResult<Vec<Item>> {
        crate::dynamo::batch_get_consistent(&self.client, &self.table, keys, CONFLICT_RETRIES)
            .await
            .map_err(|err| DirectoryError::Unavailable(err.to_string()))
    }

    /// The user id a userName marker names (strongly consistent).
    pub(super) async fn marker_owner(&self, keys: &TenantKeys, user_name: &str) -> StoreResult<Option<ResourceId>> {
        let marker = self.get_item(key(keys.marker_pk(user_name), MARKER_SK)).await?;
        Ok(marker.and_then(|m| get_s(&m, "user_id").map(ResourceId::new)))
    }

    /// The user and its group ids: one strongly consistent Query of the user's partition (its group-of-user items
    /// sort before the user item; a user in thousands of groups takes one more call per 1 MB).
    pub(super) async fn load_user_with_groups(
        &self,
        keys: &TenantKeys,
        id: &ResourceId,
    ) -> StoreResult<Option<(UserRecord, Vec<ResourceId>)>> {
        let items = self
            .query_all(None, "pk = :p", &[(":p", s(keys.user_pk(id)))], true)
            .await?;
        let mut user = None;
        let mut groups = Vec::new();
        for item in &items {
            match get_s(item, "sk") {
                Some(USER_SK) => user = Some(decode_user(item)?),
                Some(sk) if sk.starts_with(MEMBER_OF_SK_PREFIX) => groups.push(decode_member_of(item)?),
                _ => {}
            }
        }
        Ok(user.map(|user| (user, groups)))
    }

    /// The groups of the users of a list page: one gsi1 range Query (1 MB per call) over the tenant's
    /// group-of-user items from the first to the last user id; users in that range but not asked for are skipped.
    pub(super) async fn page_memberships(
        &self,
        keys: &TenantKeys,
        user_ids: &[ResourceId],
    ) -> StoreResult<BTreeMap<ResourceId, Vec<ResourceId>>> {
        let wanted: BTreeSet<&ResourceId> = user_ids.iter().collect();
        let mut groups: BTreeMap<ResourceId, Vec<ResourceId>> = BTreeMap::new();
        let (Some(first), Some(last)) = (wanted.first(), wanted.last()) else {
            return Ok(groups);
        };
        let (low, high) = TenantKeys::member_of_gsi_range(first, last);
        let items = self
            .query_all(
                Some(GSI1),
                "gsi1pk = :p AND gsi1sk BETWEEN :low AND :high",
                &[
                    (":p", s(keys.memberships_partition())),
                    (":low", s(low)),
                    (":high", s(high)),
                ],
                false,
            )
            .await?;
        for item in &items {
            let user = get_s(item, "user_id").map(ResourceId::new);
            if let Some(user) = user.filter(|u| wanted.contains(u)) {
                groups.entry(user).or_default().push(decode_member_of(item)?);
            }
        }
        for ids in groups.values_mut() {
            ids.sort();
        }
        Ok(groups)
    }

    /// Member ids of a group (strongly consistent), all of them or the first `limit`.
    pub(super) async fn member_ids(
        &self,
        keys: &TenantKeys,
        group_id: &ResourceId,
        limit: Option<usize>,
    ) -> StoreResult<Vec<ResourceId>> {
        let values = [(":p", s(keys.group_pk(group_id))), (":m", s(MEMBER_SK_PREFIX))];
        let condition = "pk = :p AND begins_with(sk, :m)";
        let items = match limit {
            None => self.query_all(None, condition, &values, true).await?,
            Some(limit) => {
                self.query_page(None, condition, &values, None, Some(limit), true)
                    .await?
                    .0
            }
        };
        items.iter().map(decode_member).collect()
    }

    /// Member ids from a Query of the group's collection, cut at `limit` with a cursor on the last one kept.
    pub(super) fn member_page(&self, mut members: Vec<Item>, limit: usize) -> StoreResult<Page<ResourceId>> {
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
